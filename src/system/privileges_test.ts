import assert from "node:assert/strict";
import { getpwnam } from "./libc.ts";
import { lookupUser } from "./privileges.ts";
import { ConfigError } from "../errors.ts";

Deno.test("privileges: getpwnam finds root and reports unknown users", () => {
  const r = getpwnam("root");
  assert.ok(r);
  assert.equal(r.uid, 0);
  assert.equal(r.gid, 0);
  assert.equal(getpwnam("no-such-user-mmd"), undefined);
  assert.throws(
    () => lookupUser("no-such-user-mmd", { file: "/etc/mysql_search/search.conf", line: 9 }),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message ===
        '/etc/mysql_search/search.conf:9: run_as user "no-such-user-mmd" does not exist; create it or set run_as to an existing user',
  );
});
