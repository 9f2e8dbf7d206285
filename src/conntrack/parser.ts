/**
 * The server_audit record parser: file bytes in, connection events out. Pure (no I/O).
 *
 * A record is `YYYYMMDD HH:MM:SS,serverhost,username,host,connid,queryid,OPERATION,db,object,retcode`
 * and ends with a newline. Only connection events matter here, so the bytes are never split
 * into lines or decoded as a whole: a byte search ({@link ByteOps}) finds the operation names
 * (`…NECT,`, `…USER,`) and only the line around each hit is decoded. The fixed fields are read
 * from the right, because the username is whatever an unauthenticated client sent (commas,
 * quotes, newlines).
 *
 * Defences against forged lines (text inside a username that looks like whole records):
 * - a record starts at a line start with a valid `YYYYMMDD HH:MM:SS,` and the file's server host;
 * - `,connid,queryid,OP,db,object,retcode` must match exactly, with numeric ids, queryid 0, and no
 *   quote or comma in db/object (QUERY lines end in a quoted object, so they never match);
 * - a connection-event line that does not start with a timestamp ends a record whose username
 *   held a newline: every event in the bytes that username can span (the server keeps 128
 *   characters) is rejected, and the event is attributed to the username across the lines
 *   (never to `Accounts`);
 * - an event whose previous line starts like a record but does not end like one is inside such
 *   a record and is rejected;
 * - the server writes each login attempt's username twice (CONNECT or FAILED_CONNECT, then
 *   DISCONNECT), so a connection id claimed by two login events within seconds marks both as
 *   forged;
 * - time never goes back by more than a minute between accepted events.
 * Events are held back until {@link HOLD_BYTES} more bytes have been seen, so these checks can
 * still reject them; {@link AuditParser.finish} releases the rest. Well-formed DISCONNECT
 * records are not reported (they say nothing about logins); one that ends a multi-line
 * username is.
 * @module
 */
import { type ByteOps, jsByteOps } from "./byte_ops.ts";
import { BytesCache, decodeBytes } from "./interner.ts";
import type { WallTime, Zone } from "./tz.ts";

/** The connection operations server_audit writes. */
export type ConnOp = "CONNECT" | "FAILED_CONNECT" | "CHANGEUSER" | "PROXY_CONNECT" | "DISCONNECT";

/** One connection event read from the log. */
export interface ConnEvent {
  op: ConnOp;
  /** Username as sent by the client (UTF-8 decoded; may contain anything). */
  user: string;
  /** Client host without the port that MariaDB ≥ 12.0.1 appends. */
  host: string;
  connId: number;
  retcode: number;
  /** The record's wall-clock time. */
  wall: WallTime;
  /** The record's instant, read in the parser's zone. */
  instant: number;
  /** True when the username spans lines (attribution is then uncertain). */
  multiline: boolean;
  /** The same user and host, shared by every record that wrote them with the same bytes. */
  who?: Who;
}

/**
 * A username and client host as records write them, decoded once per thread; whoever
 * aggregates events may note where it keeps this account (`owner`, `row`) to find it again
 * without hashing the strings.
 */
export interface Who {
  user: string;
  host: string;
  /** The raw host carried a `:port`. */
  port: boolean;
  /** Free for the aggregating table (0 until it notes something). */
  owner: number;
  row: number;
}

/** A line the parser refused, with why. */
export interface Rejection {
  /** 1-based line number in the file (NaN when unknown). */
  line: number;
  reason: string;
  /** Short excerpt of the line (escaped when logged). */
  excerpt: string;
}

/** Options for {@link AuditParser}. */
export interface ParserOptions {
  zone: Zone;
  /** Byte offset in the file where parsing starts (a line start). */
  startOffset: number;
  /** The server host of the file's first record, when known from an earlier run. */
  serverHost?: string;
  /** Instant of the last record accepted in an earlier run of this file. */
  lastInstant?: number;
  /**
   * Counts newlines in the file before byte `offset`; called once, when the first warning needs
   * a line number. Default: line numbers relative to the start offset.
   */
  countLines?: (offset: number) => number;
  /** Byte search implementation; default {@link jsByteOps}. */
  ops?: ByteOps;
}

