import assert from "node:assert/strict";
import { type ChangesInput, stateChanges } from "./events.ts";

const T = Date.UTC(2026, 10, 30, 6);

function input(over: Partial<ChangesInput>): ChangesInput {
  return {
    server: "db1",
    debug: 2,
    limits: [
      { user: "amy", soft: 100, hard: 200, line: 1 },
      { user: "bob", host: "10.0.0.%", hard: 50, action: "readonly", line: 2 },
    ],
    hardAction: "lock",
    users: [
      {
        user: "amy",
        usage: 300,
        soft: 100,
        hard: 200,
        locked: true,
        status: "locked",
        actions: [],
      },
      { user: "bob", usage: 10, hard: 50, locked: false, status: "ok", actions: [] },
    ],
    before: new Map(),
    after: new Map(),
    audits: [],
    time: T,
    ...over,
  };
}

const audit = (user: string, action: string, result: string, host = "%") => ({
  server: "db1",
  user,
  host,
  usage: 0,
  limit: 0,
  action,
  result,
});

Deno.test("events: soft, hard and lock of one cycle, in order, one locked event for two accounts", () => {
  const events = stateChanges(input({
    after: new Map([["amy", { warned: true, overHard: true }]]),
    audits: [
      audit("amy", "soft_exceeded", "warned"),
      audit("amy", "lock", "ok", "%"),
      audit("amy", "lock", "ok", "localhost"),
      audit("amy", "end_sessions", "ended 0"),
    ],
  }));
  assert.deepEqual(events.map((e) => e.event), ["soft_exceeded", "hard_exceeded", "locked"]);
  assert.deepEqual(events[2], {
    event: "locked",
    server: "db1",
    user: "amy",
    usageBytes: 300,
    softBytes: 100,
    hardBytes: 200,
    action: "lock",
    time: T,
  });
});

Deno.test("events: hard_exceeded only when the flag is newly set; failures, releases, the line's host and action", () => {
  const events = stateChanges(input({
    before: new Map([["amy", { warned: true, overHard: true }]]),
    after: new Map([["amy", { warned: true, overHard: true }], ["bob", {
      warned: false,
      overHard: true,
    }]]),
    audits: [
      audit("amy", "lock", "failed: Operation ALTER USER failed"),
      audit("amy", "lock", "not sent: state store not writable"),
      audit("bob", "restore", "ok: granted INSERT ON `bob`.*", "10.0.0.%"),
      audit("gone", "unlock", "ok"),
    ],
  }));
  assert.deepEqual(
    events.map((e) => [e.event, e.user]),
    [["action_failed", "amy"], ["released", "bob"], ["released", "gone"], ["hard_exceeded", "bob"]],
  );
  const bob = events.find((e) => e.user === "bob")!;
  assert.equal(bob.host, "10.0.0.%");
  assert.equal(bob.action, "readonly");
  assert.equal(bob.softBytes, undefined);
  // A user no longer in search_user: no limits.
  const gone = events.find((e) => e.user === "gone")!;
  assert.equal(gone.hardBytes, 0);
  assert.equal(gone.usageBytes, 0);
});

Deno.test("events: a dry run sends nothing; -d 1 sends soft and hard_exceeded, no lock", () => {
  const over = {
    after: new Map([["amy", { warned: true, overHard: true }]]),
    audits: [audit("amy", "soft_exceeded", "warned"), audit("amy", "lock", "not-enforced")],
  };
  assert.deepEqual(stateChanges(input({ ...over, debug: 0 })), []);
  assert.deepEqual(
    stateChanges(input({ ...over, debug: 1 })).map((e) => e.event),
    ["soft_exceeded", "hard_exceeded"],
  );
  // Back under: soft_cleared.
  assert.deepEqual(
    stateChanges(input({ audits: [audit("amy", "soft_cleared", "notified")] })).map((e) => e.event),
    ["soft_cleared"],
  );
});

Deno.test("events: the write-brake's revoke is readonly, after hard_exceeded", () => {
  const events = stateChanges(input({
    after: new Map([["bob", { warned: false, overHard: true }]]),
    audits: [audit("bob", "revoke", "ok: revoked INSERT, UPDATE ON `bob`.*", "10.0.0.%")],
  }));
  assert.deepEqual(events.map((e) => e.event), ["hard_exceeded", "readonly"]);
  assert.equal(events[1].action, "readonly");
});
