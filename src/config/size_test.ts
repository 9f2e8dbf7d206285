import assert from "node:assert/strict";
import { formatSize, parseSize } from "./size.ts";

Deno.test("size: bytes and binary suffixes with optional B, any case", () => {
  assert.equal(parseSize("1024"), 1024);
  assert.equal(parseSize("1B"), 1);
  assert.equal(parseSize("1k"), 1024);
  assert.equal(parseSize("1KB"), 1024);
  assert.equal(parseSize("1KiB"), 1024);
  assert.equal(parseSize("500MB"), 500 * 1024 ** 2);
  assert.equal(parseSize("2G"), 2 * 1024 ** 3);
  assert.equal(parseSize("1TB"), 1024 ** 4);
  assert.equal(parseSize(" 3gb "), 3 * 1024 ** 3);
  assert.equal(parseSize("1.5GB"), 1610612736);
  assert.equal(parseSize("0.5K"), 512);
});

Deno.test("size: zero, negative, garbage and overflow are refused", () => {
  for (
    const [text, message] of [
      ["0", /zero/],
      ["0MB", /zero/],
      ["0.0001K", /zero/],
      ["-5MB", /negative/],
      ["", /not a size/],
      ["MB", /not a size/],
      ["5 PB", /not a size/],
      ["5XB", /not a size/],
      ["1e3", /not a size/],
      ["0x10", /not a size/],
      ["5MB5", /not a size/],
      ["9999999T", /too large/],
      ["99999999999999999999", /too large/],
    ] as const
  ) {
    assert.throws(
      () => parseSize(text),
      (e: Error) => e instanceof SyntaxError && message.test(e.message),
      text,
    );
  }
});

Deno.test("size: formatting for tables and logs", () => {
  assert.equal(formatSize(512), "512B");
  assert.equal(formatSize(1536), "1.5KiB");
  assert.equal(formatSize(2 * 1024 ** 3), "2GiB");
  assert.equal(formatSize(500 * 1024 ** 2), "500MiB");
});
