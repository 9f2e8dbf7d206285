import assert from "node:assert/strict";
import { buildReport } from "./report.ts";
import { cell, renderText, reportJson, reportMetrics } from "./render.ts";

const NOW = Date.UTC(2026, 0, 31, 12, 0, 0);

function sample() {
  return buildReport(
    [
      { user: "app", host: "%", locked: false },
      { user: "old", host: "localhost", locked: true },
      { user: "new", host: "%", locked: false },
      { user: 'q"u\\o', host: "%", locked: null },
    ],
    [
      { name: "app", host: "10.0.0.1", lastSeen: "2026-01-31 11:00:00+00:00" },
      { name: "old", host: "localhost", lastSeen: "2025-01-01 00:00:00+00:00" },
      { name: 'q"u\\o', host: "h", lastSeen: "2026-01-31 11:00:00+00:00" },
      { name: "\x1b[2Jevil\u202e\nroot", host: "10.0.0.2", lastSeen: "2026-01-31 11:00:00+00:00" },
    ],
    [{ name: "app", host: "10.0.0.9", count: 2, lastSeen: "2026-01-31 10:00:00+00:00" }],
    { now: NOW, unusedDays: 90 },
  );
}

Deno.test("render: the table escapes hostile names and keeps a stable column order", () => {
  const text = renderText(sample());
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(text, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/);
  assert.equal(
    text,
    [
      "USER    HOST       STATUS                       LAST SEEN                  FROM       FAILED LOGINS",
      "app     %          active                       2026-01-31 11:00:00+00:00  10.0.0.1   2 (last 2026-01-31 10:00:00+00:00)",
      "new     %          never seen                   -                          -          0",
      "old     localhost  unused for 395 days, locked  2025-01-01 00:00:00+00:00  localhost  0",
      'q"u\\\\o  %          active                       2026-01-31 11:00:00+00:00  h          0',
      "",
      "4 accounts: 2 active, 1 unused for 90 days or more, 1 never seen",
      "",
      "No matching account (dropped accounts, or names no account has):",
      "NAME                       CLIENT HOST  LAST SEEN                  FAILED LOGINS  WHY",
      "\\x1b[2Jevil\\u{202e}\\nroot  10.0.0.2     2026-01-31 11:00:00+00:00  0              no account of this user",
      "",
    ].join("\n"),
  );
  assert.equal(cell("x".repeat(50), 10), "xxxxxxxxx…");
  assert.equal(cell("abcdef\u202Exyz", 10), "abcdef…", "never cut inside an escape");
  assert.equal(cell("abc\\\\def", 5), "abc…");
  assert.equal(cell("a\u0000b\u200bc"), "a\\x00b\\u{200b}c");
});

Deno.test("render: JSON and metrics carry the same data; never-seen accounts get no timestamp", () => {
  const json = reportJson(sample()) as { accounts: { user: string; status: string }[] };
  assert.deepEqual(json.accounts.map((a) => `${a.user}:${a.status}`), [
    "app:active",
    "new:never seen",
    "old:unused",
    'q"u\\o:active',
  ]);
  const prom = reportMetrics(sample());
  assert.match(
    prom,
    /^mysql_account_last_seen_timestamp_seconds\{user="app",host="%"\} 1769857200$/m,
  );
  assert.match(prom, /^mysql_account_last_seen_timestamp_seconds\{user="q\\"u\\\\o",host="%"\} /m);
  assert.doesNotMatch(prom, /last_seen_timestamp_seconds\{user="new"/);
  assert.match(prom, /^mysql_account_never_seen\{user="new",host="%"\} 1$/m);
  assert.match(prom, /^mysql_account_never_seen\{user="app",host="%"\} 0$/m);
  assert.match(prom, /^mysql_account_failed_logins\{user="app",host="%"\} 2$/m);
});
