/**
 * A CONNECT the server answered with an error (retcode ≠ 0, e.g. 1045 access denied) is a
 * failed login: it never reaches Accounts, neither when parsed on the main thread nor on
 * worker threads (which run the bundled copy of the parser).
 */
import assert from "node:assert/strict";
import { parseConntrackConfig } from "../../src/config/conntrack_ini.ts";
import { runConntrack } from "../../src/conntrack/run.ts";
import { sandbox, settle } from "../support/conntrack.ts";
import { unlessCpus } from "../support/requires.ts";

const LINES = [
  "20240301 10:00:00,db1,alice,10.0.0.1,5,0,CONNECT,,,1045",
  "20240301 10:00:00,db1,alice,10.0.0.1,5,0,DISCONNECT,,,0",
  "20240301 10:00:01,db1,bob,10.0.0.2,6,0,CONNECT,,,0",
  "20240301 10:00:02,db1,carol,10.0.0.3,7,0,CONNECT,shop,,1044",
  "20240301 10:00:03,db1,dave,10.0.0.4,8,0,CONNECT,,,1",
  "",
];

for (const threads of [false, true]) {
  const name = `conntrack: CONNECT with a non-zero retcode is not a login (${
    threads ? "worker threads" : "main thread"
  })`;
  Deno.test({ name, ignore: threads && unlessCpus(2, name) }, async () => {
    await using box = await sandbox();
    // Two files with new data, so that the threaded run has more than one job.
    await Deno.writeTextFile(
      `${box.auditDir}/server_audit.log.1`,
      LINES.slice(0, 3).join("\n") + "\n",
    );
    await Deno.writeTextFile(`${box.auditDir}/server_audit.log`, LINES.slice(3).join("\n"));
    await settle(box.auditDir);
    const config = parseConntrackConfig(await Deno.readTextFile(box.ini), box.ini);
    const summary = await runConntrack(
      { ...config, logLevel: "error" },
      { workerThresholdBytes: threads ? 0 : Number.MAX_SAFE_INTEGER },
    );
    if (threads) assert.ok(summary.workers > 0, "no worker thread ran");
    else assert.equal(summary.workers, 0);
    assert.deepEqual(box.accounts(), ["bob|10.0.0.2|2024-03-01 10:00:01+00:00"]);
  });
}
