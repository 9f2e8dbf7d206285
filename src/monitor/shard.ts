/**
 * Shard selection: a daemon started with `-s N -t M` owns exactly the users whose
 * FNV-1a 32-bit hash of the UTF-8 user name, modulo M, equals N. The hash is stable across
 * versions and machines, so shards sharing one configuration split the users disjointly and
 * completely.
 * @module
 */

const encoder = new TextEncoder();

/** FNV-1a, 32 bit, over the UTF-8 bytes of `text`. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of encoder.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The shard (0 ≤ result < shards) that owns `user`. */
export function shardOf(user: string, shards: number): number {
  return fnv1a32(user) % shards;
}
