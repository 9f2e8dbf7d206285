/**
 * The server_audit record format, read on the bytes: the head (`YYYYMMDD HH:MM:SS,serverhost,`),
 * the fixed fields read from the right, what a complete record looks like, and the client host's
 * port. No state: the checks that compare records are in parser.ts.
 * @module
 */
import type { WallTime } from "../time/tz.ts";

/** The connection operations server_audit writes. */
export type ConnOp = "CONNECT" | "FAILED_CONNECT" | "CHANGEUSER" | "PROXY_CONNECT" | "DISCONNECT";

const encoder = new TextEncoder();

const OPS: Record<string, ConnOp> = {
  CONNECT: "CONNECT",
  FAILED_CONNECT: "FAILED_CONNECT",
  CHANGEUSER: "CHANGEUSER",
  PROXY_CONNECT: "PROXY_CONNECT",
  DISCONNECT: "DISCONNECT",
};

/** A record head read by {@link recordHead}. */
export interface RecordHead {
  /** Wall time, NaN when the date or time does not exist. */
  wall: WallTime;
  /** Index of the username's first byte. */
  userStart: number;
}

/**
 * Parses `YYYYMMDD HH:MM:SS,serverhost,` at buf[i] (a line start; the line ends at `end`). The
 * result is overwritten by the next call.
 */
export function recordHead(buf: Uint8Array, i: number, end: number): RecordHead | undefined {
  if (!startsLikeRecord(buf, i)) return undefined;
  const hostEnd = nextByte(buf, 44, i + 18);
  if (hostEnd < 0 || (end >= 0 && hostEnd >= end)) return undefined;
  HEAD.wall = wallTime(
    digits(buf, i, 4),
    digits(buf, i + 4, 2),
    digits(buf, i + 6, 2),
    digits(buf, i + 9, 2),
    digits(buf, i + 12, 2),
    digits(buf, i + 15, 2),
  );
  HEAD.userStart = hostEnd + 1;
  return HEAD;
}

/** recordHead's result, reused between calls (one per hit would only feed the GC). */
const HEAD: RecordHead = { wall: NaN, userStart: 0 };

const DAY_MS = 86_400_000;

/**
 * The wall time of a date and time as `Date.UTC` would give it for a four-digit year, or NaN
 * when it does not exist (no 31 November, no 29 February 2025, nothing before 1970). A leap
 * second (:60) reads as :59.
 */
export function wallTime(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
): number {
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 60) return NaN;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = mo === 2
    ? (leap ? 29 : 28)
    : mo === 4 || mo === 6 || mo === 9 || mo === 11
    ? 30
    : 31;
  if (d > days) return NaN;
  return daysFromCivil(y, mo, d) * DAY_MS + ((h * 60 + mi) * 60 + Math.min(s, 59)) * 1000;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (valid for any year). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The decimal number in buf[i, i+n) (digits already checked). */
function digits(buf: Uint8Array, i: number, n: number): number {
  let v = 0;
  for (let k = i; k < i + n; k++) v = v * 10 + buf[k] - 48;
  return v;
}

/**
 * Index of the last byte `v` in buf[0, from], or -1 (also when `from` is negative, where
 * `lastIndexOf` would count from the end). A loop in JavaScript: the lines searched are short,
 * and the built-in costs more to call than to run on them.
 */
export function lastByte(buf: Uint8Array, v: number, from: number): number {
  let i = from < buf.length ? from : buf.length - 1;
  while (i >= 0 && buf[i] !== v) i--;
  return i;
}

/** Index of the first byte `v` in buf[from…] (`from` ≥ 0), or -1; see {@link lastByte}. */
export function nextByte(buf: Uint8Array, v: number, from: number): number {
  const n = buf.length;
  for (let i = from; i < n; i++) if (buf[i] === v) return i;
  return -1;
}

/** True when buf[i…] starts with `YYYYMMDD HH:MM:SS,`. */
export function startsLikeRecord(buf: Uint8Array, i: number): boolean {
  if (i < 0 || buf.length < i + 18) return false;
  // The separators first (most lines that are not records fail there), then the 14 digits,
  // written out: this runs up to three times per connection event.
  if (buf[i + 8] !== 32 || buf[i + 11] !== 58 || buf[i + 14] !== 58 || buf[i + 17] !== 44) {
    return false;
  }
  return isDigit(buf[i]) && isDigit(buf[i + 1]) && isDigit(buf[i + 2]) && isDigit(buf[i + 3]) &&
    isDigit(buf[i + 4]) && isDigit(buf[i + 5]) && isDigit(buf[i + 6]) && isDigit(buf[i + 7]) &&
    isDigit(buf[i + 9]) && isDigit(buf[i + 10]) && isDigit(buf[i + 12]) &&
    isDigit(buf[i + 13]) && isDigit(buf[i + 15]) && isDigit(buf[i + 16]);
}

