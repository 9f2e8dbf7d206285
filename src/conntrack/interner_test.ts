import assert from "node:assert/strict";
import { BytesCache, IdTable } from "./interner.ts";

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

Deno.test("interner: IdTable holds what a Map holds through sets, replacements and deletes", () => {
  const table = new IdTable<{ id: number }>();
  const map = new Map<number, { id: number }>();
  let seed = 7;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  // Ids from a small range (many collisions and replacements) and from far apart (2^53 - 1).
  const ids = (k: number) => k % 3 === 0 ? Number.MAX_SAFE_INTEGER - k : k % 500;
  for (let step = 0; step < 20_000; step++) {
    const id = ids(next() % 2000);
    const op = next() % 3;
    if (op < 2) {
      const v = { id };
      table.set(id, v);
      map.set(id, v);
    } else {
      const held = map.get(id);
      // Only the value held is deleted; another object under the same id is not.
      assert.equal(table.deleteIf(id, { id }), false);
      assert.equal(table.deleteIf(id, held!), held !== undefined);
      map.delete(id);
    }
    assert.equal(table.size, map.size);
  }
  for (let k = 0; k < 2000; k++) assert.equal(table.get(ids(k)), map.get(ids(k)));
  for (const [id, v] of map) assert.equal(table.deleteIf(id, v), true);
  assert.equal(table.size, 0);
  assert.equal(table.get(1), undefined);
});
