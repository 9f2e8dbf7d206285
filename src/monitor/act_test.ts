/**
 * Unit tests of the act and record steps through the in-memory server (no MariaDB): crashes
 * between the steps of a lock, a state store that cannot be written, a partial failure, and how
 * the next run resolves what an interrupted one left. The real server's side of the same rules
 * is proven by tests/monitor_state_test.ts and tests/monitor_crash_test.ts.
 */
import assert from "node:assert/strict";
import type { UserLimit } from "../config/search_user.ts";
import { answerLost, MemoryServer, refused } from "./memory_server.ts";
import type { LockRecord, StateStore, StateWrites } from "./store.ts";
import { memoryCycle, withStore } from "./store_testing.ts";

const ID = "db1";
const HARD = 100_000;

/** Limits of `users`: soft 10 000, hard {@link HARD} bytes. */
function limits(...users: string[]): UserLimit[] {
  return users.map((user, i) => ({ user, soft: 10_000, hard: HARD, line: i + 1 }));
}

/** {@link memoryCycle} with the writes as a 5th argument. */
function cycle(
  target: MemoryServer,
  store: StateStore,
  users: UserLimit[],
  usage: Record<string, number>,
  writes: StateWrites = store,
) {
  return memoryCycle(target, store, users, usage, { writes });
}

/** The store's lock records as `user@host|state`, sorted. */
function locks(store: StateStore): string[] {
  return store.locks(ID).map((r: LockRecord) => `${r.user}@${r.host}|${r.state}`).sort();
}

/** The store's writes, with `fail` deciding per call whether it throws instead. */
function failing(
  store: StateStore,
  fail: (call: keyof StateWrites) => Error | undefined,
): StateWrites {
  const guard = <T>(call: keyof StateWrites, write: () => T): T => {
    const err = fail(call);
    if (err) throw err;
    return write();
  };
  return {
    begin: (s, shard) => guard("begin", () => store.begin(s, shard)),
    intend: (s, a, v) => guard("intend", () => store.intend(s, a, v)),
    confirm: (s, a, v) => guard("confirm", () => store.confirm(s, a, v)),
    abandon: (s, a, v) => guard("abandon", () => store.abandon(s, a, v)),
    forget: (s, a) => guard("forget", () => store.forget(s, a)),
    record: (s, shard, c) => guard("record", () => store.record(s, shard, c)),
    countError: (s, shard) => guard("countError", () => store.countError(s, shard)),
    intendBrake: (s, a, l, v, p) => guard("intendBrake", () => store.intendBrake(s, a, l, v, p)),
    confirmBrake: (s, a, l) => guard("confirmBrake", () => store.confirmBrake(s, a, l)),
    abandonBrake: (s, a, l) => guard("abandonBrake", () => store.abandonBrake(s, a, l)),
    forgetBrakes: (s, a) => guard("forgetBrakes", () => store.forgetBrakes(s, a)),
  };
}

Deno.test("act: the intent is on disk before ALTER USER reaches the server; the lock is confirmed after", async () => {
  await withStore(async (open) => {
    const store = await open();
    const server = new MemoryServer().addAccount("ann", "%");
    const session = server.openSession("ann", "localhost");
    const seen: string[][] = [];
    server.hooks.before = () => seen.push(locks(store));
    const { ctx, outcome, recorded } = await cycle(server, store, limits("ann"), { ann: 200_000 });
    assert.deepEqual(seen, [["ann@%|locking"]], "ALTER USER sent before its intent was committed");
    assert.deepEqual(server.changes, ["lock ann@%", `kill ${session}`]);
    assert.deepEqual(locks(store), ["ann@%|locked"]);
    assert.equal(ctx.stateError, undefined);
    assert.ok(recorded);
    assert.equal(outcome.users[0].status, "locked");
    assert.deepEqual(store.figures(ID, ["ann"]).map((f) => f.usage), [200_000]);
  });
});

