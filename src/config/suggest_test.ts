import assert from "node:assert/strict";
import { closest, editDistance, MAX_SUGGEST_CHARS, typo } from "./suggest.ts";

Deno.test("suggest: closest key within a third of the length, none for long keys", () => {
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(closest("SqlitPath", ["SqlitePath", "AuditLogPath"]), "SqlitePath");
  assert.equal(closest("zzzz", ["db_host"]), undefined);
  const long = "db_host".padEnd(MAX_SUGGEST_CHARS + 1, "x");
  assert.equal(closest(long, ["db_host"]), undefined);
  assert.equal(closest("x".repeat(1 << 20), ["db_host"]), undefined);
  assert.deepEqual(typo("db_usr", ["db_user"]), { key: "db_usr", hint: "db_user" });
  assert.equal(typo("c2VjcmV0", ["db_user"]), undefined);
});
