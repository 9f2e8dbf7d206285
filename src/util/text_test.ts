import assert from "node:assert/strict";
import { escapeExposition, escapeText, hasUnsafeChars, jsonText, quoteValue } from "./text.ts";

Deno.test("escapeText: backslash first, then C0, C1, Cf, separators; printable text untouched", () => {
  assert.equal(escapeText("josé_1 o'brien"), "josé_1 o'brien");
  assert.equal(escapeText("a\\nb"), "a\\\\nb");
  assert.equal(escapeText("a\nb"), "a\\nb");
  assert.notEqual(escapeText("a\\nb"), escapeText("a\nb"));
  assert.equal(escapeText("\x1b[31m"), "\\x1b[31m");
  assert.equal(escapeText("x\u009by"), "x\\x9by");
  assert.equal(escapeText("x\u0085y"), "x\\x85y");
  assert.equal(escapeText("evil\u202Etxt"), "evil\\u{202e}txt");
  assert.equal(escapeText("a\u2028b\u2029c"), "a\\u{2028}b\\u{2029}c");
  assert.equal(escapeText("zero\u200Bwidth\uFEFF"), "zero\\u{200b}width\\u{feff}");
  assert.equal(escapeText("lone\uD800"), "lone\\u{d800}");
  assert.equal(escapeText("\x7f"), "\\x7f");
});

Deno.test("hasUnsafeChars: a backslash alone is not unsafe", () => {
  assert.equal(hasUnsafeChars("a\\b"), false);
  assert.equal(hasUnsafeChars("plain"), false);
  assert.equal(hasUnsafeChars("a\u202Eb"), true);
  assert.equal(hasUnsafeChars("a\u0085b"), true);
});

Deno.test("quoteValue: escaped, cut with the full length, quotes escaped", () => {
  assert.equal(quoteValue('say "hi"'), '"say \\"hi\\""');
  const long = "x".repeat(1_000_000);
  const q = quoteValue(long);
  assert.ok(q.length < 120, q);
  assert.match(q, /^"x{80}…" \(1000000 characters\)$/);
  assert.equal(quoteValue("a\nb"), '"a\\nb"');
});

Deno.test("text: jsonText (report --json): C1 controls, separators and bidi overrides are escaped too", () => {
  const text = jsonText({ name: "a\x1b\x9b\u2028\u202eb" });
  assert.equal(text, '{\n  "name": "a\\u001b\\u009b\\u2028\\u202eb"\n}');
  assert.deepEqual(JSON.parse(text), { name: "a\x1b\x9b\u2028\u202eb" });
});

Deno.test('text: escapeExposition escapes \\ and newline, and " only inside a label value', () => {
  assert.equal(escapeExposition('a\\b"c\nd', true), 'a\\\\b\\"c\\nd');
  assert.equal(escapeExposition('a\\b"c\nd', false), 'a\\\\b"c\\nd');
});
