/**
 * The two byte-level primitives the audit parser needs, in two implementations:
 * {@link wasmByteOps} (WebAssembly SIMD, byte_scan.wat, over its own memory) for reading files,
 * and {@link jsByteOps} (plain TypedArray code, any buffer) as the reference for tests.
 * @module
 */
import { BYTE_SCAN_WASM_BASE64 } from "./byte_scan_wasm.ts";

/** Marker search and newline counting over a byte buffer. */
export interface ByteOps {
  /** Calls `hit(i)`, in order, for each i in [from, to - 5] where "NECT," or "USER," starts. */
  markers(buf: Uint8Array, from: number, to: number, hit: (i: number) => void): void;
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
      if ((c === N || c === U) && isMarker(buf, i)) hit(i);
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
}

/** The WebAssembly implementation with a buffer of its own (see {@link WasmByteOps.buffer}). */
export class WasmByteOps implements ByteOps {
  /** A view on the module's memory: callers read data into it and pass it back. */
  readonly buffer: Uint8Array;
  #exports: ByteScanExports;
  #hits: Int32Array;
  #out: number;
  static readonly #MAX_HITS = 16384;

  /** Allocates `capacity` bytes of buffer (plus room for results). */
  constructor(capacity: number) {
    const bytes = Uint8Array.from(atob(BYTE_SCAN_WASM_BASE64), (c) => c.charCodeAt(0));
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
    this.#exports = instance.exports as unknown as ByteScanExports;
    const memory = this.#exports.memory;
    this.#out = (capacity + 63) & ~15;
    const need = this.#out + WasmByteOps.#MAX_HITS * 4;
    if (memory.buffer.byteLength < need) {
      memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
    }
    this.buffer = new Uint8Array(memory.buffer, 0, capacity);
    this.#hits = new Int32Array(memory.buffer, this.#out, WasmByteOps.#MAX_HITS);
  }

  markers(buf: Uint8Array, from: number, to: number, hit: (i: number) => void): void {
    if (buf.buffer !== this.buffer.buffer || buf.byteOffset !== 0) {
      return jsByteOps.markers(buf, from, to, hit);
    }
    const max = WasmByteOps.#MAX_HITS;
    while (from < to) {
      const k = this.#exports.find_markers(from, to - from, this.#out, max);
      for (let j = 0; j < k; j++) hit(this.#hits[j]);
      if (k < max) return;
      from = this.#hits[k - 1] + 1;
    }
  }

  newlines(buf: Uint8Array, from: number, to: number): number {
    if (buf.buffer !== this.buffer.buffer || buf.byteOffset !== 0) {
      return jsByteOps.newlines(buf, from, to);
    }
    return to > from ? this.#exports.count_newlines(from, to - from) : 0;
  }
}
