/**
 * Strings for byte ranges, decoded once: a log names the same few thousand accounts and hosts
 * again and again, so decoding each occurrence (and hashing each new string in the maps that
 * aggregate logins) costs more than looking the bytes up. Handing out the same string object
 * for the same bytes also makes those map lookups cheap.
 * @module
 */

const decoder = new TextDecoder();

/**
 * A bounded cache from byte sequences to their UTF-8 decoding (open addressing, FNV-1a). It
 * is only a cache: when it holds {@link ByteInterner.MAX_ENTRIES} strings or
 * {@link ByteInterner.MAX_BYTES} bytes (a log full of distinct hostile names) it starts over,
 * so memory stays bounded whatever the input.
 */
export class ByteInterner {
  /** Entries kept before the cache starts over. */
  static readonly MAX_ENTRIES = 1 << 15;
  /** Key bytes kept before the cache starts over. */
  static readonly MAX_BYTES = 1 << 20;
  /** Byte sequences longer than this are decoded without caching. */
  static readonly MAX_KEY = 512;

  #mask = (ByteInterner.MAX_ENTRIES << 1) - 1;
  /** Per slot: offset of the key in #arena plus 1 (0 = empty slot). */
  #at = new Int32Array(ByteInterner.MAX_ENTRIES << 1);
  #len = new Int32Array(ByteInterner.MAX_ENTRIES << 1);
  #str: string[] = new Array(ByteInterner.MAX_ENTRIES << 1);
  #arena = new Uint8Array(ByteInterner.MAX_BYTES);
  #used = 0;
  #count = 0;

  /** The string for buf[a, b), decoded as UTF-8 (invalid bytes become U+FFFD). */
  get(buf: Uint8Array, a: number, b: number): string {
    const n = b - a;
    if (n > ByteInterner.MAX_KEY) return decoder.decode(buf.subarray(a, b));
    let h = 0x811c9dc5 ^ n;
    for (let i = a; i < b; i++) h = Math.imul(h ^ buf[i], 0x01000193);
    const mask = this.#mask;
    const arena = this.#arena;
    for (let slot = h & mask;; slot = (slot + 1) & mask) {
      const at = this.#at[slot] - 1;
      if (at < 0) break;
      if (this.#len[slot] !== n) continue;
      let k = 0;
      while (k < n && arena[at + k] === buf[a + k]) k++;
      if (k === n) return this.#str[slot];
    }
    const text = decodeBytes(buf, a, b);
    if (this.#count >= ByteInterner.MAX_ENTRIES || this.#used + n > arena.length) this.clear();
    let slot = h & mask;
    while (this.#at[slot] !== 0) slot = (slot + 1) & mask;
    arena.set(buf.subarray(a, b), this.#used);
    this.#at[slot] = this.#used + 1;
    this.#len[slot] = n;
    this.#str[slot] = text;
    this.#used += n;
    this.#count++;
    return text;
  }

  /** Forgets every entry. */
  clear(): void {
    this.#at.fill(0);
    this.#str.fill("");
    this.#used = 0;
    this.#count = 0;
  }
}

/** buf[a, b) as a string: one-byte characters directly when ASCII, else UTF-8 decoded. */
function decodeBytes(buf: Uint8Array, a: number, b: number): string {
  for (let i = a; i < b; i++) if (buf[i] > 127) return decoder.decode(buf.subarray(a, b));
  return String.fromCharCode.apply(null, buf.subarray(a, b) as unknown as number[]);
}
