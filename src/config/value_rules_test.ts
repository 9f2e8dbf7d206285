import assert from "node:assert/strict";
import {
  accountProblem,
  fileNameProblem,
  hostProblem,
  labelProblem,
  pathProblem,
  systemUserProblem,
} from "./value_rules.ts";

Deno.test("value rules: paths", () => {
  assert.equal(pathProblem("/var/lib/x", "dir"), undefined);
  assert.equal(pathProblem("rel/x", "file"), "must be an absolute path");
  assert.match(pathProblem("/a\u0000b", "file")!, /control or invisible characters \(U\+0000\)/);
  assert.match(pathProblem("/a\u202eb", "file")!, /U\+202E/);
  assert.match(pathProblem(`/${"a".repeat(256)}/x`, "file")!, /component longer than 255/);
  assert.match(pathProblem(`/${"a/".repeat(2100)}x`, "file")!, /at most 4095 bytes/);
  assert.match(pathProblem(`/tmp/${"s".repeat(110)}`, "socket")!, /at most 107 bytes/);
  assert.match(pathProblem("/run/", "file")!, /must name a file/);
  assert.equal(pathProblem("/run/", "dir"), undefined);
  assert.match(pathProblem(`/run/${"p".repeat(220)}`, "written file")!, /at most 200 bytes/);
  assert.equal(pathProblem(`/run/${"p".repeat(220)}`, "file"), undefined);
});

Deno.test("value rules: names, hosts, labels, users", () => {
  assert.equal(labelProblem("db1.example:3306"), undefined);
  assert.match(labelProblem("x".repeat(300))!, /1 to 64/);
  assert.match(labelProblem("a b")!, /1 to 64/);
  assert.equal(hostProblem("db1.example.org"), undefined);
  assert.equal(hostProblem("::1"), undefined);
  assert.equal(hostProblem("[fe80::1%eth0]"), undefined);
  assert.match(hostProblem("a b")!, /host name/);
  assert.match(hostProblem("x".repeat(256))!, /255/);
  assert.equal(accountProblem("o'brien@x"), undefined);
  assert.match(accountProblem("a\u0085")!, /U\+0085/);
  assert.match(accountProblem("é".repeat(129))!, /128 characters/);
  assert.match(accountProblem("")!, /empty/);
  assert.equal(fileNameProblem("server_audit.log"), undefined);
  assert.match(fileNameProblem("a/b")!, /without "\/"/);
  assert.match(fileNameProblem("..")!, /name a file/);
  assert.equal(systemUserProblem("mysql"), undefined);
  assert.equal(systemUserProblem("999"), undefined);
  assert.match(systemUserProblem("my user")!, /system user/);
});
