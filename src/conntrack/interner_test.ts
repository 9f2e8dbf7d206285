import assert from "node:assert/strict";
import { ByteInterner } from "./interner.ts";

const enc = new TextEncoder();

Deno.test("interner: the same bytes give the same string object, decoded like TextDecoder", () => {
  const names = new ByteInterner();
  const buf = enc.encode("xx alice bob alice é\u00e9 ");
  const raw = new Uint8Array([...buf, 0xff, 0xc3, 0x41, 0x20]);
  const a1 = names.get(raw, 3, 8);
  const b = names.get(raw, 9, 12);
  const a2 = names.get(raw, 13, 18);
  assert.equal(a1, "alice");
  assert.equal(b, "bob");
  assert.ok(Object.is(a1, a2));
  const utf8Start = buf.indexOf(0xc3);
  assert.equal(names.get(raw, utf8Start, utf8Start + 4), "éé");
  // Invalid UTF-8 decodes exactly as TextDecoder does (replacement characters).
  const bad = raw.subarray(buf.length, buf.length + 3);
  assert.equal(names.get(raw, buf.length, buf.length + 3), new TextDecoder().decode(bad));
  // A prefix is another key, and so is the empty range.
  assert.equal(names.get(raw, 3, 7), "alic");
  assert.equal(names.get(raw, 3, 3), "");
});

Deno.test("interner: stays correct and bounded past its capacity and for long keys", () => {
  const names = new ByteInterner();
  const count = ByteInterner.MAX_ENTRIES * 2 + 17;
  const keys = Array.from({ length: count }, (_, i) => enc.encode(`user${i}@host${i % 97}`));
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < count; i++) {
      assert.equal(names.get(keys[i], 0, keys[i].length), `user${i}@host${i % 97}`);
    }
  }
  const long = enc.encode("n".repeat(ByteInterner.MAX_KEY + 1));
  assert.equal(names.get(long, 0, long.length), "n".repeat(ByteInterner.MAX_KEY + 1));
  // Keys that fill the byte arena rather than the table.
  const wide = Array.from({ length: 4000 }, (_, i) => enc.encode(`${i}:${"w".repeat(500)}`));
  for (const k of wide) assert.equal(names.get(k, 0, k.length), new TextDecoder().decode(k));
});
