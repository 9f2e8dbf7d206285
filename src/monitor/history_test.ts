import assert from "node:assert/strict";
import { HISTORY_KEEP_MS, HISTORY_MAX_SAMPLES, HISTORY_STEP_MS, keepSample } from "./history.ts";
import { prepareStateDir, StateStore } from "./store.ts";
import { inTempDir } from "../util/temp_testing.ts";

const T0 = Date.UTC(2026, 10, 30);

Deno.test("history: a sample is stored only 15 min after the last one (or after a clock set back)", () => {
  assert.ok(keepSample(undefined, T0));
  assert.ok(!keepSample(T0, T0 + HISTORY_STEP_MS - 1));
  assert.ok(keepSample(T0, T0 + HISTORY_STEP_MS));
  assert.ok(keepSample(T0, T0 - 1));
});

Deno.test("history: samples survive a reopen, per server and byte-exact user; old rows and rows over the cap are pruned", async () => {
  await inTempDir(async (dir) => {
    await prepareStateDir(`${dir}/s`);
    let s = await StateStore.open(`${dir}/s`);
    s.addHistory(
      "db1",
      new Map([["amy", { at: T0, bytes: 10 }], ["Amy", { at: T0, bytes: 7 }]]),
      T0,
    );
    s.addHistory("db2", new Map([["amy", { at: T0, bytes: 99 }]]), T0);
    s.addHistory("db1", new Map([["amy", { at: T0 + HISTORY_STEP_MS, bytes: 20 }]]), T0);
    s.close();
    s = await StateStore.open(`${dir}/s`);
    assert.deepEqual(
      s.history("db1", ["amy", "Amy", "bob"], 0),
      new Map([
        ["amy", [{ at: T0, bytes: 10 }, { at: T0 + HISTORY_STEP_MS, bytes: 20 }]],
        ["Amy", [{ at: T0, bytes: 7 }]],
        ["bob", []],
      ]),
    );
    assert.deepEqual(s.history("db1", ["amy"], T0 + 1).get("amy"), [
      { at: T0 + HISTORY_STEP_MS, bytes: 20 },
    ]);
    // A week later: every row of db1 older than 7 days goes, those of users not written too.
    const later = T0 + HISTORY_KEEP_MS + HISTORY_STEP_MS;
    s.addHistory("db1", new Map([["amy", { at: later, bytes: 30 }]]), later);
    assert.deepEqual(
      s.history("db1", ["amy", "Amy"], 0),
      new Map([
        ["amy", [{ at: T0 + HISTORY_STEP_MS, bytes: 20 }, { at: later, bytes: 30 }]],
        ["Amy", []],
      ]),
    );
    assert.equal(s.history("db2", ["amy"], 0).get("amy")!.length, 1);
    // The cap keeps the newest samples of a user.
    for (let i = 1; i <= HISTORY_MAX_SAMPLES + 5; i++) {
      s.addHistory("db3", new Map([["cy", { at: T0 + i, bytes: i }]]), T0 + i);
    }
    const cy = s.history("db3", ["cy"], 0).get("cy")!;
    assert.equal(cy.length, HISTORY_MAX_SAMPLES);
    assert.equal(cy[0].bytes, 6);
    assert.equal(cy.at(-1)!.bytes, HISTORY_MAX_SAMPLES + 5);
    s.close();
  });
});
