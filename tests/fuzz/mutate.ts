/**
 * Byte-level and line-level mutations of a valid input, as a careless editor, a broken copy or
 * an attacker would produce them: flipped bytes, cuts, other line ends, huge lines, control and
 * invisible characters, invalid UTF-8, odd numbers, lines moved, repeated or dropped, and lines
 * from a dictionary of the format's own keys (structure-aware).
 * @module
 */
import type { Rng } from "./rng.ts";

const enc = new TextEncoder();

/** Snippets that have broken parsers before: controls, invisible characters, bad UTF-8. */
export const NASTY: readonly (string | number[])[] = [
  "\u0000",
  "\u0007",
  "\u001b[31m",
  "\u007f",
  "\u0085",
  "\u009b",
  "\u00a0",
  "\u200b",
  "\u202e",
  "\u2028",
  "\u2029",
  "\ufeff",
  "\t",
  "\r",
  "\r\n",
  "\n",
  "\n\r",
  "é",
  "\u{1d54f}",
  "\\",
  '"',
  "'",
  "=",
  ",",
  "@",
  "%",
  "%zz",
  "[",
  "]",
  "#",
  ";",
  "../",
  "//",
  " ",
  [0xff],
  [0xfe],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe2, 0x82],
  [0x80],
];

/** Numbers that are valid somewhere and wrong elsewhere. */
export const ODD_NUMBERS: readonly string[] = [
  "-0",
  "-1",
  "0",
  "00",
  "007",
  "1e3",
  "0x10",
  "1.5",
  "1,5",
  "+1",
  " 1",
  "\u0661\u0662",
  "NaN",
  "Infinity",
  "9".repeat(20),
  "9".repeat(400),
  "4294967296",
  "9007199254740993",
  "1_000",
  "0.0000001",
  ".5",
  "5.",
  "0b11",
  "65536",
  "2147483648",
];

function bytesOf(snippet: string | number[]): Uint8Array {
  return typeof snippet === "string" ? enc.encode(snippet) : Uint8Array.from(snippet);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Splits on LF, keeping the line ends, so that joining gives the input back. */
function lines(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 0x0a) {
      out.push(data.subarray(start, i + 1));
      start = i + 1;
    }
  }
  if (start < data.length) out.push(data.subarray(start));
  return out;
}

/** Largest huge line; the size caps of the readers are far above it, the time bound is not. */
const HUGE = [300, 5_000, 70_000, 1 << 20];

/** One mutation: name and function. */
type Mutation = (rng: Rng, data: Uint8Array, dict: readonly string[]) => Uint8Array;

