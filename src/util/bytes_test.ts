import assert from "node:assert/strict";
import { formatBytes } from "./bytes.ts";

Deno.test("bytes: compact by default, spaced and fixed for progress lines", () => {
  assert.equal(formatBytes(512), "512B");
  assert.equal(formatBytes(1536), "1.5KiB");
  assert.equal(formatBytes(2 * 1024 ** 3), "2GiB");
  assert.equal(formatBytes(500 * 1024 ** 2), "500MiB");
  assert.equal(formatBytes(0, { spaced: true, fixed: true }), "0 B");
  assert.equal(formatBytes(1536, { spaced: true, fixed: true }), "1.5 KiB");
  assert.equal(formatBytes(3 * 1024 ** 3, { spaced: true, fixed: true }), "3.0 GiB");
  assert.equal(formatBytes(1024 ** 6), "1024PiB");
});
