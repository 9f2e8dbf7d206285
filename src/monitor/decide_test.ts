import assert from "node:assert/strict";
import {
  type Action,
  decide,
  type DecisionInput,
  EMPTY_STATE,
  settle,
  unlockThreshold,
} from "./decide.ts";

const MB = 1024 ** 2;
const base: DecisionInput = {
  usage: 0,
  soft: 100 * MB,
  hard: 200 * MB,
  protected: false,
  accounts: [{ host: "%", locked: false }, { host: "localhost", locked: false }],
  state: EMPTY_STATE,
};
/** One account, `%`, locked by this tool. */
const LOCKED_BY_US = {
  accounts: [{ host: "%", locked: true }],
  state: { warned: true, overHard: true, lockedByUs: ["%"] },
};
const kinds = (actions: Action[]) =>
  actions.map((a) => "host" in a ? `${a.kind}:${a.host}` : a.kind);

Deno.test("decide: table of usage, limits and remembered state", () => {
  const cases: [string, Partial<DecisionInput>, string[], string][] = [
    ["under everything", { usage: 10 * MB }, [], "ok"],
    ["exactly at soft is not over", { usage: 100 * MB }, [], "ok"],
    ["crosses soft: warn once", { usage: 150 * MB }, ["soft_exceeded"], "over soft"],
    [
      "still over soft: no repeat",
      { usage: 150 * MB, state: { ...EMPTY_STATE, warned: true } },
      [],
      "over soft",
    ],
    [
      "back under soft: one notice",
      { usage: 50 * MB, state: { ...EMPTY_STATE, warned: true } },
      ["soft_cleared"],
      "ok",
    ],
    ["over hard: warn and lock every account", { usage: 250 * MB }, [
      "soft_exceeded",
      "lock:%",
      "lock:localhost",
    ], "over hard"],
    [
      "over hard, one account already ours: lock only the other",
      {
        usage: 250 * MB,
        accounts: [{ host: "%", locked: true }, { host: "localhost", locked: false }],
        state: { warned: true, overHard: true, lockedByUs: ["%"] },
      },
      ["lock:localhost"],
      "locked",
    ],
    [
      "locked by us, between soft and hard: stays locked",
      { usage: 150 * MB, ...LOCKED_BY_US },
      [],
      "locked",
    ],
    [
      "locked by us, back under soft: unlock",
      { usage: 50 * MB, ...LOCKED_BY_US },
      ["soft_cleared", "unlock:%"],
      "ok",
    ],
    [
      "locked by an administrator, under soft: never unlocked",
      { usage: 1, accounts: [{ host: "%", locked: true }] },
      [],
      "admin-locked",
    ],
    [
      "locked by an administrator, over hard: nothing to do",
      {
        usage: 250 * MB,
        accounts: [{ host: "%", locked: true }],
        state: { ...EMPTY_STATE, warned: true },
      },
      [],
      "admin-locked",
    ],
    [
      "we locked it but an administrator unlocked it: forget, lock again when still over",
      { usage: 250 * MB, ...LOCKED_BY_US, accounts: [{ host: "%", locked: false }] },
      ["forget:%", "lock:%"],
      "over hard",
    ],
    [
      "account dropped while locked by us: forget",
      { usage: 1, accounts: [], state: { warned: false, overHard: true, lockedByUs: ["%"] } },
      ["forget:%"],
      "ok",
    ],
    ["protected user over hard: config warning, no lock", { usage: 250 * MB, protected: true }, [
      "soft_exceeded",
      "protected",
    ], "protected"],
    [
      "protected user still over hard: no repeated warning",
      { usage: 250 * MB, protected: true, state: { warned: true, overHard: true, lockedByUs: [] } },
      [],
      "protected",
    ],
    [
      "one limit (soft = hard): warn and lock together",
      {
        usage: 101 * MB,
        soft: 100 * MB,
        hard: 100 * MB,
        accounts: [{ host: "%", locked: false }],
      },
      ["soft_exceeded", "lock:%"],
      "over hard",
    ],
    [
      "one limit: not unlocked at 95 %",
      { usage: 95 * MB, soft: 100 * MB, hard: 100 * MB, ...LOCKED_BY_US },
      ["soft_cleared"],
      "locked",
    ],
    [
      "hard only: unlocked below 90 %",
      {
        usage: 89 * MB,
        soft: undefined,
        hard: 100 * MB,
        accounts: [{ host: "%", locked: true }],
        state: { warned: false, overHard: true, lockedByUs: ["%"] },
      },
      ["unlock:%"],
      "ok",
    ],
    [
      "hard only: no soft warning",
      { usage: 101 * MB, soft: undefined, hard: 100 * MB, accounts: [] },
      [],
      "over hard",
    ],
  ];
  for (const [name, input, expected, status] of cases) {
    const d = decide({ ...base, ...input });
    assert.deepEqual(kinds(d.actions), expected, name);
    assert.equal(d.status, status, name);
  }
});