/** True for the byte of an ASCII digit. */
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** True when the line ending at buf[nl] (a newline, CR allowed before it) ends in `,<digits>`. */
export function endsLikeRecord(buf: Uint8Array, nl: number): boolean {
  let i = nl - 1;
  if (buf[i] === 13) i--;
  const stop = i;
  while (i >= 0 && buf[i] >= 48 && buf[i] <= 57) i--;
  return i < stop && i >= 0 && buf[i] === 44;
}

/** Operations of table events, as bytes. */
const TABLE_OPS = ["READ", "WRITE", "CREATE", "DROP", "ALTER", "RENAME"].map((op) =>
  encoder.encode(op)
);

/**
 * Index in `names` of the name that buf[a, b) spells, or -1 (indexed loops: this runs for every
 * line that holds a marker).
 */
function nameIndex(buf: Uint8Array, a: number, b: number, names: Uint8Array[]): number {
  for (let j = 0; j < names.length; j++) {
    const name = names[j];
    if (name.length !== b - a) continue;
    let k = 0;
    while (k < name.length && buf[a + k] === name[k]) k++;
    if (k === name.length) return j;
  }
  return -1;
}

/**
 * True when buf[s, e) (one line without its newline, starting like a record) is a complete
 * record the server could have written: `,connid,queryid,OP,db,object,retcode` read from the
 * right with numeric ids and an operation name, where the object is either plain or a quoted
 * query (`'…'` with `\'` and `\\` escapes); or a table event `,connid,queryid,OP,db,table,`.
 */
export function completeRecord(buf: Uint8Array, s: number, e: number): boolean {
  let c = lastByte(buf, 44, e - 1); // the comma before retcode, or the last (table events)
  if (c < s + 18) return false;
  let objectEnd: number;
  let table = false;
  if (c === e - 1) {
    table = true; // READ/WRITE/…: `,db,table,` and no retcode
    objectEnd = c;
  } else {
    for (let i = c + 1; i < e; i++) {
      const d = buf[i];
      if ((d < 48 || d > 57) && !(d === 45 && i === c + 1)) return false;
    }
    objectEnd = c;
  }
  let objectStart: number;
  if (!table && buf[objectEnd - 1] === 39) {
    // A quoted query: find its opening quote (one not escaped by an odd run of backslashes).
    let i = objectEnd - 2;
    for (;;) {
      i = lastByte(buf, 39, i);
      if (i <= s + 18) return false;
      let bs = 0;
      while (buf[i - 1 - bs] === 92) bs++;
      if (bs % 2 === 0) break;
      i--;
    }
    if (buf[i - 1] !== 44) return false;
    objectStart = i - 1;
  } else {
    objectStart = lastByte(buf, 44, objectEnd - 1);
    if (objectStart < s + 18 || hasQuote(buf, objectStart + 1, objectEnd)) return false;
  }
  const dbStart = lastByte(buf, 44, objectStart - 1);
  if (dbStart < s + 18) return false;
  const opStart = lastByte(buf, 44, dbStart - 1);
  if (opStart < s + 18 || dbStart - opStart < 2) return false;
  for (let i = opStart + 1; i < dbStart; i++) {
    const d = buf[i];
    if (!((d >= 65 && d <= 90) || d === 95)) return false;
  }
  if (table && nameIndex(buf, opStart + 1, dbStart, TABLE_OPS) < 0) return false;
  const q = lastByte(buf, 44, opStart - 1);
  if (q < s + 18 || intField(buf, q + 1, opStart) === undefined) return false;
  c = lastByte(buf, 44, q - 1);
  if (c < s + 18 || intField(buf, c + 1, q) === undefined) return false;
  return lastByte(buf, 44, c - 1) >= s + 17;
}

/**
 * True for a well-formed DISCONNECT line, decided on the bytes: it starts like a record and
 * `DISCONNECT,` at `hit - 6` is followed by exactly `db,object,retcode`. Such lines only claim
 * their connection id (see AuditParser.#disconnect); anything else gets a full look.
 */
export function isPlainDisconnect(
  buf: Uint8Array,
  start: number,
  hit: number,
  end: number,
): boolean {
  // "DISCON" before "NECT,"
  if (
    buf[hit - 1] !== 78 || buf[hit - 2] !== 79 || buf[hit - 3] !== 67 || buf[hit - 4] !== 83 ||
    buf[hit - 5] !== 73 || buf[hit - 6] !== 68 || buf[hit - 7] !== 44
  ) return false;
  let commas = 0;
  for (let i = hit + 5; i < end; i++) {
    const c = buf[i];
    if (c === 44) commas++;
    else if (c === 39) return false;
  }
  return commas === 2 && endsLikeRecord(buf, end) && startsLikeRecord(buf, start);
}

/** The fixed fields read by {@link rightFields}. */
export interface RightFields {
  op: ConnOp;
  connId: number;
  retcode: number;
  /** Index of the comma between username and host. */
  userEnd: number;
  /** Index of the comma after host. */
  hostEnd: number;
  /** Why the numbers are malformed (the shape is a connection event's), or undefined. */
  bad: string | undefined;
}

