import assert from "node:assert/strict";
import {
  graceText,
  NO_GRACE,
  parseHardAction,
  parseHardGrace,
  parseNotifyUrl,
} from "./enforcement.ts";

Deno.test("enforcement: hard_grace takes 0, durations and scans", () => {
  const cases: [string, unknown, string][] = [
    ["0", NO_GRACE, "0"],
    ["90s", { unit: "seconds", value: 90 }, "90s"],
    ["30m", { unit: "seconds", value: 1800 }, "30m"],
    [" 2h ", { unit: "seconds", value: 7200 }, "2h"],
    ["1d", { unit: "seconds", value: 86400 }, "1d"],
    ["120m", { unit: "seconds", value: 7200 }, "2h"],
    ["365d", { unit: "seconds", value: 365 * 86400 }, "365d"],
    ["3 scans", { unit: "scans", value: 3 }, "3 scans"],
    ["1 scan", { unit: "scans", value: 1 }, "1 scan"],
    ["2scans", { unit: "scans", value: 2 }, "2 scans"],
    ["0 scans", NO_GRACE, "0"],
  ];
  for (const [text, expected, shown] of cases) {
    const grace = parseHardGrace(text);
    assert.deepEqual(grace, expected, text);
    assert.equal(graceText(grace), shown, text);
    // What graceText writes reads back as the same grace.
    assert.deepEqual(parseHardGrace(graceText(grace)), grace, text);
  }
});

Deno.test("enforcement: a bad hard_grace says what is accepted", () => {
  const cases: [string, string][] = [
    [
      "10",
      'hard_grace must be 0, a duration (90s, 30m, 2h, 1d) or a number of scans (3 scans), got "10"',
    ],
    [
      "-1h",
      'hard_grace must be 0, a duration (90s, 30m, 2h, 1d) or a number of scans (3 scans), got "-1h"',
    ],
    [
      "1.5h",
      'hard_grace must be 0, a duration (90s, 30m, 2h, 1d) or a number of scans (3 scans), got "1.5h"',
    ],
    [
      "2H",
      'hard_grace must be 0, a duration (90s, 30m, 2h, 1d) or a number of scans (3 scans), got "2H"',
    ],
    [
      "1w",
      'hard_grace must be 0, a duration (90s, 30m, 2h, 1d) or a number of scans (3 scans), got "1w"',
    ],
    [
      "",
      'hard_grace must be 0, a duration (90s, 30m, 2h, 1d) or a number of scans (3 scans), got ""',
    ],
    ["366d", 'hard_grace must be at most 365d, got "366d"'],
    ["99999999999d", 'hard_grace must be at most 365d, got "99999999999d"'],
    ["10001 scans", 'hard_grace must be at most 10000 scans, got "10001 scans"'],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseHardGrace(text), (e: unknown) => {
      assert.ok(e instanceof SyntaxError);
      assert.equal(e.message, message);
      return true;
    });
  }
});

Deno.test("enforcement: hard_action is lock or readonly, exactly", () => {
  assert.equal(parseHardAction("lock"), "lock");
  assert.equal(parseHardAction(" readonly "), "readonly");
  for (const bad of ["Lock", "read-only", "kill", ""]) {
    assert.throws(() => parseHardAction(bad), /^SyntaxError: hard_action must be lock or readonly/);
  }
  assert.throws(() => parseHardAction("x", "action"), /^SyntaxError: action must be lock or/);
});

Deno.test("enforcement: notify_url takes http(s) URLs without credentials, and never shows them", () => {
  assert.equal(
    parseNotifyUrl("https://Hooks.Example.org:443/q?a=1"),
    "https://hooks.example.org/q?a=1",
  );
  assert.equal(parseNotifyUrl("http://127.0.0.1:8080"), "http://127.0.0.1:8080/");
  assert.equal(parseNotifyUrl("http://[::1]:9/x"), "http://[::1]:9/x");
  const refused: [string, RegExp][] = [
    ["ftp://example.org/", /must start with http:\/\/ or https:\/\/, got "ftp:"/],
    ["file:///etc/passwd", /must start with http:\/\/ or https:\/\//],
    [
      "example.org/hook",
      /must be an absolute http:\/\/ or https:\/\/ URL, got "example.org\/hook"/,
    ],
    ["https://user:s3cret@example.org/", /must not hold a user name or password/],
    ["https://token@example.org/", /must not hold a user name or password/],
    ["https://example.org/#frag", /must not have a #fragment/],
    ["https://example.org/\u0085", /must not hold control characters \(U\+0085\)/],
    [`https://example.org/${"a".repeat(2048)}`, /must be at most 2048 characters/],
    ["http://", /must be an absolute http/],
  ];
  for (const [url, expected] of refused) {
    assert.throws(() => parseNotifyUrl(url), (e: unknown) => {
      assert.ok(e instanceof SyntaxError, String(e));
      assert.match(e.message, expected);
      assert.doesNotMatch(e.message, /s3cret/);
      return true;
    }, url);
  }
  // A malformed URL holding "@" is not quoted (the part before it may be a password).
  assert.throws(() => parseNotifyUrl("http://us:pa ss@[bad/"), (e: unknown) => {
    assert.ok(e instanceof SyntaxError);
    assert.doesNotMatch(e.message, /pa ss/);
    assert.match(e.message, /not shown/);
    return true;
  });
});