Deno.test("decide: thresholds and warned state", () => {
  assert.equal(unlockThreshold(100, 200), 100);
  assert.equal(unlockThreshold(100, 100), 90);
  assert.equal(unlockThreshold(undefined, 1000), 900);
  assert.equal(decide({ ...base, usage: 150 * MB }).state.warned, true);
  assert.equal(
    decide({ ...base, usage: 1, state: { ...EMPTY_STATE, warned: true } }).state.warned,
    false,
  );
});

Deno.test("settle: only performed locks and unlocks change the record", () => {
  const d = decide({ ...base, usage: 250 * MB });
  const [, lockAll, lockLocal] = d.actions;
  assert.deepEqual(settle(d.state, d.actions, new Set()).lockedByUs, [], "dry run records nothing");
  assert.equal(settle(d.state, d.actions, new Set()).warned, false, "a dry-run warning stays due");
  assert.equal(settle(d.state, d.actions, new Set([d.actions[0]])).warned, true);
  assert.deepEqual(settle(d.state, d.actions, new Set([lockAll])).lockedByUs, ["%"]);
  assert.deepEqual(settle(d.state, d.actions, new Set([lockAll, lockLocal])).lockedByUs, [
    "%",
    "localhost",
  ]);
  const locked = { warned: true, overHard: false, lockedByUs: ["%"] };
  const u = decide({ ...base, usage: 1, accounts: [{ host: "%", locked: true }], state: locked });
  assert.deepEqual(
    settle(u.state, u.actions, new Set()).lockedByUs,
    ["%"],
    "failed unlock keeps the record",
  );
  assert.deepEqual(settle(u.state, u.actions, new Set(u.actions)).lockedByUs, []);
});

Deno.test("decide: each limit holds on both sides of its exact value", () => {
  const shapes: [string, number | undefined, number][] = [
    ["soft below hard", 100 * MB, 200 * MB],
    ["soft = hard", 100 * MB, 100 * MB],
    ["hard only", undefined, 100 * MB],
    ["soft above hard (ignored for unlocking)", 300 * MB, 200 * MB],
  ];
  for (const [shape, soft, hard] of shapes) {
    const at = unlockThreshold(soft, hard);
    const exactly = decide({ ...base, ...LOCKED_BY_US, soft, hard, usage: at });
    assert.ok(!kinds(exactly.actions).includes("unlock:%"), `${shape}: unlocked at exactly ${at}`);
    assert.equal(exactly.status, "locked", shape);
    const below = decide({ ...base, ...LOCKED_BY_US, soft, hard, usage: at - 1 });
    assert.ok(kinds(below.actions).includes("unlock:%"), `${shape}: still locked at ${at - 1}`);
    // An incomplete scan never unlocks, however low the usage.
    const partial = decide({ ...base, ...LOCKED_BY_US, soft, hard, usage: 0, incomplete: true });
    assert.ok(!kinds(partial.actions).includes("unlock:%"), `${shape}: unlocked on a partial scan`);

    const fresh = { accounts: [{ host: "%", locked: false }], state: EMPTY_STATE };
    assert.deepEqual(
      kinds(decide({ ...base, ...fresh, soft, hard, usage: hard }).actions)
        .filter((k) => k.startsWith("lock")),
      [],
      `${shape}: locked at exactly hard`,
    );
    assert.ok(
      kinds(decide({ ...base, ...fresh, soft, hard, usage: hard + 1 }).actions).includes("lock:%"),
      `${shape}: not locked one byte over hard`,
    );
    if (soft !== undefined) {
      assert.ok(
        !kinds(decide({ ...base, ...fresh, soft, hard, usage: soft }).actions)
          .includes("soft_exceeded"),
        `${shape}: warned at exactly soft`,
      );
      assert.ok(
        kinds(decide({ ...base, ...fresh, soft, hard, usage: soft + 1 }).actions)
          .includes("soft_exceeded"),
        `${shape}: no warning one byte over soft`,
      );
    }
  }
});