/**
 * The longest username the server logs: it keeps 128 characters (USERNAME_CHAR_LENGTH), so a
 * username spans at most this many characters (with slack).
 */
export const MAX_USER_CHARS = 130;
/** Rejections kept with line number and excerpt per file and run; the rest are only counted. */
export const MAX_REJECTION_DETAILS = 20;
/** Events stay pending until this many bytes follow them. */
export const HOLD_BYTES = 16 * 1024;
/** How far back time may go between accepted events (threads write slightly out of order). */
const TIME_SLACK_MS = 60_000;
/** Two login events for the same connection id this close together are a forged pair. */
const TWIN_MS = 5_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Usernames and hosts seen in this thread (a log repeats the same few thousand). */
const accounts = new BytesCache<Who>();
/** The same accounts by user and host, for hosts logged with a port (bounded like the cache). */
const withPorts = new Map<string, Who>();

const OPS: Record<string, ConnOp> = {
  CONNECT: "CONNECT",
  FAILED_CONNECT: "FAILED_CONNECT",
  CHANGEUSER: "CHANGEUSER",
  PROXY_CONNECT: "PROXY_CONNECT",
  DISCONNECT: "DISCONNECT",
};

interface Pending {
  event: ConnEvent;
  /** File offset of the record's first line. */
  pos: number;
  rejected?: string;
  /** The login claim of this event's connection id, if it is a login. */
  claim?: Claim;
}

/** A login event's claim on its connection id (see the twin check). */
interface Claim {
  instant: number;
  rejected: boolean;
  /** The event while it is still pending; dropped once released so its text can be freed. */
  pending?: Pending;
}

/** Incremental parser for one audit file. */
export class AuditParser {
  /** Server host of this file's records (learned from the first record at offset 0). */
  serverHost?: string;
  /** Instant of the last accepted event. */
  lastInstant: number;
  /** Lines with a connection-event shape that were refused. */
  readonly rejections: Rejection[] = [];
  /** All refused lines, including those beyond {@link MAX_REJECTION_DETAILS}. */
  rejected = 0;
  /** Connection-event lines that were malformed (bad timestamp, bad fields). */
  malformed = 0;
  /**
   * After {@link feed}: the buffer index from which the caller must keep the bytes in front of
   * the next call's new data (look-back for the checks above).
   */
  keepFrom = 0;

  #zone: Zone;
  #ops: ByteOps;
  #pending: Pending[] = [];
  #logins = new Map<number, Claim>();
  #countLines: (offset: number) => number;
  #atFileStart: boolean;
  #portsSeen = false;
  /** A file offset whose line count is known, once a warning needed line numbers. */
  #known: { offset: number; lines: number } | undefined;
  #buf: Uint8Array = new Uint8Array(0);
  #base = 0;

  constructor(options: ParserOptions) {
    this.#zone = options.zone;
    this.#ops = options.ops ?? jsByteOps;
    this.#atFileStart = options.startOffset === 0;
    this.serverHost = options.serverHost;
    this.lastInstant = options.lastInstant ?? -Infinity;
    const start = options.startOffset;
    this.#countLines = options.countLines ?? ((offset) => offset === start ? 0 : NaN);
  }