const MUTATIONS: Record<string, Mutation> = {
  flipBit(rng, d) {
    if (d.length === 0) return d;
    const out = d.slice();
    out[rng.int(d.length)] ^= 1 << rng.int(8);
    return out;
  },
  setByte(rng, d) {
    if (d.length === 0) return d;
    const out = d.slice();
    out[rng.int(d.length)] = rng.pick([
      0,
      9,
      10,
      13,
      0x20,
      0x22,
      0x23,
      0x2c,
      0x3d,
      0x40,
      0x5b,
      0x7f,
      0x80,
      0xc3,
      0xff,
    ]);
    return out;
  },
  insertNasty(rng, d) {
    const at = rng.int(d.length + 1);
    return concat(d.subarray(0, at), bytesOf(rng.pick(NASTY)), d.subarray(at));
  },
  deleteRange(rng, d) {
    const a = rng.int(d.length + 1);
    const b = Math.min(d.length, a + rng.range(1, 64));
    return concat(d.subarray(0, a), d.subarray(b));
  },
  truncate(rng, d) {
    return d.subarray(0, rng.int(d.length + 1));
  },
  duplicateRange(rng, d) {
    const a = rng.int(d.length + 1);
    const piece = d.subarray(a, Math.min(d.length, a + rng.range(1, 200)));
    const at = rng.int(d.length + 1);
    return concat(d.subarray(0, at), piece, d.subarray(at));
  },
  lineEnds(rng, d) {
    const mode = rng.int(4);
    const out: number[] = [];
    for (let i = 0; i < d.length; i++) {
      if (d[i] !== 0x0a) {
        out.push(d[i]);
        continue;
      }
      const m = mode === 3 ? rng.int(3) : mode;
      if (m === 0) out.push(0x0d);
      else if (m === 1) out.push(0x0d, 0x0a);
      else out.push(0x0a);
    }
    if (mode === 3 && rng.chance(0.5) && out[out.length - 1] === 0x0a) out.pop();
    return Uint8Array.from(out);
  },
  hugeLine(rng, d) {
    const size = rng.pick(HUGE);
    const ls = lines(d);
    const filler = rng.pick(["a", "=", ",", "9", "é", "\u0085", " ", "#", "/", "\\"]);
    let line = filler.repeat(Math.ceil(size / enc.encode(filler).length));
    if (ls.length && rng.chance(0.6)) {
      // Stretch an existing line: its key stays, the value grows (or the key does).
      const text = new TextDecoder().decode(ls[rng.int(ls.length)]).replace(/\r?\n$/, "");
      line = rng.chance(0.5) ? text + line : line + text;
    }
    const at = rng.int(ls.length + 1);
    return concat(...ls.slice(0, at), enc.encode(line + "\n"), ...ls.slice(at));
  },
  oddNumber(rng, d) {
    const text = new TextDecoder("latin1").decode(d);
    const runs = [...text.matchAll(/\d+(?:\.\d+)?/g)];
    if (!runs.length) return d;
    const m = rng.pick(runs);
    const i = m.index!;
    return concat(d.subarray(0, i), enc.encode(rng.pick(ODD_NUMBERS)), d.subarray(i + m[0].length));
  },
  moveLines(rng, d) {
    const ls = lines(d);
    if (ls.length < 2) return d;
    const op = rng.int(3);
    const i = rng.int(ls.length);
    if (op === 0) ls.splice(i, 1);
    else if (op === 1) ls.splice(rng.int(ls.length + 1), 0, ls[i]);
    else {
      const j = rng.int(ls.length);
      [ls[i], ls[j]] = [ls[j], ls[i]];
    }
    return concat(...ls);
  },
  dictionaryLine(rng, d, dict) {
    if (!dict.length) return d;
    const ls = lines(d);
    const at = rng.int(ls.length + 1);
    return concat(...ls.slice(0, at), enc.encode(rng.pick(dict) + "\n"), ...ls.slice(at));
  },
  byteOrderMark(rng, d) {
    return concat(enc.encode(rng.chance(0.8) ? "\ufeff" : "\ufeff\ufeff"), d);
  },
  caseChange(rng, d) {
    const out = d.slice();
    const a = rng.int(d.length + 1);
    for (let i = a; i < Math.min(d.length, a + rng.range(1, 12)); i++) {
      const c = out[i];
      if (c >= 0x61 && c <= 0x7a) out[i] = c - 32;
      else if (c >= 0x41 && c <= 0x5a) out[i] = c + 32;
    }
    return out;
  },
};

/** Names of the mutations, for statistics and replay output. */
export const MUTATION_NAMES = Object.keys(MUTATIONS);

/**
 * Applies 1 to `max` random mutations to `data` (a valid input, as bytes) and returns the
 * result with the names of the mutations applied. `dict` holds whole lines of the format
 * (known keys with odd values, section headers) for structure-aware insertions.
 */
export function mutate(
  rng: Rng,
  data: Uint8Array,
  dict: readonly string[] = [],
  max = 4,
): { data: Uint8Array; applied: string[] } {
  const applied: string[] = [];
  let out = data;
  const n = rng.range(1, max);
  for (let k = 0; k < n; k++) {
    // Huge lines are costly: at most one per case.
    let name = rng.pick(MUTATION_NAMES);
    if (name === "hugeLine" && applied.includes(name)) name = "insertNasty";
    out = MUTATIONS[name](rng, out, dict);
    applied.push(name);
  }
  return { data: out, applied };
}