Deno.test("act: a crash between the intent and ALTER USER — the next run drops the intent, then locks anew", async () => {
  await withStore(async (open) => {
    let store = await open();
    const server = new MemoryServer().addAccount("bo", "%");
    // The process dies after the intent was committed, before the statement went out.
    server.hooks.before = () => {
      throw answerLost("crash before ALTER (injected)");
    };
    await cycle(server, store, limits("bo"), { bo: 200_000 });
    assert.deepEqual(server.changes, []);
    assert.deepEqual(locks(store), ["bo@%|locking"]);
    // The next run: the server says unlocked, so the intent is not ours; usage fell meanwhile.
    server.hooks = {};
    store = await open();
    const { outcome } = await cycle(server, store, limits("bo"), { bo: 5_000 });
    assert.deepEqual(server.changes, [], "an account was changed although nothing was due");
    assert.deepEqual(locks(store), []);
    assert.equal(outcome.users[0].status, "ok");
    // Still over the limit: a fresh lock, recorded as ours.
    await cycle(server, store, limits("bo"), { bo: 200_000 });
    assert.deepEqual(server.changes, ["lock bo@%"]);
    assert.deepEqual(locks(store), ["bo@%|locked"]);
  });
});

Deno.test("act: a crash between ALTER USER and the confirmation — the next run takes the lock as ours and can lift it", async () => {
  await withStore(async (open) => {
    let store = await open();
    const server = new MemoryServer().addAccount("cy", "%");
    const session = server.openSession("cy", "10.0.0.7:5000");
    // The server applied the lock; the process died before the answer came back.
    server.hooks.after = () => {
      throw answerLost("crash after ALTER (injected)");
    };
    const first = await cycle(server, store, limits("cy"), { cy: 200_000 });
    assert.match(first.ctx.audits.map((a) => a.result).join(), /failed: crash after ALTER/);
    assert.equal(server.isLocked("cy", "%"), true);
    assert.deepEqual(locks(store), ["cy@%|locking"]);
    // Restart: intent + the server says locked → ours; its sessions are ended, then confirmed.
    server.hooks = {};
    store = await open();
    const again = await cycle(server, store, limits("cy"), { cy: 200_000 });
    assert.deepEqual(locks(store), ["cy@%|locked"]);
    assert.deepEqual(server.changes, ["lock cy@%", `kill ${session}`]);
    assert.match(again.outcome.users[0].actions.join(), /lock %: finished/);
    // Under the limit: the tool lifts its own lock.
    await cycle(server, store, limits("cy"), { cy: 1_000 });
    assert.equal(server.isLocked("cy", "%"), false);
    assert.deepEqual(locks(store), []);
  });
});

Deno.test("act: a failed confirmation write after ALTER USER leaves the intent, resolved as ours at the next run", async () => {
  await withStore(async (open) => {
    let store = await open();
    const server = new MemoryServer().addAccount("dee", "%");
    const writes = failing(
      store,
      (call) => call === "confirm" ? new Error("disk I/O error (injected)") : undefined,
    );
    const { ctx } = await cycle(server, store, limits("dee"), { dee: 200_000 }, writes);
    assert.match(ctx.stateError ?? "", /injected/);
    assert.deepEqual(locks(store), ["dee@%|locking"]);
    store = await open();
    await cycle(server, store, limits("dee"), { dee: 200_000 });
    assert.deepEqual(locks(store), ["dee@%|locked"]);
    assert.deepEqual(server.changes, ["lock dee@%"], "locked twice");
  });
});

Deno.test("act: ENOSPC on the intent write — no ALTER USER is sent for anyone that cycle, the error is reported", async () => {
  await withStore(async (open) => {
    const store = await open();
    const server = new MemoryServer().addAccount("eve", "%").addAccount("eli", "%");
    const writes = failing(
      store,
      (call) =>
        call === "intend"
          ? Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" })
          : undefined,
    );
    const { ctx, outcome } = await cycle(server, store, limits("eve", "eli"), {
      eve: 200_000,
      eli: 300_000,
    }, writes);
    assert.deepEqual(server.changes, [], "an account was changed without its intent on disk");
    assert.match(ctx.stateError ?? "", /ENOSPC/);
    assert.deepEqual(outcome.users.map((u) => u.actions.join()), [
      "warned,lock %: not sent",
      "warned,lock %: not sent",
    ]);
    assert.deepEqual(
      ctx.audits.filter((a) => a.action === "lock").map((a) => a.result),
      ["not sent: state store not writable", "not sent: state store not writable"],
    );
    assert.deepEqual(locks(store), []);
  });
});

