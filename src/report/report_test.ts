import assert from "node:assert/strict";
import { buildReport } from "./report.ts";

const NOW = Date.UTC(2026, 0, 31, 12, 0, 0);

Deno.test("report: logins go to the most specific account of the same user; the rest is unmatched", () => {
  const r = buildReport(
    [
      { user: "app", host: "%", locked: false },
      { user: "app", host: "10.0.0.0/255.0.0.0", locked: false },
      { user: "app", host: "localhost", locked: true },
      { user: "web", host: "web_.example.org", locked: null },
      { user: "idle", host: "%", locked: false },
    ],
    [
      { name: "app", host: "10.1.2.3", lastSeen: "2026-01-30 10:00:00+00:00" },
      { name: "app", host: "10.9.9.9", lastSeen: "2026-01-31 09:00:00+01:00" },
      { name: "app", host: "192.168.1.1", lastSeen: "2025-06-01 00:00:00+00:00" },
      { name: "app", host: "localhost", lastSeen: "2025-01-01 00:00:00+00:00" },
      { name: "web", host: "web1.example.org", lastSeen: "2026-01-01 00:00:00+00:00" },
      { name: "web", host: "web10.example.org", lastSeen: "2026-01-02 00:00:00+00:00" },
      { name: "gone", host: "10.0.0.1", lastSeen: "2026-01-02 00:00:00+00:00" },
    ],
    [
      { name: "app", host: "10.1.2.3", count: 3, lastSeen: "2026-01-29 00:00:00+00:00" },
      { name: "app", host: "10.2.2.2", count: 2, lastSeen: "2026-01-30 00:00:00+00:00" },
      { name: "x\ny", host: "10.0.0.1", count: 1, lastSeen: "2026-01-30 00:00:00+00:00" },
    ],
    { now: NOW, unusedDays: 90 },
  );
  const brief = r.accounts.map((
    a,
  ) => [a.user, a.host, a.status, a.lastSeen, a.idleDays, a.failedCount, a.failedLast, a.locked]);
  assert.deepEqual(brief, [
    // Times compared as instants: 09:00+01:00 is 08:00Z, still later than 2026-01-30 10:00Z.
    ["app", "%", "unused", "2025-06-01 00:00:00+00:00", 244, 0, null, false],
    [
      "app",
      "10.0.0.0/255.0.0.0",
      "active",
      "2026-01-31 09:00:00+01:00",
      0,
      5,
      "2026-01-30 00:00:00+00:00",
      false,
    ],
    ["app", "localhost", "unused", "2025-01-01 00:00:00+00:00", 395, 0, null, true],
    ["idle", "%", "never seen", null, null, 0, null, false],
    ["web", "web_.example.org", "active", "2026-01-01 00:00:00+00:00", 30, 0, null, null],
  ]);
  assert.deepEqual(r.accounts[1].clients.map((c) => c.host), ["10.9.9.9", "10.1.2.3"]);
  assert.equal(r.accounts[1].lastSeenEpoch, Date.UTC(2026, 0, 31, 8) / 1000);
  assert.deepEqual(
    r.unmatched.map((u) => [u.name, u.host, u.reason, u.lastSeen, u.failedCount]),
    [
      ["gone", "10.0.0.1", "no account of this user", "2026-01-02 00:00:00+00:00", 0],
      [
        "web",
        "web10.example.org",
        "no host pattern of this user matches",
        "2026-01-02 00:00:00+00:00",
        0,
      ],
      ["x\ny", "10.0.0.1", "no account of this user", null, 1],
    ],
  );
});

Deno.test("report: the unused threshold is inclusive and counted in whole days", () => {
  const day = 86_400_000;
  const at = (ms: number) =>
    new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "+00:00");
  const r = buildReport(
    [{ user: "a", host: "%", locked: null }, { user: "b", host: "%", locked: null }],
    [
      { name: "a", host: "h", lastSeen: at(NOW - 30 * day) },
      { name: "b", host: "h", lastSeen: at(NOW - 30 * day + 1000) },
    ],
    [],
    { now: NOW, unusedDays: 30 },
  );
  assert.deepEqual(r.accounts.map((a) => [a.status, a.idleDays]), [["unused", 30], ["active", 29]]);
});