  /**
   * Parses buf[from, to): complete lines at file offset `base + from`. buf[0, from) must hold
   * the bytes kept since the previous call (from {@link keepFrom}), or nothing at the start.
   * Returns the events that can no longer be rejected.
   */
  feed(buf: Uint8Array, base: number, from: number, to: number): ConnEvent[] {
    this.#buf = buf;
    this.#base = base;
    if (this.#atFileStart && to > from) {
      this.#atFileStart = false;
      const nl = buf.indexOf(10, from);
      const head = recordHead(buf, from, nl < 0 ? to : nl);
      if (this.serverHost === undefined && head) {
        this.serverHost = decoder.decode(buf.subarray(from + 18, head.userStart - 1));
      }
    }
    let lineEnd = -1;
    this.#ops.markers(buf, from, to, (hit, start, end) => {
      if (hit < lineEnd) return; // one look per line
      lineEnd = end;
      if (!isPlainDisconnect(buf, start, hit, lineEnd)) this.#line(start, lineEnd);
    });
    // Keep the last HOLD_BYTES (from a line start) for look-back and pending events.
    const cut = to > HOLD_BYTES ? Math.max(0, buf.lastIndexOf(10, to - HOLD_BYTES) + 1) : 0;
    this.keepFrom = cut;
    const out: ConnEvent[] = [];
    const keep: Pending[] = [];
    for (const p of this.#pending) {
      if (p.pos >= base + cut) keep.push(p);
      else {
        if (p.claim) p.claim.pending = undefined;
        if (!p.rejected) out.push(p.event);
      }
    }
    this.#pending = keep;
    if (this.#known && this.#known.offset < base + cut) {
      this.#known = {
        offset: base + cut,
        lines: this.#known.lines + this.#ops.newlines(buf, this.#known.offset - base, cut),
      };
    }
    return out;
  }

  /** Releases the events still held back (end of the readable data). */
  finish(): ConnEvent[] {
    const out = this.#pending.filter((p) => !p.rejected).map((p) => p.event);
    this.#pending = [];
    return out;
  }

  /**
   * Drops the events still held back, for data that may still be completed (the end of a live
   * log being written), and returns the file offset of the first one's record, from where the
   * next run must read again; undefined when nothing was held back.
   */
  withhold(): number | undefined {
    const first = this.#pending.length ? Math.min(...this.#pending.map((p) => p.pos)) : undefined;
    this.#pending = [];
    return first;
  }

  /** Looks at the line buf[start, end) that contains an operation name. */
  #line(start: number, end: number): void {
    const buf = this.#buf;
    const f = rightFields(buf, start, end);
    if (!f) return; // a QUERY or other record that merely mentions the word
    const head = recordHead(buf, start, end);
    if (!head) {
      this.#continuation(start, end, f);
      return;
    }
    if (!Number.isFinite(head.wall)) {
      this.malformed++;
      this.#reject(start, end, "malformed timestamp");
      return;
    }
    if (f.userEnd < head.userStart) {
      this.malformed++;
      this.#reject(start, end, "too few fields");
      return;
    }
    // A well-formed DISCONNECT says nothing about logins; only its malformed (continuation)
    // form matters, as the end of a multi-line username.
    if (f.op === "DISCONNECT") return;
    if (this.serverHost !== undefined && !this.#isServerHost(buf, start + 18, head.userStart - 1)) {
      const found = decoder.decode(buf.subarray(start + 18, head.userStart - 1));
      this.#reject(start, end, `server host "${found}" is not this file's "${this.serverHost}"`);
      return;
    }
    if (start > 0) {
      const prev = start >= 2 ? buf.lastIndexOf(10, start - 2) + 1 : 0;
      if (startsLikeRecord(buf, prev) && !endsLikeRecord(buf, start - 1)) {
        this.#reject(start, end, "follows an unfinished record (a username with a newline)");
        return;
      }
    }
    const event = this.#event(this.#who(head.userStart, f), head.wall, f, false);
    if (event.instant < this.lastInstant - TIME_SLACK_MS) {
      this.#reject(start, end, "earlier than the records before it");
      return;
    }
    const pending: Pending = { event, pos: this.#base + start };
    if (event.op === "CONNECT" || event.op === "FAILED_CONNECT") {
      const seen = this.#logins.get(event.connId);
      if (seen && !seen.rejected && Math.abs(seen.instant - event.instant) <= TWIN_MS) {
        const earlier = seen.pending;
        if (earlier && !earlier.rejected) {
          earlier.rejected = "connection id claimed twice";
          seen.rejected = true;
          const at = earlier.pos - this.#base;
          this.#reject(at, buf.indexOf(10, at), "connection id claimed by two login events");
        }
        this.#reject(start, end, "connection id claimed by two login events");
        return;
      }
      pending.claim = { instant: event.instant, rejected: false, pending };
      this.#logins.set(event.connId, pending.claim);
      if (this.#logins.size > 256) this.#pruneLogins(event.instant);
    }
    this.lastInstant = Math.max(this.lastInstant, event.instant);
    this.#pending.push(pending);
  }

  #pruneLogins(now: number): void {
    // forEach, not for…of: no entry array per claim (this runs every 256 logins).
    this.#logins.forEach((v, id) => {
      if (now - v.instant > TWIN_MS) this.#logins.delete(id);
    });
  }

  /** A connection-event line that does not start a record: the end of a multi-line username. */
  #continuation(start: number, end: number, f: RightFields): void {
    const buf = this.#buf;
    const userEnd = f.userEnd; // the comma that ends the username
    // The record's first line starts at most a username plus `timestamp,serverhost,` earlier.
    let i = userEnd;
    for (let chars = 0; i > 0 && chars < MAX_USER_CHARS;) {
      i--;
      if ((buf[i] & 0xc0) !== 0x80) chars++;
    }
    const headBytes = 19 +
      (this.serverHost === undefined ? 255 : encoder.encode(this.serverHost).length) + 1;
    const limit = Math.max(0, i - headBytes);
    for (const p of this.#pending) {
      const at = p.pos - this.#base;
      if (at >= limit && at < start && !p.rejected) {
        p.rejected = "inside a multi-line username";
        // A forged line must not keep its connection id from the genuine login that owns it.
        if (p.claim && this.#logins.get(p.event.connId) === p.claim) {
          this.#logins.delete(p.event.connId);
        }
        this.#reject(at, buf.indexOf(10, at), "inside a record whose username spans lines");
      }
    }
    // Attribute the event to its record's first line: the earliest line in reach that starts
    // like a record but does not end like one; failing that, the nearest record start.
    let headStart = -1;
    let fragmentStart = -1;
    for (let s = start >= 2 ? buf.lastIndexOf(10, start - 2) : -1; start > 0 && s + 1 >= limit;) {
      if (startsLikeRecord(buf, s + 1)) {
        if (headStart < 0) headStart = s + 1;
        if (!endsLikeRecord(buf, buf.indexOf(10, s + 1))) fragmentStart = s + 1;
      }
      if (s < 1) break;
      s = buf.lastIndexOf(10, s - 1);
    }
    if (fragmentStart >= 0) headStart = fragmentStart;
    const head = headStart >= 0
      ? recordHead(buf, headStart, buf.indexOf(10, headStart))
      : undefined;
    const userStart = head ? head.userStart : -1;
    if (!head || userEnd < userStart || !Number.isFinite(head.wall)) {
      this.malformed++;
      this.#reject(start, end, "continuation line without a record start");
      return;
    }
    const event = this.#event(this.#who(userStart, f), head.wall, f, true);
    this.#reject(start, end, `username spans lines (${event.op}, not counted as a login)`);
    this.#pending.push({ event, pos: this.#base + headStart });
  }

  /** The user buf[userStart, f.userEnd) and host up to f.hostEnd, from the cache when seen. */
  #who(userStart: number, f: RightFields): Who {
    const buf = this.#buf;
    // Same bytes, same split between user and host, same port reading: same answer.
    const tag = (f.userEnd - userStart) * 2 + (this.#portsSeen ? 1 : 0);
    const known = accounts.find(buf, userStart, f.hostEnd, tag);
    if (known) return known;
    const host = splitHostPort(decodeBytes(buf, f.userEnd + 1, f.hostEnd), this.#portsSeen);
    const user = decodeBytes(buf, userStart, f.userEnd);
    // MariaDB 12 logs a new client port per connection: such bytes are new every time, but
    // they share one account object per user and host.
    const key = host.port ? `${user.length}:${user}\u0000${host.host}` : undefined;
    let who = key === undefined ? undefined : withPorts.get(key);
    if (who === undefined) {
      who = { user, host: host.host, port: host.port, owner: 0, row: 0 };
      if (key !== undefined) {
        if (withPorts.size >= BytesCache.MAX_ENTRIES) withPorts.clear();
        withPorts.set(key, who);
      }
    }
    return accounts.add(buf, userStart, f.hostEnd, tag, who);
  }

  #event(who: Who, wall: WallTime, f: RightFields, multiline: boolean): ConnEvent {
    const instant = this.#zone.toInstant(wall, this.lastInstant);
    if (who.port) this.#portsSeen = true;
    return {
      op: f.op,
      user: who.user,
      host: who.host,
      connId: f.connId,
      retcode: f.retcode,
      wall,
      instant,
      multiline,
      who,
    };
  }

  #serverHostBytes: Uint8Array | undefined;

  /** True when buf[from, to) is this file's server host. */
  #isServerHost(buf: Uint8Array, from: number, to: number): boolean {
    const want = this.#serverHostBytes ??= encoder.encode(this.serverHost);
    if (to - from !== want.length) return false;
    for (let i = 0; i < want.length; i++) if (buf[from + i] !== want[i]) return false;
    return true;
  }

  /** Records a rejection of the line buf[start, end). */
  #reject(start: number, end: number, reason: string): void {
    this.rejected++;
    if (this.rejections.length >= MAX_REJECTION_DETAILS) {
      this.#known = undefined; // no more line numbers needed
      return;
    }
    const buf = this.#buf;
    const offset = this.#base + start;
    if (this.#known === undefined) this.#known = { offset, lines: this.#countLines(offset) };
    const known = this.#known;
    const k = known.offset - this.#base;
    const lines = offset >= known.offset
      ? known.lines + this.#ops.newlines(buf, k, start)
      : known.lines - this.#ops.newlines(buf, start, k);
    const stop = end < 0 ? Math.min(buf.length, start + 200) : Math.min(end, start + 200);
    const excerpt = decoder.decode(buf.subarray(start, stop)).slice(0, 160);
    this.rejections.push({ line: lines + 1, reason, excerpt });
  }
}

