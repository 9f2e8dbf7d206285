/**
 * Values made from byte ranges, made once: a log names the same few thousand accounts and hosts
 * again and again, so decoding each occurrence (and hashing each new string in the maps that
 * aggregate logins) costs more than looking the bytes up.
 * @module
 */

/**
 * A bounded cache from byte sequences (plus a small integer tag) to values made from them (open
 * addressing, FNV-1a). It is only a cache: when it holds {@link BytesCache.MAX_ENTRIES} values or
 * {@link BytesCache.MAX_BYTES} bytes of keys (a log full of distinct hostile names) it starts
 * over, so memory stays bounded whatever the input.
 */
export class BytesCache<V> {
  /** Entries kept before the cache starts over. */
  static readonly MAX_ENTRIES = 1 << 14;
  /** Key bytes kept before the cache starts over. */
  static readonly MAX_BYTES = 1 << 20;
  /** Keys longer than this are never cached. */
  static readonly MAX_KEY = 512;

  /**
   * Slots in use now, minus 1: the table starts small and doubles as entries come (up to twice
   * MAX_ENTRIES), so that a log with a few thousand accounts probes a table that stays in the
   * CPU's cache rather than one spread over half a megabyte.
   */
  #mask = FIRST_SLOTS - 1;
  /**
   * Four integers per slot, in one cache line: offset of the key in #arena plus 1 (0 = empty
   * slot), key length, tag, hash.
   */
  #slots = new Int32Array(FIRST_SLOTS << 2);
  #values: (V | undefined)[] = new Array(FIRST_SLOTS).fill(undefined);
  #arena = new Uint8Array(BytesCache.MAX_BYTES);
  #used = 0;
  #count = 0;

  /** The value stored for buf[a, b) and `tag`, if any. */
  find(buf: Uint8Array, a: number, b: number, tag: number): V | undefined {
    const n = b - a;
    if (n > BytesCache.MAX_KEY) return undefined;
    const mask = this.#mask;
    const slots = this.#slots;
    const arena = this.#arena;
    const h = hash(buf, a, b, tag);
    for (let slot = h & mask;; slot = (slot + 1) & mask) {
      const at = slots[slot << 2] - 1;
      if (at < 0) return undefined;
      const s = slot << 2;
      if (slots[s + 3] !== h || slots[s + 1] !== n || slots[s + 2] !== tag) continue;
      let k = 0;
      while (k < n && arena[at + k] === buf[a + k]) k++;
      if (k === n) return this.#values[slot];
    }
  }

