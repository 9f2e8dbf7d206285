import assert from "node:assert/strict";
import { generateAudit, utcLastSeen } from "../../scripts/bench/gen_audit.ts";
import { parseConntrackConfig } from "../../src/config/conntrack_ini.ts";
import { runConntrack } from "../../src/conntrack/run.ts";
import { sandbox, settle } from "../support/conntrack.ts";
import { unlessCpus } from "../support/requires.ts";

const NAME = "conntrack: parsing on worker threads gives exactly the ground truth";

Deno.test({ name: NAME, ignore: unlessCpus(2, NAME) }, async () => {
  await using box = await sandbox();
  const gen = await generateAudit({
    dir: box.auditDir,
    files: 4,
    bytesPerFile: 1_000_000,
    accounts: 400,
    seed: 11,
  });
  await settle(box.auditDir);
  const config = parseConntrackConfig(await Deno.readTextFile(box.ini), box.ini);
  const summary = await runConntrack({ ...config, logLevel: "error" }, { workerThresholdBytes: 0 });
  const threads = Math.min(4, navigator.hardwareConcurrency);
  assert.equal(summary.workers, threads);
  assert.ok(threads >= 2, "parsing ran on fewer than 2 worker threads");
  assert.equal(summary.filesRead, 4);
  const want = [...gen.truth].map(([k, w]) => `${k.replace("\u0000", "|")}|${utcLastSeen(w)}`)
    .sort();
  assert.deepEqual(box.accounts(), want);
});
