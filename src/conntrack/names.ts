/**
 * Byte-exact names: usernames and hosts from the audit log are bytes, usually UTF-8 but not
 * always (a client may send anything). They travel through the program as strings in which
 * valid UTF-8 is decoded normally and every byte of an invalid sequence becomes the lone
 * surrogate U+DC80–U+DCFF (the "surrogateescape" scheme). Valid UTF-8 never decodes to a lone
 * surrogate, so the mapping is reversible: two different byte strings never give the same
 * string, and {@link nameBytes} gives the original bytes back.
 *
 * In SQLite a name is stored as TEXT holding exactly the logged bytes, as the Go conntracker
 * stores it (its strings are bytes): `CAST(? AS TEXT)` with the bytes bound as a blob when the
 * name is not valid UTF-8 ({@link sqlName}), and read back with `CAST(name AS BLOB)`
 * ({@link nameFromSql}). Names that are valid UTF-8 (all real account names) are plain text.
 * @module
 */

const encoder = new TextEncoder();

/** Decodes buf[a, b) as UTF-8, each byte of an invalid sequence as U+DC80–U+DCFF. */
export function decodeName(buf: Uint8Array, a: number, b: number): string {
  let ascii = true;
  for (let i = a; i < b; i++) {
    if (buf[i] > 127) {
      ascii = false;
      break;
    }
  }
  if (ascii) return byteString(buf, a, b);
  let out = "";
  let i = a;
  while (i < b) {
    const c = buf[i];
    if (c < 0x80) {
      out += String.fromCharCode(c);
      i++;
      continue;
    }
    const n = sequenceLength(buf, i, b);
    if (n === 0) {
      out += String.fromCharCode(0xdc00 + c);
      i++;
      continue;
    }
    let cp = n === 2 ? c & 0x1f : n === 3 ? c & 0x0f : c & 0x07;
    for (let k = 1; k < n; k++) cp = (cp << 6) | (buf[i + k] & 0x3f);
    out += String.fromCodePoint(cp);
    i += n;
  }
  return out;
}

/**
 * buf[a, b) as a string of one character per byte (Latin-1), in slices small enough for
 * `String.fromCharCode` (a garbage line can be a megabyte long).
 */
export function byteString(buf: Uint8Array, a: number, b: number): string {
  let out = "";
  for (let i = a; i < b; i += 8192) {
    const sub = buf.subarray(i, Math.min(b, i + 8192));
    out += String.fromCharCode.apply(null, sub as unknown as number[]);
  }
  return out;
}

/**
 * Length of the well-formed UTF-8 sequence at buf[i] (2–4), or 0 when it is not one (Unicode
 * table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF).
 */
function sequenceLength(buf: Uint8Array, i: number, end: number): number {
  const c = buf[i];
  const cont = (k: number, lo = 0x80, hi = 0xbf) =>
    i + k < end && buf[i + k] >= lo && buf[i + k] <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

const ESCAPED = /[\udc80-\udcff]/;

/** True when `name` holds bytes that are not valid UTF-8 (escaped by {@link decodeName}). */
export function hasRawBytes(name: string): boolean {
  return ESCAPED.test(name);
}

/** The bytes a name string stands for (the inverse of {@link decodeName}). */
export function nameBytes(name: string): Uint8Array {
  if (!hasRawBytes(name)) return encoder.encode(name);
  const parts: number[] = [];
  for (const ch of name) {
    const code = ch.codePointAt(0)!;
    if (code >= 0xdc80 && code <= 0xdcff) parts.push(code - 0xdc00);
    else parts.push(...encoder.encode(ch));
  }
  return Uint8Array.from(parts);
}

/**
 * The value to bind for a name in `CAST(? AS TEXT)`: the string itself when it is valid
 * UTF-8, otherwise its bytes (so SQLite stores the exact bytes as TEXT).
 */
export function sqlName(name: string): string | Uint8Array {
  return hasRawBytes(name) ? nameBytes(name) : name;
}

/** A name read with `CAST(column AS BLOB)` (or as text), back to its string form. */
export function nameFromSql(value: unknown): string {
  if (value instanceof Uint8Array) return decodeName(value, 0, value.length);
  return value === null || value === undefined ? "" : String(value);
}

/** True when buf[a, b) holds a control byte (C0 or DEL). */
export function hasControlByte(buf: Uint8Array, a: number, b: number): boolean {
  for (let i = a; i < b; i++) {
    const c = buf[i];
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
