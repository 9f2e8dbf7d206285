/**
 * Unit tests of the grace and the write-brake through the plan, act and record steps, with the
 * in-memory server (no MariaDB): intent before REVOKE, a state store that refuses the intent,
 * a crash between the steps and how the next run resolves it, exact restores, a grace counted
 * on an injected clock. tests/monitor_readonly_test.ts proves the same against a real server.
 */
import assert from "node:assert/strict";
import type { HardAction, HardGrace } from "../config/enforcement.ts";
import type { UserLimit } from "../config/search_user.ts";
import { answerLost, MemoryServer } from "./memory_server.ts";
import type { StateStore } from "./store.ts";
import { MEMORY_ID as ID, memoryCycle, storeWrites, withStore } from "./store_testing.ts";

const cycle = memoryCycle;

/** Limits: soft 10 000, hard 100 000 bytes; `action` as a 4th search_user field. */
function limit(user: string, action?: HardAction): UserLimit {
  return { user, soft: 10_000, hard: 100_000, line: 1, ...(action ? { action } : {}) };
}

/** The store's brake rows as `user@host level privs|pending state`, sorted. */
function brakes(store: StateStore): string[] {
  return store.brakes(ID).map((b) =>
    `${b.user}@${b.host} ${b.level.global ? "*.*" : b.level.db} ${b.privs.join(",")}|${
      b.pending.join(",")
    } ${b.state}`
  ).sort();
}

Deno.test("brake: the intent names every privilege and level before the REVOKE; restore grants back exactly those", async () => {
  await withStore(async (open) => {
    const store = await open();
    const server = new MemoryServer().addAccount("ann", "%")
      .grantNow("ann", "%", "ann\\_shop", ["INSERT", "UPDATE", "CREATE", "ALTER", "INDEX"])
      .grantNow("ann", "%", "ann_%", ["INSERT"])
      .grantNow("other", "%", "ann\\_shop", ["INSERT"]);
    const seen: string[][] = [];
    server.privilegeHooks.before = () => seen.push(brakes(store));
    const s = server.openSession("ann", "localhost");
    const { outcome } = await cycle(server, store, [limit("ann")], { ann: 200_000 }, {
      action: "readonly",
    });
    assert.deepEqual(seen[0], ["ann@% ann\\_shop |INSERT,UPDATE,CREATE,INDEX,ALTER revoking"]);
    assert.deepEqual(brakes(store), [
      "ann@% ann\\_shop INSERT,UPDATE,CREATE,INDEX,ALTER| revoked",
      "ann@% ann_% INSERT| revoked",
    ]);
    assert.deepEqual(server.held("ann", "%", "ann\\_shop"), []);
    assert.deepEqual(server.held("other", "%", "ann\\_shop"), ["INSERT"], "another account kept");
    assert.ok(server.sessionList.some((x) => x.id === s), "sessions are not ended");
    assert.equal(server.isLocked("ann", "%"), false, "never locked");
    assert.equal(outcome.users[0].status, "readonly");
    assert.equal(outcome.users[0].readonly, true);

    // Meanwhile an administrator grants INSERT on a new schema: it is revoked too (still over).
    server.grantNow("ann", "%", "ann_new", ["INSERT"]);
    await cycle(server, store, [limit("ann")], { ann: 200_000 }, { action: "readonly" });
    assert.deepEqual(server.held("ann", "%", "ann_new"), []);

    // Back under: exactly the recorded privileges come back, the admin's re-grant does not fail.
    server.grantNow("ann", "%", "ann_%", ["INSERT"]);
    server.changes.length = 0;
    const back = await cycle(server, store, [limit("ann")], { ann: 5_000 }, { action: "readonly" });
    assert.deepEqual(server.held("ann", "%", "ann\\_shop"), [
      "INSERT",
      "UPDATE",
      "CREATE",
      "INDEX",
      "ALTER",
    ]);
    assert.deepEqual(server.held("ann", "%", "ann_%"), ["INSERT"]);
    assert.deepEqual(server.held("ann", "%", "ann_new"), ["INSERT"]);
    assert.deepEqual(brakes(store), []);
    assert.equal(back.outcome.users[0].status, "ok");
  });
});

Deno.test("brake: a state store that refuses the intent — no REVOKE is sent", async () => {
  await withStore(async (open) => {
    const store = await open();
    const server = new MemoryServer().addAccount("bo", "%").grantNow("bo", "%", "bo", ["INSERT"]);
    const writes = storeWrites(store, {
      intendBrake() {
        throw new Error("database or disk is full (injected)");
      },
    });
    const { ctx } = await cycle(server, store, [limit("bo")], { bo: 200_000 }, {
      action: "readonly",
      writes,
    });
    assert.match(ctx.stateError ?? "", /disk is full/);
    assert.deepEqual(server.changes, []);
    assert.deepEqual(server.held("bo", "%", "bo"), ["INSERT"]);
  });
});

