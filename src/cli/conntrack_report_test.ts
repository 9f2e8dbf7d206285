import assert from "node:assert/strict";
import { UsageError } from "../errors.ts";
import { parseServerSpec } from "./conntrack_report.ts";

const base = { socket: "/run/mysqld/mysqld.sock", port: 3306, user: "root" };

Deno.test("report --server: socket paths and [user@]host[:port]", () => {
  assert.deepEqual(parseServerSpec("/tmp/x.sock", base), {
    ...base,
    socket: "/tmp/x.sock",
    host: undefined,
  });
  assert.deepEqual(parseServerSpec("db1.example.org", base), {
    ...base,
    socket: undefined,
    host: "db1.example.org",
  });
  assert.deepEqual(parseServerSpec("rep@10.0.0.1:3307", base), {
    socket: undefined,
    host: "10.0.0.1",
    port: 3307,
    user: "rep",
  });
  assert.equal(parseServerSpec("[::1]:3310", base).host, "::1");
  for (const bad of ["", "a b", "h:0", "h:99999", "u@", "h:port", "@h"]) {
    assert.throws(() => parseServerSpec(bad, base), UsageError, bad);
  }
});