interface RecordHead {
  /** Wall time, NaN when a field is out of range. */
  wall: WallTime;
  /** Index of the username's first byte. */
  userStart: number;
}

/**
 * Parses `YYYYMMDD HH:MM:SS,serverhost,` at buf[i] (a line start; the line ends at `end`). The
 * result is overwritten by the next call.
 */
function recordHead(buf: Uint8Array, i: number, end: number): RecordHead | undefined {
  if (!startsLikeRecord(buf, i)) return undefined;
  const hostEnd = buf.indexOf(44, i + 18);
  if (hostEnd < 0 || (end >= 0 && hostEnd >= end)) return undefined;
  const year = digits(buf, i, 4);
  const month = digits(buf, i + 4, 2);
  const day = digits(buf, i + 6, 2);
  const hour = digits(buf, i + 9, 2);
  const minute = digits(buf, i + 12, 2);
  const second = digits(buf, i + 15, 2);
  const ok = month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 &&
    second <= 60;
  HEAD.wall = ok ? Date.UTC(year, month - 1, day, hour, minute, second) : NaN;
  HEAD.userStart = hostEnd + 1;
  return HEAD;
}

/** recordHead's result, reused between calls (one per hit would only feed the GC). */
const HEAD: RecordHead = { wall: NaN, userStart: 0 };

