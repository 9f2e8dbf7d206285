/**
 * The two byte-level primitives the audit parser needs, in two implementations:
 * {@link wasmByteOps} (WebAssembly SIMD, byte_scan.wat, over its own memory) for reading files,
 * and {@link jsByteOps} (plain TypedArray code, any buffer) as the reference for tests.
 * @module
 */
import { BYTE_SCAN_WASM_BASE64 } from "./byte_scan_wasm.ts";

/**
 * Called for a marker at `i` in the line buf[start, end): `start` follows the previous newline
 * (or is 0), `end` is the next newline at or after `i`, or the search's `to`.
 */
export type MarkerHit = (i: number, start: number, end: number, prev: number) => void;

/** Marker search and newline counting over a byte buffer. */
export interface ByteOps {
  /**
   * Calls `hit`, in order, for each i in [from, to - 5] where "NECT," or "USER," starts, with
   * the start of its line, the line's end (its newline, or `to`) and the start of the line
   * before (0 when there is none).
   */
  markers(buf: Uint8Array, from: number, to: number, hit: MarkerHit): void;
  /** Number of newline bytes in buf[from, to). */
  newlines(buf: Uint8Array, from: number, to: number): number;
}

const N = 78, U = 85;

function isMarker(buf: Uint8Array, i: number): boolean {
  if (buf[i + 4] !== 44 || buf[i + 3] !== (buf[i] === N ? 84 : 82)) return false;
  return buf[i] === N
    ? buf[i + 1] === 69 && buf[i + 2] === 67 // NECT
    : buf[i] === U && buf[i + 1] === 83 && buf[i + 2] === 69; // USER
}

/** Straightforward implementation on any Uint8Array. */
export const jsByteOps: ByteOps = {
  markers(buf, from, to, hit) {
    for (let i = from; i + 5 <= to; i++) {
      const c = buf[i];
      if ((c === N || c === U) && isMarker(buf, i)) {
        const end = buf.indexOf(10, i);
        const start = buf.lastIndexOf(10, i) + 1;
        hit(
          i,
          start,
          end < 0 || end >= to ? to : end,
          start >= 2 ? buf.lastIndexOf(10, start - 2) + 1 : 0,
        );
      }
    }
  },
  newlines(buf, from, to) {
    let n = 0;
    for (let i = buf.indexOf(10, from); i >= 0 && i < to; i = buf.indexOf(10, i + 1)) n++;
    return n;
  },
};

interface ByteScanExports {
  memory: WebAssembly.Memory;
  count_newlines(p: number, n: number): number;
  find_markers(p: number, n: number, out: number, max: number): number;
  line_bounds(
    hits: number,
    k: number,
    end: number,
    starts: number,
    ends: number,
    prevs: number,
  ): void;
}

/** The WebAssembly implementation with a buffer of its own (see {@link WasmByteOps.buffer}). */
export class WasmByteOps implements ByteOps {
  /** A view on the module's memory: callers read data into it and pass it back. */
  readonly buffer: Uint8Array;
  #exports: ByteScanExports;
  #hits: Int32Array;
  #starts: Int32Array;
  #ends: Int32Array;
  #prevs: Int32Array;
  #out: number;
  static readonly #MAX_HITS = 16384;

  /** Allocates `capacity` bytes of buffer (plus room for results). */
  constructor(capacity: number) {
    const bytes = Uint8Array.from(atob(BYTE_SCAN_WASM_BASE64), (c) => c.charCodeAt(0));
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
    this.#exports = instance.exports as unknown as ByteScanExports;
    const memory = this.#exports.memory;
    this.#out = (capacity + 63) & ~15;
    const need = this.#out + WasmByteOps.#MAX_HITS * 16;
    if (memory.buffer.byteLength < need) {
      memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
    }
    this.buffer = new Uint8Array(memory.buffer, 0, capacity);
    const max = WasmByteOps.#MAX_HITS;
    this.#hits = new Int32Array(memory.buffer, this.#out, max);
    this.#starts = new Int32Array(memory.buffer, this.#out + 4 * max, max);
    this.#ends = new Int32Array(memory.buffer, this.#out + 8 * max, max);
    this.#prevs = new Int32Array(memory.buffer, this.#out + 12 * max, max);
  }

  markers(buf: Uint8Array, from: number, to: number, hit: MarkerHit): void {
    if (buf.buffer !== this.buffer.buffer || buf.byteOffset !== 0) {
      return jsByteOps.markers(buf, from, to, hit);
    }
    const max = WasmByteOps.#MAX_HITS;
    const out = this.#out;
    while (from < to) {
      const k = this.#exports.find_markers(from, to - from, out, max);
      this.#exports.line_bounds(out, k, to, out + 4 * max, out + 8 * max, out + 12 * max);
      const hits = this.#hits;
      const starts = this.#starts;
      const ends = this.#ends;
      const prevs = this.#prevs;
      for (let j = 0; j < k; j++) hit(hits[j], starts[j], ends[j], prevs[j]);
      if (k < max) return;
      from = hits[k - 1] + 1;
    }
  }

  newlines(buf: Uint8Array, from: number, to: number): number {
    if (buf.buffer !== this.buffer.buffer || buf.byteOffset !== 0) {
      return jsByteOps.newlines(buf, from, to);
    }
    return to > from ? this.#exports.count_newlines(from, to - from) : 0;
  }
}
