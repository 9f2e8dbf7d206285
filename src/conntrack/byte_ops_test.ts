import assert from "node:assert/strict";
import { type ByteOps, jsByteOps, WasmByteOps } from "./byte_ops.ts";

const enc = new TextEncoder();

/** Each marker with its line's bounds, as `hit` hears them. */
function hits(ops: ByteOps, buf: Uint8Array, from: number, to: number): number[][] {
  const out: number[][] = [];
  ops.markers(buf, from, to, (i, start, end) => out.push([i, start, end]));
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
  assert.deepEqual(got.slice(0, 4), [[0, 0, 10], [5, 0, 10], [11, 11, 26], [16, 11, 26]]);
  assert.deepEqual(got, hits(jsByteOps, wasm.buffer, 0, text.length));
});
