import assert from "node:assert/strict";
import { baseOf, dirOf } from "./path.ts";

Deno.test("path: dirOf and baseOf", () => {
  assert.equal(dirOf("/var/log/mysql/server_audit.log"), "/var/log/mysql");
  assert.equal(dirOf("/var/log/mysql/"), "/var/log");
  assert.equal(dirOf("/etc"), "/");
  assert.equal(dirOf("/"), ".");
  assert.equal(dirOf("name"), ".");
  assert.equal(baseOf("/var/log/mysql/server_audit.log"), "server_audit.log");
  assert.equal(baseOf("name"), "name");
});
