import assert from "node:assert/strict";
import { BytesCache } from "./interner.ts";

const enc = new TextEncoder();

Deno.test("interner: a value is found again by the same bytes and tag only", () => {
  const cache = new BytesCache<{ n: number }>();
  const buf = enc.encode("xx alice bob alice alic");
  const first = cache.add(buf, 3, 8, 0, { n: 1 });
  assert.equal(cache.find(buf, 3, 8, 0), first);
  assert.equal(cache.find(buf, 13, 18, 0), first, "same bytes elsewhere");
  assert.equal(cache.find(buf, 13, 18, 1), undefined, "another tag");
  assert.equal(cache.find(buf, 3, 7, 0), undefined, "a prefix");
  assert.equal(cache.find(buf, 19, 23, 0), undefined);
  assert.equal(cache.find(buf, 9, 12, 0), undefined);
  const empty = cache.add(buf, 3, 3, 0, { n: 2 });
  assert.equal(cache.find(buf, 5, 5, 0), empty);
});

Deno.test("interner: stays correct and bounded past its capacity and for long keys", () => {
  const cache = new BytesCache<string>();
  const count = BytesCache.MAX_ENTRIES * 2 + 17;
  const keys = Array.from({ length: count }, (_, i) => enc.encode(`user${i}@host${i % 97}`));
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < count; i++) {
      const k = keys[i];
      const found = cache.find(k, 0, k.length, i % 3);
      if (found !== undefined) assert.equal(found, `user${i}@host${i % 97}/${i % 3}`);
      else cache.add(k, 0, k.length, i % 3, `user${i}@host${i % 97}/${i % 3}`);
    }
  }
  // The most recent keys are still there after the cache started over.
  const last = keys[count - 1];
  const want = `user${count - 1}@host${(count - 1) % 97}/${(count - 1) % 3}`;
  assert.equal(cache.find(last, 0, last.length, (count - 1) % 3), want);
  const long = enc.encode("n".repeat(BytesCache.MAX_KEY + 1));
  assert.equal(cache.add(long, 0, long.length, 0, "v"), "v");
  assert.equal(cache.find(long, 0, long.length, 0), undefined, "long keys are not kept");
  // Keys that fill the byte arena rather than the table.
  const wide = Array.from({ length: 4000 }, (_, i) => enc.encode(`${i}:${"w".repeat(500)}`));
  for (const k of wide) cache.add(k, 0, k.length, 0, "w");
  assert.equal(cache.find(wide[3999], 0, wide[3999].length, 0), "w");
});
