/**
 * The short fuzz run of the test suite: 300 seeded cases over every configuration input; those
 * with a special file, and every 20th case of each target, run through the real program. The
 * seed is fixed, so the run is the same every time; `deno task fuzz` explores with new seeds.
 */
import assert from "node:assert/strict";
import { CONFIG_TARGETS } from "./config_targets.ts";
import { describeFailure, runFuzz } from "./runner.ts";

/** Seed of the test suite's run. */
const SEED = 0x16f0220;

Deno.test("fuzz: 300 seeded cases over search.conf, search_user, passwd and conntracker.ini", async () => {
  const summary = await runFuzz({
    targets: CONFIG_TARGETS,
    cases: 300,
    seed: SEED,
    cliEvery: 20,
    jobs: 2,
  });
  console.log(
    `fuzz: ${summary.cases} cases (${summary.cliCases} through the program) in ${
      (summary.ms / 1000).toFixed(1)
    } s, exit codes ${JSON.stringify(summary.codes)}, largest child peak ${summary.peakMiB} MiB`,
  );
  assert.equal(summary.cases, 300);
  // Both outcomes must occur, or the generators have gone blind.
  assert.ok(
    (summary.codes[0] ?? 0) > 10 && (summary.codes[78] ?? 0) > 50,
    JSON.stringify(summary.codes),
  );
  assert.equal(summary.failures.length, 0, summary.failures.map(describeFailure).join("\n"));
});
