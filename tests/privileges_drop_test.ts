/** The privilege drop, in a child process (it is irreversible): every thread, no way back. */
import assert from "node:assert/strict";
import { getpwnam } from "../src/system/libc.ts";
import { moduleRef, startScript } from "./support/child_script.ts";
import { unlessRoot } from "./support/requires.ts";

const NAME = "privileges: drop as root moves every thread to the user and root cannot come back";

Deno.test({
  name: NAME,
  ignore: unlessRoot(NAME),
  async fn() {
    const user = getpwnam("nobody");
    assert.ok(user, "the test needs the user nobody");
    // The drop is irreversible, so it runs in a child process; it reports its own view and
    // then waits so that this test can read every thread's credentials from outside.
    const child = await startScript(`
      import { dropPrivileges, threadCredentials } from ${
      moduleRef("../src/system/privileges.ts", import.meta.url)
    };
      import { trySetuid } from ${moduleRef("../src/system/libc.ts", import.meta.url)};
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