/** The decimal number in buf[i, i+n) (digits already checked). */
function digits(buf: Uint8Array, i: number, n: number): number {
  let v = 0;
  for (let k = i; k < i + n; k++) v = v * 10 + buf[k] - 48;
  return v;
}

/** True when buf[i…] starts with `YYYYMMDD HH:MM:SS,`. */
function startsLikeRecord(buf: Uint8Array, i: number): boolean {
  if (i < 0 || buf.length < i + 18) return false;
  for (let k = 0; k < 17; k++) {
    const c = buf[i + k];
    if (k === 8) {
      if (c !== 32) return false;
    } else if (k === 11 || k === 14) {
      if (c !== 58) return false;
    } else if (c < 48 || c > 57) return false;
  }
  return buf[i + 17] === 44;
}

/**
 * True when the line ending at buf[nl] (a newline) ends in `,<digits>`, or in `,` (TABLE
 * events — READ, WRITE, … — have an empty retcode).
 */
function endsLikeRecord(buf: Uint8Array, nl: number): boolean {
  let i = nl - 1;
  while (i >= 0 && buf[i] >= 48 && buf[i] <= 57) i--;
  return i >= 0 && buf[i] === 44;
}

/**
 * True for a well-formed DISCONNECT line, decided on the bytes: it starts like a record and
 * `DISCONNECT,` at `hit - 6` is followed by exactly `db,object,retcode`. Such lines need no
 * further look (see AuditParser.#line); anything else does.
 */