Deno.test("brake: crashes around the REVOKE and the GRANT are resolved against the server", async () => {
  await withStore(async (open) => {
    let store = await open();
    const server = new MemoryServer().addAccount("cy", "%")
      .grantNow("cy", "%", "cy", ["INSERT", "ALTER"]);
    const run = (usage: number) =>
      cycle(server, store, [limit("cy")], { cy: usage }, { action: "readonly" });
    /** A cycle that dies at `hook` of the server's REVOKE or GRANT. */
    const crashAt = async (hook: "before" | "after", usage: number) => {
      server.privilegeHooks[hook] = (verb) => {
        throw answerLost(`crash ${hook} ${verb.toUpperCase()} (injected)`);
      };
      await run(usage);
      server.privilegeHooks = {};
    };
    // Dies after the intent, before the REVOKE: the next run drops the intent, then brakes.
    await crashAt("before", 200_000);
    assert.deepEqual(brakes(store), ["cy@% cy |INSERT,ALTER revoking"]);
    store = await open();
    await run(5_000);
    assert.deepEqual(brakes(store), [], "a REVOKE that never happened is dropped");
    assert.deepEqual(server.held("cy", "%", "cy"), ["INSERT", "ALTER"]);

    // Dies after the REVOKE, before the confirmation: the next run records it as ours.
    await crashAt("after", 200_000);
    assert.deepEqual(server.held("cy", "%", "cy"), []);
    store = await open();
    const r = await run(200_000);
    assert.deepEqual(brakes(store), ["cy@% cy INSERT,ALTER| revoked"]);
    assert.equal(r.outcome.users[0].status, "readonly");

    // Dies after the GRANT of a restore: the next run sees the privileges and drops the record.
    await crashAt("after", 5_000);
    assert.deepEqual(brakes(store), ["cy@% cy INSERT,ALTER|INSERT,ALTER restoring"]);
    store = await open();
    await run(5_000);
    assert.deepEqual(brakes(store), []);
    assert.deepEqual(server.held("cy", "%", "cy"), ["INSERT", "ALTER"]);
  });
});

Deno.test("brake: a user removed from search_user is restored; the 4th field overrides hard_action", async () => {
  await withStore(async (open) => {
    const store = await open();
    const server = new MemoryServer().addAccount("di", "%").addAccount("ed", "%")
      .grantNow("di", "%", "di", ["INSERT"]).grantNow("ed", "%", "ed", ["INSERT"]);
    await cycle(server, store, [limit("di", "readonly"), limit("ed")], {
      di: 200_000,
      ed: 200_000,
    }, { action: "lock" });
    assert.deepEqual(server.held("di", "%", "di"), []);
    assert.equal(server.isLocked("di", "%"), false);
    assert.equal(server.isLocked("ed", "%"), true, "ed follows the server's hard_action=lock");
    assert.deepEqual(server.held("ed", "%", "ed"), ["INSERT"]);
    const { outcome } = await cycle(server, store, [limit("ed")], { ed: 200_000 });
    assert.deepEqual(server.held("di", "%", "di"), ["INSERT"], "restored after removal");
    assert.deepEqual(outcome.released, [{ user: "di", actions: ["restore %: ok"] }]);
    assert.deepEqual(brakes(store), []);
  });
});

Deno.test("grace: a duration on the injected clock survives a reopen of the store; N scans count", async () => {
  await withStore(async (open) => {
    let store = await open();
    const server = new MemoryServer().addAccount("fay", "%");
    const grace: HardGrace = { unit: "seconds", value: 1800 };
    const a = await cycle(server, store, [limit("fay")], { fay: 200_000 }, { grace, now: 10_000 });
    assert.deepEqual(server.changes, []);
    assert.ok(a.outcome.users[0].actions.includes("over hard, locking in 30m"));
    assert.equal(a.outcome.users[0].overHardSince, 10_000);
    assert.deepEqual(a.ctx.audits.map((x) => `${x.action}=${x.result}`), [
      "soft_exceeded=warned",
      "grace_started=pending: due in 30m",
    ]);
    store = await open();
    const b = await cycle(server, store, [limit("fay")], { fay: 200_000 }, { grace, now: 11_000 });
    assert.deepEqual(server.changes, []);
    assert.ok(b.outcome.users[0].actions.includes("over hard, locking in 14m"));
    store = await open();
    const c = await cycle(server, store, [limit("fay")], { fay: 200_000 }, { grace, now: 11_800 });
    assert.deepEqual(server.changes, ["lock fay@%"]);
    assert.deepEqual(c.ctx.audits.map((x) => `${x.action}=${x.result}`).slice(0, 2), [
      "grace_ended=enforced",
      "lock=ok",
    ]);

    const scans: HardGrace = { unit: "scans", value: 2 };
    server.addAccount("gil", "%");
    await cycle(server, store, [limit("gil")], { gil: 200_000 }, { grace: scans });
    assert.equal(server.isLocked("gil", "%"), false);
    const under = await cycle(server, store, [limit("gil")], { gil: 50_000 }, { grace: scans });
    assert.ok(
      under.ctx.audits.some((x) => x.action === "grace_ended" && x.result === "back under"),
    );
    assert.equal(under.outcome.users[0].overHardSince, undefined);
    await cycle(server, store, [limit("gil")], { gil: 200_000 }, { grace: scans });
    assert.equal(server.isLocked("gil", "%"), false, "the dip under restarted the count");
    await cycle(server, store, [limit("gil")], { gil: 200_000 }, { grace: scans });
    assert.equal(server.isLocked("gil", "%"), true);
  });
});
