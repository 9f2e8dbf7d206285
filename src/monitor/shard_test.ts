import assert from "node:assert/strict";
import { fnv1a32, shardOf } from "./shard.ts";

Deno.test("shard: FNV-1a 32-bit matches the published test vectors", () => {
  assert.equal(fnv1a32(""), 0x811c9dc5);
  assert.equal(fnv1a32("a"), 0xe40c292c);
  assert.equal(fnv1a32("foobar"), 0xbf9cf968);
});

Deno.test("shard: every user lands in exactly one shard, spread over all of them", () => {
  const users = Array.from({ length: 1000 }, (_, i) => `user${i}`);
  const counts = [0, 0, 0, 0];
  for (const u of users) {
    const s = shardOf(u, 4);
    assert.ok(s >= 0 && s < 4);
    counts[s]++;
    assert.equal(shardOf(u, 4), s, "not stable");
  }
  assert.equal(counts.reduce((a, b) => a + b), 1000);
  for (const c of counts) assert.ok(c > 150, `uneven split ${counts}`);
  assert.equal(shardOf("anyone", 1), 0);
});
