import assert from "node:assert/strict";
import { formatBytes, formatProgress, TerminalProgress } from "./progress.ts";

Deno.test("progress: the line shows files, bytes, share and rate", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(1023), "1023 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(3 * 1024 ** 3), "3.0 GiB");
  assert.equal(
    formatProgress({ filesDone: 3, files: 10, bytesDone: 300 * 1024 ** 2, bytes: 1024 ** 3 }, 2000),
    "conntrack: 3/10 files, 300.0 MiB of 1.0 GiB (29%), 150.0 MiB/s",
  );
  assert.equal(
    formatProgress({ filesDone: 0, files: 0, bytesDone: 0, bytes: 0 }, 0),
    "conntrack: 0/0 files, 0 B of 0 B (100%), 0 B/s",
  );
});

Deno.test("progress: nothing in the first second, at most five redraws a second, cleared at the end", () => {
  let t = 0;
  const out: string[] = [];
  const p = new TerminalProgress((s) => out.push(s), () => t);
  const state = { filesDone: 1, files: 2, bytesDone: 1024, bytes: 2048 };
  for (t = 0; t < 1000; t += 50) p.update(state);
  assert.deepEqual(out, []);
  p.clear();
  assert.deepEqual(out, [], "nothing drawn, nothing to clear");
  for (t = 1000; t < 2000; t += 50) p.update(state);
  assert.equal(out.length, 5);
  assert.equal(out[0], "\r\x1b[Kconntrack: 1/2 files, 1.0 KiB of 2.0 KiB (50%), 1.0 KiB/s");
  p.clear();
  assert.equal(out.at(-1), "\r\x1b[K");
});
