import assert from "node:assert/strict";
import { getpwnam } from "./libc.ts";
import { lookupUser } from "./privileges.ts";
import { ConfigError } from "../errors.ts";
import { moduleRef, startScript } from "../../tests/support/child_script.ts";

const root = Deno.uid() === 0;

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

Deno.test({
  name: "privileges: drop as root moves every thread to the user and root cannot come back",
  async fn() {
    assert.ok(root, "this test must run as root (scripts/test.sh does)");
    const user = getpwnam("nobody");
    assert.ok(user, "the test needs the user nobody");
    // The drop is irreversible, so it runs in a child process; it reports its own view and
    // then waits so that this test can read every thread's credentials from outside.
    const child = await startScript(`
      import { dropPrivileges, threadCredentials } from ${
      moduleRef("./privileges.ts", import.meta.url)
    };
      import { trySetuid } from ${moduleRef("./libc.ts", import.meta.url)};
      const r = dropPrivileges("nobody");
      console.log(JSON.stringify({ dropped: r.dropped, threads: threadCredentials().length, regain: trySetuid(0) }));
      await new Promise((res) => setTimeout(res, 60_000));
    `);
    try {
      assert.ok(child.firstLine, "child printed nothing");
      const report = JSON.parse(child.firstLine);
      assert.equal(report.dropped, true);
      assert.equal(report.regain, false);
      assert.ok(report.threads > 1, "Deno should run several threads");
      const tids = [...Deno.readDirSync(`/proc/${child.pid}/task`)].map((e) => e.name);
      assert.ok(tids.length > 1);
      for (const tid of tids) {
        const status = Deno.readTextFileSync(`/proc/${child.pid}/task/${tid}/status`);
        const get = (k: string) =>
          status.match(new RegExp(`^${k}:\\s*(.*)$`, "m"))![1].trim().split(/\s+/);
        assert.deepEqual(
          get("Uid").map(Number),
          [user.uid, user.uid, user.uid, user.uid],
          `thread ${tid}`,
        );
        assert.deepEqual(
          get("Gid").map(Number),
          [user.gid, user.gid, user.gid, user.gid],
          `thread ${tid}`,
        );
        assert.deepEqual(get("Groups").filter(Boolean).map(Number), [user.gid], `thread ${tid}`);
      }
    } finally {
      await child.kill();
    }
  },
});
