import assert from "node:assert/strict";
import { largest, tableOfFile } from "./top_tables.ts";

Deno.test("top tables: a file counts for its table, partitions folded, names decoded", () => {
  const cases = [
    ["orders.ibd", "orders"],
    ["orders.frm", "orders"],
    ["logs#P#p2023.ibd", "logs"],
    ["logs#p#p0#sp#s0.ibd", "logs"],
    ["caf@00e9.MYD", "café"],
    ["noext", "noext"],
  ];
  for (const [file, table] of cases) assert.equal(tableOfFile(file), table, file);
});

Deno.test("top tables: largest first, ties by name, cut to the limit", () => {
  const t = (schema: string, table: string, bytes: number) => ({ schema, table, bytes });
  assert.deepEqual(
    largest([t("a", "x", 5), t("b", "y", 9), t("a", "b", 5), t("a", "a", 1)], 3),
    [t("b", "y", 9), t("a", "b", 5), t("a", "x", 5)],
  );
  assert.deepEqual(largest([t("a", "x", 5)], 0), []);
});