/** Operation names, and the same as bytes. */
const OP_NAMES: ConnOp[] = Object.values(OPS);
const OP_BYTES: Uint8Array[] = OP_NAMES.map((op) => encoder.encode(op));

/**
 * Reads `,host,connid,queryid,OP,db,object,retcode` from the end of buf[start, end): undefined
 * when the line does not have a connection event's shape (an operation name four fields from
 * the right, no quote in db or object). The result is overwritten by the next call.
 */
export function rightFields(buf: Uint8Array, start: number, end: number): RightFields | undefined {
  // One walk back from the end collects the seven commas (c[0] is the last), in place of a
  // search per field: this runs for every line with a marker, before V8 has optimized it.
  // A quote in the object or db field (between the first and third comma from the right)
  // means the line is not a connection event.
  const c = COMMAS;
  let n = 0;
  let op: ConnOp | undefined;
  for (let i = end - 1; i >= start; i--) {
    const b = buf[i];
    if (b === 44) {
      c[n++] = i;
      if (n === 4 && !(op = opAt(buf, i + 1, c[2]))) return undefined;
      if (n === 7) break;
    } else if (b === 39 && (n === 1 || n === 2)) return undefined;
  }
  if (n < 7 || op === undefined) return undefined;
  let bad: string | undefined;
  const retcode = retcodeField(buf, c[0] + 1, end);
  if (retcode === undefined) bad = "malformed return code";
  if (intField(buf, c[4] + 1, c[3]) !== 0) bad ??= "query id of a connection event is not 0";
  const connId = intField(buf, c[5] + 1, c[4]);
  if (connId === undefined) bad ??= "malformed connection id";
  RIGHT.op = op;
  RIGHT.connId = connId ?? -1;
  RIGHT.retcode = retcode ?? -1;
  RIGHT.userEnd = c[6];
  RIGHT.hostEnd = c[5];
  RIGHT.bad = bad;
  return RIGHT;
}

/** rightFields' comma positions, reused between calls. */
const COMMAS = new Int32Array(7);

/** rightFields' result, reused between calls. */
const RIGHT: RightFields = {
  op: "CONNECT",
  connId: 0,
  retcode: 0,
  userEnd: 0,
  hostEnd: 0,
  bad: undefined,
};

function opAt(buf: Uint8Array, a: number, b: number): ConnOp | undefined {
  const j = nameIndex(buf, a, b, OP_BYTES);
  return j < 0 ? undefined : OP_NAMES[j];
}

function hasQuote(buf: Uint8Array, a: number, b: number): boolean {
  for (let i = a; i < b; i++) if (buf[i] === 39) return true;
  return false;
}

/** An unsigned decimal field of at most 15 digits, or undefined. */
export function intField(buf: Uint8Array, a: number, b: number): number | undefined {
  if (b <= a || b - a > 15) return undefined;
  let v = 0;
  for (let k = a; k < b; k++) {
    const c = buf[k] - 48;
    if (c < 0 || c > 9) return undefined;
    v = v * 10 + c;
  }
  return v;
}

/**
 * The return code as the server writes it (`%d`): `0`, or an optional `-` and digits without a
 * leading zero. Anything else (`-0`, `00`, `+1`) is not a number the server writes.
 */
function retcodeField(buf: Uint8Array, a: number, b: number): number | undefined {
  const negative = buf[a] === 45;
  const digitsFrom = negative ? a + 1 : a;
  if (b - digitsFrom > 10) return undefined;
  const v = intField(buf, digitsFrom, b);
  if (v === undefined) return undefined;
  if (buf[digitsFrom] === 48 && (b - digitsFrom > 1 || negative)) return undefined;
  return negative ? -v : v;
}

/**
 * Splits the `:port` MariaDB ≥ 12.0.1 appends to the client host: `[v6]:port`, `name:port`,
 * `a.b.c.d:port`, `::ffff:a.b.c.d:port`. A bare IPv6 address (two or more colons) ends in a
 * group that looks like a port, so its last `:group` is taken as the port only once this file
 * has shown ports on other hosts (`portsSeen`).
 */
export function splitHostPort(raw: string, portsSeen: boolean): { host: string; port: boolean } {
  const bracket = /^\[([^\]]*)\]:\d{1,5}$/.exec(raw);
  if (bracket) return { host: bracket[1], port: true };
  const colon = raw.indexOf(":");
  if (colon < 0) return { host: raw, port: false };
  if (raw.indexOf(":", colon + 1) < 0) {
    return /^\d{1,5}$/.test(raw.slice(colon + 1))
      ? { host: raw.slice(0, colon), port: true }
      : { host: raw, port: false };
  }
  const mapped = /^(::ffff:\d+\.\d+\.\d+\.\d+):\d{1,5}$/i.exec(raw);
  if (mapped) return { host: mapped[1], port: true };
  if (portsSeen) {
    const last = raw.lastIndexOf(":");
    if (/^\d{1,5}$/.test(raw.slice(last + 1)) && raw[last - 1] !== ":") {
      return { host: raw.slice(0, last), port: true };
    }
  }
  return { host: raw, port: false };
}