Deno.test("decide: hard_grace as a duration waits from the first scan above, then acts", () => {
  const grace = { unit: "seconds", value: 3600 } as const;
  const over = { ...base, usage: 250 * MB, grace, state: { ...EMPTY_STATE, warned: true } };
  const first = decide({ ...over, now: 1_000 });
  assert.deepEqual(kinds(first.actions), ["grace_started"]);
  assert.equal(first.pending, "locking in 1h");
  assert.equal(first.status, "over hard");
  assert.equal(first.state.overSince, 1_000);
  const later = decide({ ...over, now: 2_500, state: first.state });
  assert.deepEqual(kinds(later.actions), [], "no repeated grace_started");
  assert.equal(later.pending, "locking in 35m");
  assert.equal(later.state.overSince, 1_000, "the grace counts from the first scan above");
  const due = decide({ ...over, now: 4_600, state: later.state });
  assert.deepEqual(kinds(due.actions), ["grace_ended", "lock:%", "lock:localhost"]);
  assert.equal(due.pending, undefined);
});

Deno.test("decide: hard_grace in scans counts consecutive scans; a dip under restarts it", () => {
  const grace = { unit: "scans", value: 3 } as const;
  const over = { ...base, usage: 250 * MB, grace, state: { ...EMPTY_STATE, warned: true } };
  const s1 = decide(over);
  assert.equal(s1.pending, "locking after 2 more scans");
  const s2 = decide({ ...over, state: s1.state });
  assert.equal(s2.pending, "locking after 1 more scan");
  const under = decide({ ...over, usage: 150 * MB, state: s2.state });
  assert.deepEqual(kinds(under.actions), ["grace_ended"], "back under within the grace");
  assert.equal(
    (under.actions[0] as { outcome: string }).outcome,
    "back under",
  );
  assert.equal(under.state.overSince, undefined);
  const again = decide({ ...over, state: under.state });
  assert.deepEqual(kinds(again.actions), ["grace_started"], "a new stretch starts again");
  const s3 = decide({ ...over, state: decide({ ...over, state: again.state }).state });
  assert.deepEqual(kinds(s3.actions), ["grace_ended", "lock:%", "lock:localhost"]);
});

Deno.test("decide: an incomplete figure under the hard limit neither stops nor advances the grace", () => {
  const grace = { unit: "scans", value: 3 } as const;
  const over = { ...base, usage: 250 * MB, grace, state: { ...EMPTY_STATE, warned: true } };
  const s1 = decide(over);
  const blind = decide({ ...over, usage: 1, incomplete: true, state: s1.state });
  assert.deepEqual(kinds(blind.actions), []);
  assert.equal(blind.state.overHard, true);
  assert.equal(blind.state.overScans, 1);
});

Deno.test("decide: grace 0 is today's behaviour; protected users never start a grace", () => {
  const d = decide({ ...base, usage: 250 * MB, grace: { unit: "seconds", value: 0 }, now: 5 });
  assert.deepEqual(kinds(d.actions), ["soft_exceeded", "lock:%", "lock:localhost"]);
  assert.equal(d.state.overSince, 5, "the time above is still kept for the metric");
  const p = decide({
    ...base,
    usage: 250 * MB,
    protected: true,
    grace: { unit: "scans", value: 2 },
  });
  assert.deepEqual(kinds(p.actions), ["soft_exceeded", "protected"]);
});

Deno.test("decide: hard_action=readonly revokes from writable accounts and restores below the unlock threshold", () => {
  const accounts = [{ host: "%", locked: false, writable: true }, {
    host: "localhost",
    locked: false,
    writable: false,
  }];
  const over = decide({ ...base, usage: 250 * MB, accounts, action: "readonly" });
  assert.deepEqual(kinds(over.actions), ["soft_exceeded", "revoke:%"]);
  const state = { warned: true, overHard: true, lockedByUs: [], brakedByUs: ["%"] };
  const still = decide({
    ...base,
    usage: 150 * MB,
    accounts: [{ host: "%", locked: false, writable: false }],
    action: "readonly",
    state,
  });
  assert.deepEqual(kinds(still.actions), []);
  assert.equal(still.status, "readonly");
  const under = decide({ ...base, usage: 50 * MB, accounts, action: "readonly", state });
  assert.deepEqual(kinds(under.actions), ["soft_cleared", "restore:%"]);
  const gone = decide({ ...base, usage: 50 * MB, accounts: [], action: "readonly", state });
  assert.deepEqual(kinds(gone.actions), ["soft_cleared", "forget_brake:%"]);
  const settled = settle(under.state, under.actions, new Set(under.actions));
  assert.deepEqual(settled.brakedByUs, []);
});
