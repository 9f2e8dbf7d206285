import assert from "node:assert/strict";
import { LruMap } from "./lru.ts";

Deno.test("lru: evicts the least recently used entry, reads count as use", () => {
  const lru = new LruMap<string, number>(3);
  lru.set("a", 1);
  lru.set("b", 2);
  lru.set("c", 3);
  assert.equal(lru.get("a"), 1); // a is now the most recent
  assert.deepEqual(lru.set("d", 4), ["b", 2]);
  assert.equal(lru.get("b"), undefined);
  assert.deepEqual(lru.entries().map(([k]) => k), ["c", "a", "d"]);
  lru.set("c", 30); // update refreshes too
  assert.deepEqual(lru.set("e", 5), ["a", 1]);
  assert.equal(lru.size, 3);
  assert.equal(lru.get("c"), 30);
});

Deno.test("lru: holds 1,000+ entries and rejects a bad capacity", () => {
  const lru = new LruMap<number, number>(1500);
  for (let i = 0; i < 2000; i++) lru.set(i, i);
  assert.equal(lru.size, 1500);
  assert.equal(lru.get(499), undefined);
  assert.equal(lru.get(500), 500);
  assert.throws(() => new LruMap(0), TypeError);
});
