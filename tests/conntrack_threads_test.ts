import assert from "node:assert/strict";
import { generateAudit, utcLastSeen } from "../scripts/bench/gen_audit.ts";
import { parseConntrackConfig } from "../src/config/conntrack_ini.ts";
import { runConntrack } from "../src/conntrack/run.ts";
import { sandbox, settle } from "./support/conntrack.ts";

Deno.test("conntrack: parsing on worker threads gives exactly the ground truth", async () => {
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
  assert.ok(threads >= 2, "this test needs at least 2 CPUs to run a worker");
  assert.equal(summary.filesRead, 4);
  const want = [...gen.truth].map(([k, w]) => `${k.replace("\u0000", "|")}|${utcLastSeen(w)}`)
    .sort();
  assert.deepEqual(box.accounts(), want);
});
