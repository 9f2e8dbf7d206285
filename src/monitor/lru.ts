/**
 * A small least-recently-used map: reading or writing an entry makes it the most recent;
 * inserting beyond the capacity drops the least recently used entry.
 * @module
 */

/** Map with a size bound that evicts the least recently used key. */
export class LruMap<K, V> {
  #map = new Map<K, V>();
  readonly capacity: number;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new TypeError(`LRU capacity must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
  }

  /** Number of entries held. */
  get size(): number {
    return this.#map.size;
  }

  /** The value for `key`, marking it as most recently used. */
  get(key: K): V | undefined {
    if (!this.#map.has(key)) return undefined;
    const value = this.#map.get(key) as V;
    this.#map.delete(key);
    this.#map.set(key, value);
    return value;
  }

  /** Stores `value`; returns the evicted entry when the bound was exceeded. */
  set(key: K, value: V): [K, V] | undefined {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size <= this.capacity) return undefined;
    const [oldKey, oldValue] = this.#map.entries().next().value as [K, V];
    this.#map.delete(oldKey);
    return [oldKey, oldValue];
  }

  /** Removes `key`. */
  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  /** Entries from least to most recently used. */
  entries(): [K, V][] {
    return [...this.#map.entries()];
  }
}