  /** Stores `value` for buf[a, b) and `tag` (not found before); returns it. */
  add(buf: Uint8Array, a: number, b: number, tag: number, value: V): V {
    const n = b - a;
    if (n > BytesCache.MAX_KEY) return value;
    const arena = this.#arena;
    if (this.#count >= BytesCache.MAX_ENTRIES || this.#used + n > arena.length) this.clear();
    else if (2 * (this.#count + 1) > this.#mask + 1) this.#grow();
    const h = hash(buf, a, b, tag);
    let slot = h & this.#mask;
    while (this.#slots[slot << 2] !== 0) slot = (slot + 1) & this.#mask;
    arena.set(buf.subarray(a, b), this.#used);
    const s = slot << 2;
    this.#slots[s] = this.#used + 1;
    this.#slots[s + 1] = n;
    this.#slots[s + 2] = tag;
    this.#slots[s + 3] = h;
    this.#values[slot] = value;
    this.#used += n;
    this.#count++;
    return value;
  }

  /** Doubles the table, putting every entry in its slot of the larger one (by its hash). */
  #grow(): void {
    const oldSlots = this.#slots;
    const oldValues = this.#values;
    const size = (this.#mask + 1) << 1;
    const mask = size - 1;
    const slots = new Int32Array(size << 2);
    const values: (V | undefined)[] = new Array(size).fill(undefined);
    for (let old = 0; old < oldValues.length; old++) {
      const o = old << 2;
      if (oldSlots[o] === 0) continue;
      let slot = oldSlots[o + 3] & mask;
      while (slots[slot << 2] !== 0) slot = (slot + 1) & mask;
      slots.set(oldSlots.subarray(o, o + 4), slot << 2);
      values[slot] = oldValues[old];
    }
    this.#slots = slots;
    this.#values = values;
    this.#mask = mask;
  }

  /** Forgets every entry. */
  clear(): void {
    this.#slots.fill(0);
    this.#values.fill(undefined);
    this.#used = 0;
    this.#count = 0;
  }
}

/** Slots of a new {@link BytesCache}. */
const FIRST_SLOTS = 1 << 10;

function hash(buf: Uint8Array, a: number, b: number, tag: number): number {
  let h = 0x811c9dc5 ^ tag;
  for (let i = a; i < b; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return h ^ (h >>> 15);
}

/**
 * A map from non-negative integer ids (below 2^53) to values, for ids that come and go all the
 * time (the parser's connection id claims): open addressing with linear probing and
 * backward-shift deletion, so that a delete leaves no tombstone and neither a set nor a delete
 * allocates once the table is big enough (a `Map` rebuilds its table as deleted entries pile
 * up). The multiplier is chosen at random per table, so that ids chosen by a client cannot be
 * made to collide on purpose.
 */
export class IdTable<V> {
  #keys = new Float64Array(64);
  #values: (V | undefined)[] = new Array(64).fill(undefined);
  #shift = 32 - 6;
  #mult = (crypto.getRandomValues(new Uint32Array(1))[0] | 1) >>> 0;
  /** Number of ids held. */
  size = 0;

  #slot(id: number): number {
    const mixed = (id >>> 0) ^ Math.imul((id / 4294967296) >>> 0, 0x85ebca6b);
    return Math.imul(mixed, this.#mult) >>> this.#shift;
  }

  /** The value held for `id`, if any. */
  get(id: number): V | undefined {
    const keys = this.#keys;
    const mask = keys.length - 1;
    for (let i = this.#slot(id);; i = (i + 1) & mask) {
      const v = this.#values[i];
      if (v === undefined) return undefined;
      if (keys[i] === id) return v;
    }
  }

  /** Holds `value` (not undefined) for `id`, replacing what was held. */
  set(id: number, value: V): void {
    if (2 * (this.size + 1) > this.#keys.length) this.#grow();
    const keys = this.#keys;
    const mask = keys.length - 1;
    let i = this.#slot(id);
    while (this.#values[i] !== undefined && keys[i] !== id) i = (i + 1) & mask;
    if (this.#values[i] === undefined) this.size++;
    keys[i] = id;
    this.#values[i] = value;
  }

  /** Forgets `id` when it holds `value` (identity); true when it did. */
  deleteIf(id: number, value: V): boolean {
    const keys = this.#keys;
    const values = this.#values;
    const mask = keys.length - 1;
    let i = this.#slot(id);
    for (;; i = (i + 1) & mask) {
      const v = values[i];
      if (v === undefined) return false;
      if (keys[i] === id) {
        if (v !== value) return false;
        break;
      }
    }
    // Backward shift: move later entries of the probe run into the gap when their home slot
    // allows it, so that every entry stays reachable from its home slot.
    let gap = i;
    for (let j = (i + 1) & mask; values[j] !== undefined; j = (j + 1) & mask) {
      const home = this.#slot(keys[j]);
      if (((j - home) & mask) >= ((j - gap) & mask)) {
        keys[gap] = keys[j];
        values[gap] = values[j];
        gap = j;
      }
    }
    values[gap] = undefined;
    this.size--;
    return true;
  }

  #grow(): void {
    const oldKeys = this.#keys;
    const oldValues = this.#values;
    const n = oldKeys.length * 2;
    this.#keys = new Float64Array(n);
    this.#values = new Array(n).fill(undefined);
    this.#shift--;
    this.size = 0;
    for (let i = 0; i < oldKeys.length; i++) {
      const v = oldValues[i];
      if (v !== undefined) this.set(oldKeys[i], v);
    }
  }
}