function isPlainDisconnect(buf: Uint8Array, start: number, hit: number, end: number): boolean {
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

interface RightFields {
  op: ConnOp;
  connId: number;
  retcode: number;
  /** Index of the comma between username and host. */
  userEnd: number;
  /** Index of the comma after host. */
  hostEnd: number;
}

/** Operation names as bytes. */
const OP_BYTES: [ConnOp, Uint8Array][] = Object.values(OPS).map((op) => [op, encoder.encode(op)]);

/**
 * Reads `,host,connid,queryid,OP,db,object,retcode` from the end of buf[start, end). The result
 * is overwritten by the next call.
 */
function rightFields(buf: Uint8Array, start: number, end: number): RightFields | undefined {
  const c1 = buf.lastIndexOf(44, end - 1);
  if (c1 < start) return undefined;
  const retcode = intField(buf, c1 + 1, end, true);
  if (retcode === undefined) return undefined;
  const c2 = buf.lastIndexOf(44, c1 - 1);
  if (c2 < start || hasQuote(buf, c2 + 1, c1)) return undefined;
  const c3 = buf.lastIndexOf(44, c2 - 1);
  if (c3 < start || hasQuote(buf, c3 + 1, c2)) return undefined;
  const c4 = buf.lastIndexOf(44, c3 - 1);
  if (c4 < start) return undefined;
  const op = opAt(buf, c4 + 1, c3);
  if (!op) return undefined;
  const c5 = buf.lastIndexOf(44, c4 - 1);
  if (c5 < start || intField(buf, c5 + 1, c4, false) !== 0) return undefined;
  const c6 = buf.lastIndexOf(44, c5 - 1);
  if (c6 < start) return undefined;
  const connId = intField(buf, c6 + 1, c5, false);
  if (connId === undefined) return undefined;
  const c7 = buf.lastIndexOf(44, c6 - 1);
  if (c7 < start) return undefined;
  RIGHT.op = op;
  RIGHT.connId = connId;
  RIGHT.retcode = retcode;
  RIGHT.userEnd = c7;
  RIGHT.hostEnd = c6;
  return RIGHT;
}

/** rightFields' result, reused between calls. */
const RIGHT: RightFields = { op: "CONNECT", connId: 0, retcode: 0, userEnd: 0, hostEnd: 0 };

function opAt(buf: Uint8Array, a: number, b: number): ConnOp | undefined {
  for (let j = 0; j < OP_BYTES.length; j++) { // indexed: no iterator per call
    const bytes = OP_BYTES[j][1];
    if (bytes.length !== b - a) continue;
    let k = 0;
    while (k < bytes.length && buf[a + k] === bytes[k]) k++;
    if (k === bytes.length) return OP_BYTES[j][0];
  }
  return undefined;
}

function hasQuote(buf: Uint8Array, a: number, b: number): boolean {
  for (let i = a; i < b; i++) if (buf[i] === 39) return true;
  return false;
}

function intField(buf: Uint8Array, a: number, b: number, signed: boolean): number | undefined {
  if (b <= a || b - a > 15) return undefined;
  let i = a;
  const negative = signed && buf[i] === 45;
  if (negative) i++;
  if (i === b) return undefined;
  let v = 0;
  for (let k = i; k < b; k++) {
    const c = buf[k] - 48;
    if (c < 0 || c > 9) return undefined;
    v = v * 10 + c;
  }
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
