import assert from "node:assert/strict";
import type { UserLimit } from "../config/search_user.ts";
import { orphanBrakes, plan, type PlanInput, type PlannedUser, resolveBrakes } from "./plan.ts";
import type { BrakeRecord } from "./store.ts";

const limit = (user: string, extra: Partial<UserLimit> = {}): UserLimit => ({
  user,
  soft: 10,
  hard: 100,
  line: 1,
  ...extra,
});

/** A plan input for `users` all at `usage` bytes, each with one unlocked account `%`. */
function input(users: UserLimit[], usage: number, extra: Partial<PlanInput> = {}): PlanInput {
  return {
    users,
    allUsers: users,
    usage: new Map(users.map((u) => [u.user, { bytes: usage, incomplete: [] }])),
    accounts: new Map(users.map((u) => [u.user, [{ host: "%", locked: false }]])),
    records: [],
    brakes: [],
    flags: new Map(),
    protectedUsers: [],
    shard: 0,
    shards: 1,
    grace: { unit: "seconds", value: 0 },
    action: "lock",
    now: 1_000,
    ...extra,
  };
}

const kinds = (p: ReturnType<typeof plan>, user: string) =>
  (p.users.find((u) => u.limit.user === user) as PlannedUser).decision.actions.map((a) => a.kind);

Deno.test("plan: the grace comes from the flags of the state store and the server's hard_grace", () => {
  const grace = { unit: "seconds", value: 600 } as const;
  const first = plan(input([limit("ann")], 500, { grace }));
  assert.deepEqual(kinds(first, "ann"), ["soft_exceeded", "grace_started"]);
  const flags = new Map([["ann", {
    warned: true,
    overHard: true,
    overSince: 1_000,
    overScans: 1,
  }]]);
  const during = plan(input([limit("ann")], 500, { grace, flags, now: 1_300 }));
  assert.deepEqual(kinds(during, "ann"), []);
  assert.equal((during.users[0] as PlannedUser).decision.pending, "locking in 5m");
  const after = plan(input([limit("ann")], 500, { grace, flags, now: 1_600 }));
  assert.deepEqual(kinds(after, "ann"), ["grace_ended", "lock"]);
});

Deno.test("plan: a search_user line's action overrides the server's; only writable accounts are braked", () => {
  const users = [limit("bo", { action: "readonly" }), limit("cy"), limit("di")];
  const p = plan(input(users, 500, {
    action: "lock",
    privileges: [
      { user: "bo", host: "%", level: { global: false, db: "bo" }, privs: ["INSERT"] },
      { user: "di", host: "%", level: { global: true }, privs: ["ALTER"] },
    ],
  }));
  assert.deepEqual(kinds(p, "bo"), ["soft_exceeded", "revoke"]);
  assert.deepEqual(kinds(p, "cy"), ["soft_exceeded", "lock"]);
  assert.equal((p.users[0] as PlannedUser).action, "readonly");
  const ro = plan(input([limit("di"), limit("ed")], 500, {
    action: "readonly",
    privileges: [{ user: "di", host: "%", level: { global: true }, privs: ["ALTER"] }],
  }));
  assert.deepEqual(kinds(ro, "di"), ["soft_exceeded", "revoke"]);
  assert.deepEqual(kinds(ro, "ed"), ["soft_exceeded"], "nothing the brake could revoke");
});

Deno.test("plan: brake intents resolve against the server's privileges; orphans are restored or forgotten", () => {
  const rec = (user: string, state: BrakeRecord["state"], pending: string[]): BrakeRecord => ({
    user,
    host: "%",
    level: { global: false, db: "s\\_1" },
    privs: state === "revoking" ? [] : ["INSERT", "ALTER"],
    pending,
    state,
  });
  const accounts = new Map([["a", [{ host: "%", locked: false }]], [
    "b",
    [{ host: "%", locked: false }],
  ]]);
  const held = [
    { user: "a", host: "%", level: { global: false, db: "s_1" }, privs: ["INSERT"] },
    { user: "b", host: "%", level: { global: false, db: "s\\_1" }, privs: ["INSERT", "ALTER"] },
  ];
  const r = resolveBrakes(
    [
      rec("a", "revoking", ["INSERT"]),
      rec("b", "restoring", ["INSERT", "ALTER"]),
      rec("c", "revoking", ["INSERT"]),
    ],
    held,
    accounts,
  );
  assert.deepEqual(r.map((x) => `${x.user} ${x.intent} ${x.now}`), [
    "a revoke applied", // the INSERT a holds is on s_1, another level than s\_1
    "b restore applied",
    "c revoke gone",
  ]);
  const partial = resolveBrakes([rec("b", "restoring", ["INSERT", "UPDATE"])], held, accounts);
  assert.equal(partial[0].now, "not applied");

  const o = orphanBrakes(
    [rec("a", "revoked", []), rec("b", "revoked", []), rec("c", "revoked", [])],
    { limits: [limit("a")], accounts, shard: 0, shards: 1 },
  );
  assert.deepEqual(o.map((x) => `${x.user} ${x.kind}`), ["b restore", "c forget"]);
});
