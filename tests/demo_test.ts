/** The README's first command, run as the operator runs it, and what it leaves behind. */
import assert from "node:assert/strict";
import { ROOT } from "./support/cli.ts";
import { processExists } from "./support/mariadb.ts";

Deno.test("demo: scripts/demo.sh shows every step and leaves no process or file behind", async () => {
  const out = await new Deno.Command(`${ROOT}/scripts/demo.sh`, {
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, text + new TextDecoder().decode(out.stderr));
  // Each step ran and showed its result.
  assert.match(text, /^== 3\. monitor --once -d 2/m);
  assert.match(text, /^\s+demo\s+carol\s+\S+\s+1MiB\s+2MiB\s+locked\s+.*lock %: ok$/m);
  assert.match(text, /^\s+demo\s+bob\s+\S+\s+1MiB\s+100MiB\s+over soft\s+warned$/m);
  assert.match(text, /SHOW CREATE USER carol\s+->\s+CREATE USER `carol`@`%` .*ACCOUNT LOCK$/m);
  assert.match(text, /action=lock result=ok$/m);
  assert.match(text, /^\s+mysql_user_account_locked\{server="demo",user="carol",shard="0"\} 1$/m);
  assert.match(text, /carol over TCP: refused \(Access denied, this account is locked\)/);
  assert.match(text, /alice over TCP: refused \(Access denied for user 'alice'/);
  assert.match(text, /^\s+alice\|localhost\|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00:00$/m);
  assert.match(text, /^\s+bob\|localhost\|/m);
  assert.doesNotMatch(text, /^\s+carol\|/m, "a refused login must not count as seen");
  // The report joins mysql.user with what conntrack recorded.
  assert.match(text, /^== 7\. conntrack report/m);
  assert.match(text, /^\s+carol\s+%\s+never seen, locked\s+-\s+-\s+1 \(last /m);
  assert.match(text, /^\s+alice\s+%\s+active\s+\d{4}-\S+ \S+\s+localhost\s+1 \(last /m);
  assert.match(
    text,
    /^\s+\d+ accounts: \d+ active, 0 unused for 30 days or more, \d+ never seen$/m,
  );
  // Clean-up: the server is gone and so are its files.
  const pid = Number(text.match(/stopped the sandbox server \(pid (\d+)\)/)![1]);
  assert.equal(await processExists(pid), false);
  const removed = text.match(/removed (\S+) and (\S+)$/m)!.slice(1);
  for (const dir of removed) await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
});
