import assert from "node:assert/strict";
import { type ByteOps, jsByteOps, WasmByteOps } from "./byte_ops.ts";

const enc = new TextEncoder();

/** Each marker with its line's bounds and the previous line's start, as `hit` hears them. */
function hits(ops: ByteOps, buf: Uint8Array, from: number, to: number): number[][] {
  const out: number[][] = [];
  ops.markers(buf, from, to, (i, start, end, prev) => out.push([i, start, end, prev]));
  return out;
}

Deno.test("byte ops: markers at every offset of a 32-byte round and across round edges", () => {
  const wasm = new WasmByteOps(1 << 12);
  const filler = enc.encode("xxT,xR,x,T,NEC,\nUSE,NECTUSER ");
  for (let shift = 0; shift < 70; shift++) {
    wasm.buffer.fill(0);
    for (let i = 0; i < 400; i++) wasm.buffer[i] = filler[(i + shift) % filler.length];
    for (
      const [at, word] of [[shift, "NECT,"], [shift + 31, "USER,"], [shift + 64, "NECT,"]] as const
    ) {
      wasm.buffer.set(enc.encode(word), at);
    }
    for (const [from, to] of [[0, 400], [shift, shift + 69], [1, shift + 5]]) {
      assert.deepEqual(
        hits(wasm, wasm.buffer, from, to),
        hits(jsByteOps, wasm.buffer, from, to),
        `shift ${shift}, [${from}, ${to})`,
      );
    }
  }
});

Deno.test("byte ops: more markers than one call returns (resumed after the last)", () => {
  const text = enc.encode("NECT,USER,\nNECT,".repeat(20_000));
  const wasm = new WasmByteOps(text.length + 16);
  wasm.buffer.set(text);
  const got = hits(wasm, wasm.buffer, 0, text.length);
  assert.equal(got.length, 60_000);
  assert.deepEqual(got.slice(0, 4), [[0, 0, 10, 0], [5, 0, 10, 0], [11, 11, 26, 0], [
    16,
    11,
    26,
    0,
  ]]);
  assert.deepEqual(got[5], [27, 27, 42, 11]);
  assert.deepEqual(got, hits(jsByteOps, wasm.buffer, 0, text.length));
});

Deno.test("byte ops: line bounds and the previous line's start, for lines of every length around 16 and 32 bytes", () => {
  const wasm = new WasmByteOps(1 << 14);
  let seed = 7;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
  for (let round = 0; round < 300; round++) {
    const n = 64 + rand(4000);
    const buf = wasm.buffer;
    buf.fill(0);
    // Lines of 0 to 70 bytes, a marker in some; a newline may also sit at 0 or at n - 1.
    for (let i = 0; i < n; i++) buf[i] = 97 + rand(26);
    for (let i = rand(3) === 0 ? 0 : rand(70); i < n; i += 1 + rand(70)) buf[i] = 10;
    for (let k = 0; k < 1 + rand(30); k++) {
      const at = rand(n - 5);
      buf.set(enc.encode(rand(2) ? "NECT," : "USER,"), at);
    }
    for (const [from, to] of [[0, n], [rand(n), n], [0, 5 + rand(n - 5)]]) {
      assert.deepEqual(
        hits(wasm, buf, from, to),
        hits(jsByteOps, buf, from, to),
        `round ${round}, [${from}, ${to})`,
      );
    }
  }
});