Deno.test("act: a state store that cannot be written at the start of the cycle stops every action", async () => {
  await withStore(async (open) => {
    const store = await open();
    const server = new MemoryServer().addAccount("fay", "%");
    const full = failing(store, () => new Error("database or disk is full (injected)"));
    const { ctx, recorded } = await cycle(server, store, limits("fay"), { fay: 200_000 }, full);
    assert.deepEqual(server.changes, []);
    assert.match(ctx.stateError ?? "", /disk is full/);
    assert.equal(recorded, false);
    assert.deepEqual(store.figures(ID, ["fay"]), []);
  });
});

Deno.test("act: a refused lock of one user leaves the others processed and recorded", async () => {
  await withStore(async (open) => {
    const store = await open();
    const server = new MemoryServer().addAccount("gil", "%").addAccount("gus", "%");
    server.hooks.before = (user) => {
      if (user === "gil") throw refused("Operation ALTER USER failed (injected)");
    };
    const { ctx, outcome, recorded } = await cycle(server, store, limits("gil", "gus"), {
      gil: 200_000,
      gus: 200_000,
    });
    assert.equal(ctx.stateError, undefined);
    assert.equal(ctx.serverLost, undefined);
    assert.deepEqual(server.changes, ["lock gus@%"]);
    // The refused intent is dropped: the server certainly did not apply it.
    assert.deepEqual(locks(store), ["gus@%|locked"]);
    assert.deepEqual(outcome.users.map((u) => [u.user, u.status, u.actions.join()]), [
      ["gil", "over hard", "warned,lock %: failed"],
      ["gus", "locked", "warned,lock %: ok"],
    ]);
    assert.ok(recorded);
    assert.deepEqual(store.figures(ID, ["gil", "gus"]).map((f) => [f.user, f.locked]), [
      ["gil", false],
      ["gus", true],
    ]);
  });
});

Deno.test("act: a lost answer stops further statements to that server in the cycle; the next run finishes", async () => {
  await withStore(async (open) => {
    const store = await open();
    const server = new MemoryServer().addAccount("hal", "%").addAccount("hob", "%");
    server.hooks.after = (user) => {
      if (user === "hal") throw answerLost();
    };
    await cycle(server, store, limits("hal", "hob"), { hal: 200_000, hob: 200_000 });
    assert.deepEqual(server.changes, ["lock hal@%"]);
    assert.deepEqual(locks(store), ["hal@%|locking"]);
    server.hooks = {};
    await cycle(server, store, limits("hal", "hob"), { hal: 200_000, hob: 200_000 });
    assert.deepEqual(server.changes, ["lock hal@%", "lock hob@%"]);
    assert.deepEqual(locks(store), ["hal@%|locked", "hob@%|locked"]);
  });
});

Deno.test("act: restart resolution — intent + locked is ours, intent + unlocked or gone is dropped, unlock intents likewise", async () => {
  await withStore(async (open) => {
    const store = await open();
    const server = new MemoryServer()
      .addAccount("ida", "%", true) // lock intent, applied
      .addAccount("ike", "%") // lock intent, not applied
      .addAccount("ivy", "%", true) // unlock intent, not applied
      .addAccount("ian", "%"); // unlock intent, applied
    store.intend(ID, { user: "ida", host: "%" }, "lock");
    store.intend(ID, { user: "ike", host: "%" }, "lock");
    store.intend(ID, { user: "ivo", host: "%" }, "lock"); // the account was dropped
    for (const user of ["ivy", "ian"]) {
      store.confirm(ID, [{ user, host: "%" }], "lock");
      store.intend(ID, { user, host: "%" }, "unlock");
    }
    // Usage between the unlock threshold and the hard limit: nothing new is due.
    const users = limits("ida", "ike", "ivy", "ian");
    const usage = { ida: 50_000, ike: 50_000, ivy: 50_000, ian: 50_000 };
    const { outcome } = await cycle(server, store, users, usage);
    assert.deepEqual(locks(store), ["ida@%|locked", "ivy@%|locked"]);
    assert.deepEqual(server.changes, [], "resolution changed an account");
    assert.deepEqual(outcome.users.map((u) => [u.user, u.status]), [
      ["ida", "locked"],
      ["ike", "over soft"],
      ["ivy", "locked"],
      ["ian", "over soft"],
    ]);
  });
});
