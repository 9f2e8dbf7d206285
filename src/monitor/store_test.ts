import assert from "node:assert/strict";
import { parseStateFileName, prepareStateDir, StateStore } from "./store.ts";
import { orphanLocks, resolveIntents } from "./plan.ts";
import { inTempDir } from "../util/temp_testing.ts";

Deno.test("store: intents, confirmations and flags survive a reopen; the file is 0600", async () => {
  await inTempDir(async (dir) => {
    const state = `${dir}/a/b/state`;
    await prepareStateDir(state);
    assert.equal((await Deno.stat(state)).mode! & 0o777, 0o700);
    assert.equal((await Deno.stat(`${dir}/a`)).mode! & 0o777, 0o755);
    let s = await StateStore.open(state);
    const amy = { user: "amy", host: "%" };
    const bob = { user: "bob", host: "localhost" };
    s.intend("db1", amy, "lock");
    s.intend("db1", bob, "lock");
    s.confirm("db1", [bob], "lock");
    s.intend("db2", { user: "bob ", host: "%" }, "lock"); // another server, another name
    s.record("db1", 0, {
      flags: new Map([["amy", { warned: true, overHard: true }], ["cy", {
        warned: false,
        overHard: false,
      }]]),
      figures: [{ user: "amy", usage: 5, soft: undefined, hard: 9, locked: false }],
      lastSuccess: 1234,
      lruSize: 10,
    });
    s.close();
    assert.equal((await Deno.stat(`${state}/monitor.sqlite`)).mode! & 0o777, 0o600);
    s = await StateStore.open(state);
    assert.deepEqual(s.locks("db1").sort((a, b) => a.user.localeCompare(b.user)), [
      { user: "amy", host: "%", state: "locking" },
      { user: "bob", host: "localhost", state: "locked" },
    ]);
    assert.deepEqual(s.locks("db2"), [{ user: "bob ", host: "%", state: "locking" }]);
    assert.deepEqual([...s.flags("db1")], [["amy", { warned: true, overHard: true }]]);
    assert.deepEqual(s.figures("db1", ["cy", "amy"]), [
      { user: "amy", usage: 5, soft: undefined, hard: 9, locked: false },
    ]);
    assert.deepEqual(s.status("db1", 0), { errorsTotal: 0, lastSuccess: 1234 });
    assert.equal(s.countError("db1", 0), 1);
    // Unlock: intent, then confirmation removes the record; abandon puts it back.
    s.intend("db1", bob, "unlock");
    s.abandon("db1", bob, "unlock");
    assert.equal(s.locks("db1").find((r) => r.user === "bob")?.state, "locked");
    s.intend("db1", bob, "unlock");
    s.confirm("db1", [bob], "unlock");
    s.abandon("db1", amy, "lock");
    assert.deepEqual(s.locks("db1"), []);
    s.close();
  });
});

Deno.test("store: flags are bounded by lru_size, least recently seen first", async () => {
  await inTempDir(async (dir) => {
    const s = await StateStore.open(dir);
    const flag = { warned: true, overHard: false };
    for (const users of [["a", "b"], ["c"], ["d"]]) {
      s.record("db1", 0, {
        flags: new Map(users.map((u) => [u, flag])),
        figures: [],
        lastSuccess: 1,
        lruSize: 3,
      });
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(s.flags("db1").size, 3);
    assert.ok(s.flags("db1").has("d") && s.flags("db1").has("c"));
    s.close();
  });
});

Deno.test("store: old state file names", () => {
  const known = new Set(["db1", "x_shard2"]);
  assert.deepEqual(parseStateFileName("db1.json", known), { server: "db1", shard: 0 });
  assert.deepEqual(parseStateFileName("db1_shard3.json", known), { server: "db1", shard: 3 });
  assert.deepEqual(parseStateFileName("x_shard2.json", known), { server: "x_shard2", shard: 0 });
  assert.equal(parseStateFileName("notes.txt", known), undefined);
  assert.equal(parseStateFileName("a b.json", known), undefined);
});

Deno.test("plan: intents are resolved against the server; uncovered locks belong to one shard", () => {
  const accounts = new Map([
    ["amy", [{ host: "%", locked: true }, { host: "localhost", locked: false }]],
    ["bob", [{ host: "%", locked: false }]],
  ]);
  assert.deepEqual(
    resolveIntents([
      { user: "amy", host: "%", state: "locking" },
      { user: "amy", host: "localhost", state: "locking" },
      { user: "bob", host: "%", state: "unlocking" },
      { user: "gone", host: "%", state: "unlocking" },
      { user: "amy", host: "%", state: "locked" },
    ], accounts),
    [
      { user: "amy", host: "%", intent: "lock", now: "locked" },
      { user: "amy", host: "localhost", intent: "lock", now: "unlocked" },
      { user: "bob", host: "%", intent: "unlock", now: "unlocked" },
      { user: "gone", host: "%", intent: "unlock", now: "gone" },
    ],
  );
  const records = [
    { user: "amy", host: "%", state: "locked" as const },
    { user: "amy", host: "localhost", state: "locked" as const },
    { user: "bob", host: "%", state: "locked" as const },
  ];
  const limits = [{ user: "amy", host: "localhost", hard: 1, line: 1 }];
  const all = [0, 1].flatMap((shard) =>
    orphanLocks(records, { limits, accounts, shard, shards: 2 })
  );
  assert.deepEqual(all.sort((a, b) => a.user.localeCompare(b.user)), [
    { user: "amy", host: "%", kind: "unlock", limitHost: "localhost" },
    { user: "bob", host: "%", kind: "forget", limitHost: undefined },
  ]);
});
