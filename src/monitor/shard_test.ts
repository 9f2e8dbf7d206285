import assert from "node:assert/strict";
import { fnv1a32, shardOf } from "./shard.ts";

Deno.test("shard: FNV-1a 32-bit matches the published test vectors", () => {
  assert.equal(fnv1a32(""), 0x811c9dc5);
  assert.equal(fnv1a32("a"), 0xe40c292c);
  assert.equal(fnv1a32("foobar"), 0xbf9cf968);
});

/** FNV-1a 32 written out with BigInt, independent of the module's Math.imul arithmetic. */
function referenceFnv(text: string): bigint {
  let hash = 0x811c9dc5n;
  for (const byte of new TextEncoder().encode(text)) {
    hash = ((hash ^ BigInt(byte)) * 0x01000193n) % 0x1_0000_0000n;
  }
  return hash;
}

// Account names as they occur: short, with digits, separators, multi-byte UTF-8, `_` and `%`.
const NAMES = [
  "alice",
  "bob",
  "carol",
  "dave",
  "eve",
  "o'brien",
  "web_app",
  "web%app",
  "backup-2024",
  "svc.reporting",
  "josé",
  "müller",
  "пользователь",
  "用户",
  "root2",
  ...Array.from({ length: 185 }, (_, i) => `customer${String(i).padStart(4, "0")}`),
];

Deno.test("shard: every name goes to FNV-1a(UTF-8 bytes) mod shards, for 1 to 8 shards", () => {
  for (let shards = 1; shards <= 8; shards++) {
    for (const name of NAMES) {
      assert.equal(BigInt(shardOf(name, shards)), referenceFnv(name) % BigInt(shards), name);
    }
  }
});

Deno.test("shard: the hash spreads real names over every shard (no shard below half its share)", () => {
  for (const shards of [2, 3, 4]) {
    const counts = new Array(shards).fill(0);
    for (const name of NAMES) counts[Number(referenceFnv(name) % BigInt(shards))]++;
    const share = NAMES.length / shards;
    for (const c of counts) assert.ok(c >= share / 2, `uneven split over ${shards}: ${counts}`);
  }
});
