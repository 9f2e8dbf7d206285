import assert from "node:assert/strict";
import { alignColumns } from "./table.ts";

Deno.test("table: columns padded to the widest cell in code points, last column unpadded", () => {
  assert.deepEqual(alignColumns(["A", "B", "C"], [["ü1", "long cell", ""], ["x", "y", "z"]]), [
    "A   B          C",
    "ü1  long cell",
    "x   y          z",
  ]);
});
