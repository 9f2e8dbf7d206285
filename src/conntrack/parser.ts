/**
 * The server_audit record parser: byte chunks in, connection events out. Pure (no I/O).
 *
 * A record is `YYYYMMDD HH:MM:SS,serverhost,username,host,connid,queryid,OPERATION,db,object,retcode`
 * and ends with a newline. Only connection events matter here, so a chunk is never split into
 * lines: the parser searches the decoded text for the operation names (`…NNECT,`, `…GEUSER,`)
 * and looks only at the lines around each hit. The fixed fields are read from the right,
 * because the username is whatever an unauthenticated client sent (commas, quotes, newlines).
 *
 * Defences against forged lines (text inside a username that looks like whole records):
 * - a record starts at a line start with a valid `YYYYMMDD HH:MM:SS,` and the file's server host;
 * - `,connid,queryid,OP,db,object,retcode` must match exactly, with numeric ids, queryid 0, and no
 *   quote or comma in db/object (QUERY lines end in a quoted object, so they never match);
 * - a connection-event line that does not start with a timestamp ends a record whose username
 *   held a newline: every event in the bytes a username can span before it is rejected, and
 *   the event is attributed to the username across the lines (never to `Accounts`);
 * - an event whose previous line starts like a record but does not end like one is inside such
 *   a record and is rejected;
 * - the server writes each login attempt's username twice (CONNECT or FAILED_CONNECT, then
 *   DISCONNECT), so a connection id claimed by two login events within seconds marks both as
 *   forged;
 * - time never goes back by more than a minute between accepted events.
 * Events are held back until `HOLD_CHARS` more text has been seen, so these checks can still
 * reject them; {@link AuditParser.finish} releases the rest. Well-formed DISCONNECT records are
 * not reported (they say nothing about logins); one that ends a multi-line username is.
 * @module
 */
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
}

/** A line the parser refused, with why. */
export interface Rejection {
  /** 1-based line number in the file, when known; see {@link AuditParser}. */
  line: number;
  reason: string;
  /** Short, escaped excerpt of the line. */
  excerpt: string;
}

/** Options for {@link AuditParser}. */
export interface ParserOptions {
  zone: Zone;
  /** Byte offset in the file of the first chunk fed. */
  startOffset: number;
  /** The server host of the file's first record, when known from an earlier run. */
  serverHost?: string;
  /** Instant of the last record accepted in an earlier run of this file. */
  lastInstant?: number;
  /**
   * Counts newlines in the file before byte `offset`; called only when a warning needs a line
   * number. Default: line numbers relative to the start offset.
   */
  countLines?: (offset: number) => number;
}

/**
 * The longest username the server logs: it keeps 128 characters (USERNAME_CHAR_LENGTH) and
 * converts them to UTF-8, so a username spans at most this many UTF-16 units (plus slack).
 */
export const MAX_USER_CHARS = 130;
/** Events stay pending until this many characters follow them. */
export const HOLD_CHARS = 16 * 1024;
/** How far back time may go between accepted events (threads write slightly out of order). */
const TIME_SLACK_MS = 60_000;
/** Two login events for the same connection id this close together are a forged pair. */
const TWIN_MS = 5_000;

const OPS: Record<string, ConnOp> = {
  CONNECT: "CONNECT",
  FAILED_CONNECT: "FAILED_CONNECT",
  CHANGEUSER: "CHANGEUSER",
  PROXY_CONNECT: "PROXY_CONNECT",
  DISCONNECT: "DISCONNECT",
};

interface Pending {
  event: ConnEvent;
  /** Position of the line start in the current work string. */
  pos: number;
  rejected?: string;
  /** The login claim of this event's connection id, if it is a login. */
  claim?: Claim;
}

/** A login event's claim on its connection id (see the twin check). */
interface Claim {
  instant: number;
  rejected: boolean;
  /** The event while it is still pending; dropped once emitted so its text can be freed. */
  pending?: Pending;
}

/** Counts newlines in text[from, to). */
function countNewlines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = text.indexOf("\n", from); i >= 0 && i < to; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

/** Incremental parser for one audit file. Feed decoded chunks that end at a newline. */
export class AuditParser {
  /** Server host of this file's records (learned from the first record at offset 0). */
  serverHost?: string;
  /** Instant of the last accepted event. */
  lastInstant: number;
  /** Lines with a connection-event shape that were refused. */
  readonly rejections: Rejection[] = [];
  /** Connection-event lines that were malformed (bad timestamp, bad fields). */
  malformed = 0;

  #zone: Zone;
  /** Text kept from earlier chunks (whole lines) for look-back and pending events. */
  #tail = "";
  #pending: Pending[] = [];
  #logins = new Map<number, Claim>();
  #countLines: (offset: number) => number;
  #atFileStart: boolean;
  #portsSeen = false;
  /** Newlines before the current work text, once a warning needed line numbers. */
  #linesBefore: number | undefined;
  /** Byte offset of the chunk being fed, for the first line-number lookup. */
  #chunkOffset = 0;
  #tailLength = 0;
  #lineCache = { pos: 0, count: 0 };

  constructor(options: ParserOptions) {
    this.#zone = options.zone;
    this.#atFileStart = options.startOffset === 0;
    this.#chunkOffset = options.startOffset;
    this.serverHost = options.serverHost;
    this.lastInstant = options.lastInstant ?? -Infinity;
    const start = options.startOffset;
    this.#countLines = options.countLines ?? ((offset) => offset === start ? 0 : NaN);
  }

  /**
   * Parses `chunk` (complete lines, decoded) that starts at byte `offset` of the file, and
   * returns the events that can no longer be rejected.
   */
  feed(chunk: string, offset: number): ConnEvent[] {
    this.#chunkOffset = offset;
    const work = this.#tail + chunk;
    this.#tailLength = this.#tail.length;
    this.#lineCache = { pos: 0, count: 0 };
    if (this.#atFileStart) {
      this.#atFileStart = false;
      const host = serverHostOf(work, 0);
      if (this.serverHost === undefined && host !== undefined) this.serverHost = detach(host);
    }
    this.#scan(work, this.#tailLength);
    // Keep the last HOLD_CHARS (cut at a line start) for look-back and pending events.
    const cut = work.length > HOLD_CHARS ? work.lastIndexOf("\n", work.length - HOLD_CHARS) + 1 : 0;
    const out: ConnEvent[] = [];
    const keep: Pending[] = [];
    for (const p of this.#pending) {
      if (p.pos >= cut) {
        p.pos -= cut;
        keep.push(p);
      } else {
        if (p.claim) p.claim.pending = undefined;
        if (!p.rejected) out.push(p.event);
      }
    }
    this.#pending = keep;
    if (this.#linesBefore !== undefined) this.#linesBefore += countNewlines(work, 0, cut);
    this.#tail = work.slice(cut);
    return out;
  }

  /** Releases the events still held back (end of the readable data). */
  finish(): ConnEvent[] {
    const out = this.#pending.filter((p) => !p.rejected).map((p) => p.event);
    this.#pending = [];
    return out;
  }

  #scan(text: string, from: number): void {
    let a = text.indexOf("NNECT,", from);
    let b = text.indexOf("GEUSER,", from);
    while (a >= 0 || b >= 0) {
      const hit = a < 0 ? b : b < 0 ? a : Math.min(a, b);
      let end = text.indexOf("\n", hit);
      if (end < 0) end = text.length;
      this.#line(text, text.lastIndexOf("\n", hit) + 1, end);
      if (a >= 0 && a < end) a = text.indexOf("NNECT,", end);
      if (b >= 0 && b < end) b = text.indexOf("GEUSER,", end);
    }
  }

  /** Looks at the line [start, end) that contains an operation name. */
  #line(text: string, start: number, end: number): void {
    const f = rightFields(text, start, end);
    if (!f) return; // a QUERY or other record that merely mentions the word
    const reject = (reason: string, at = start) => this.#reject(text, at, end, reason);
    const head = recordHead(text, start);
    if (!head) {
      this.#continuation(text, start, end, f);
      return;
    }
    if (!validWall(head.wall)) {
      this.malformed++;
      reject("malformed timestamp");
      return;
    }
    if (f.userEnd < head.userStart) {
      this.malformed++;
      reject("too few fields");
      return;
    }
    // A well-formed DISCONNECT says nothing about logins; only its malformed (continuation)
    // form matters, as the end of a multi-line username.
    if (f.op === "DISCONNECT") return;
    const event = this.#event(text, head, f, false);
    if (this.serverHost !== undefined && head.serverHost !== this.serverHost) {
      reject(`server host "${head.serverHost}" is not this file's "${this.serverHost}"`);
      return;
    }
    if (start > 0) {
      const prev = text.lastIndexOf("\n", start - 2) + 1;
      if (recordHead(text, prev) && !endsLikeRecord(text, start - 1)) {
        reject("follows an unfinished record (a username with a newline)");
        return;
      }
    }
    if (event.instant < this.lastInstant - TIME_SLACK_MS) {
      reject("earlier than the records before it");
      return;
    }
    const pending: Pending = { event, pos: start };
    if (event.op === "CONNECT" || event.op === "FAILED_CONNECT") {
      const seen = this.#logins.get(event.connId);
      if (seen && !seen.rejected && Math.abs(seen.instant - event.instant) <= TWIN_MS) {
        const earlier = seen.pending;
        if (earlier && !earlier.rejected) {
          earlier.rejected = "connection id claimed twice";
          seen.rejected = true;
          this.#reject(
            text,
            earlier.pos,
            text.indexOf("\n", earlier.pos),
            "connection id claimed by two login events",
          );
        }
        reject("connection id claimed by two login events");
        return;
      }
      pending.claim = { instant: event.instant, rejected: false, pending };
      this.#logins.set(event.connId, pending.claim);
      if (this.#logins.size > 10_000) this.#pruneLogins(event.instant);
    }
    this.lastInstant = Math.max(this.lastInstant, event.instant);
    this.#pending.push(pending);
  }

  #pruneLogins(now: number): void {
    for (const [id, v] of this.#logins) {
      if (now - v.instant > TWIN_MS) this.#logins.delete(id);
    }
  }

  /** A connection-event line that does not start a record: the end of a multi-line username. */
  #continuation(text: string, start: number, end: number, f: RightFields): void {
    // The record's first line starts at most a username plus its `timestamp,host,` earlier.
    const headLength = 19 + (this.serverHost?.length ?? 255) + 1;
    const limit = Math.max(0, f.userEnd - MAX_USER_CHARS - headLength);
    for (const p of this.#pending) {
      if (p.pos >= limit && p.pos < start && !p.rejected) {
        p.rejected = "inside a multi-line username";
        // A forged line must not keep its connection id from the genuine login that owns it.
        if (p.claim && this.#logins.get(p.event.connId) === p.claim) {
          this.#logins.delete(p.event.connId);
        }
        this.#reject(
          text,
          p.pos,
          text.indexOf("\n", p.pos),
          "inside a record whose username spans lines",
        );
      }
    }
    // Attribute the event to its record's first line: the earliest line in reach that starts
    // like a record but does not end like one; failing that, the nearest record start.
    let headStart = -1;
    let fragmentStart = -1;
    for (
      let s = text.lastIndexOf("\n", start - 2);
      start > 0 && s + 1 >= limit;
      s = text.lastIndexOf("\n", s - 1)
    ) {
      if (recordHead(text, s + 1)) {
        if (headStart < 0) headStart = s + 1;
        const nl = text.indexOf("\n", s + 1);
        if (!endsLikeRecord(text, nl)) fragmentStart = s + 1;
      }
      if (s < 0) break;
    }
    if (fragmentStart >= 0) headStart = fragmentStart;
    const head = headStart >= 0 ? recordHead(text, headStart) : undefined;
    if (!head || f.userEnd < head.userStart || !validWall(head.wall)) {
      this.malformed++;
      this.#reject(text, start, end, "continuation line without a record start");
      return;
    }
    const event = this.#event(text, head, f, true);
    this.#reject(
      text,
      start,
      end,
      `username spans lines (${event.op}, not counted as a login)`,
    );
    this.#pending.push({ event, pos: headStart });
  }

  #event(text: string, head: RecordHead, f: RightFields, multiline: boolean): ConnEvent {
    const instant = this.#zone.toInstant(head.wall, this.lastInstant);
    const host = splitHostPort(text.slice(f.userEnd + 1, f.hostEnd), this.#portsSeen);
    if (host.port) this.#portsSeen = true;
    return {
      op: f.op,
      user: text.slice(head.userStart, f.userEnd),
      host: host.host,
      connId: f.connId,
      retcode: f.retcode,
      wall: head.wall,
      instant,
      multiline,
    };
  }

  #reject(text: string, start: number, end: number, reason: string): void {
    if (this.#linesBefore === undefined) {
      // First warning in this file: count the lines before the chunk once, from the file.
      this.#linesBefore = this.#countLines(this.#chunkOffset) -
        countNewlines(text, 0, this.#tailLength);
    }
    const cache = this.#lineCache;
    if (cache.pos > start) {
      cache.pos = 0;
      cache.count = 0;
    }
    cache.count += countNewlines(text, cache.pos, start);
    cache.pos = start;
    const excerpt = detach(text.slice(start, Math.min(end < 0 ? text.length : end, start + 160)));
    this.rejections.push({ line: this.#linesBefore + cache.count + 1, reason, excerpt });
  }
}

interface RecordHead {
  wall: WallTime;
  serverHost: string;
  userStart: number;
}

/** Parses `YYYYMMDD HH:MM:SS,serverhost,` at `i`; undefined when the line does not start so. */
function recordHead(text: string, i: number): RecordHead | undefined {
  if (text.length < i + 19) return undefined;
  if (
    text.charCodeAt(i + 8) !== 32 || text.charCodeAt(i + 11) !== 58 ||
    text.charCodeAt(i + 14) !== 58 || text.charCodeAt(i + 17) !== 44
  ) return undefined;
  const year = digits(text, i, 4);
  const month = digits(text, i + 4, 2);
  const day = digits(text, i + 6, 2);
  const hour = digits(text, i + 9, 2);
  const minute = digits(text, i + 12, 2);
  const second = digits(text, i + 15, 2);
  if ((year | month | day | hour | minute | second) < 0) return undefined;
  const hostEnd = text.indexOf(",", i + 18);
  const lineEnd = text.indexOf("\n", i);
  if (hostEnd < 0 || (lineEnd >= 0 && hostEnd > lineEnd)) return undefined;
  const ok = month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 &&
    second <= 60;
  return {
    wall: ok ? Date.UTC(year, month - 1, day, hour, minute, second) : NaN,
    serverHost: text.slice(i + 18, hostEnd),
    userStart: hostEnd + 1,
  };
}

/** The decimal number in text[i, i+n), or -1 when a character is not a digit. */
function digits(text: string, i: number, n: number): number {
  let v = 0;
  for (let k = i; k < i + n; k++) {
    const c = text.charCodeAt(k) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A copy of `part` that does not point into the chunk it was cut from. V8 represents longer
 * slices as views on their parent string, so keeping one would keep a whole chunk alive.
 */
export function detach(part: string): string {
  return part.length < 13 ? part : decoder.decode(encoder.encode(part));
}

function validWall(wall: number): boolean {
  return Number.isFinite(wall);
}

function serverHostOf(text: string, i: number): string | undefined {
  return recordHead(text, i)?.serverHost;
}

/** True when the line ending at `nl` (a newline position) ends in `,<digits>`. */
function endsLikeRecord(text: string, nl: number): boolean {
  let i = nl - 1;
  const stop = i;
  while (i >= 0 && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i--;
  return i < stop && i >= 0 && text.charCodeAt(i) === 44;
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

/** Reads `,host,connid,queryid,OP,db,object,retcode` from the end of [start, end). */
function rightFields(text: string, start: number, end: number): RightFields | undefined {
  const c1 = text.lastIndexOf(",", end - 1);
  if (c1 < start) return undefined;
  const retcode = intField(text, c1 + 1, end, true);
  if (retcode === undefined) return undefined;
  const c2 = text.lastIndexOf(",", c1 - 1);
  if (c2 < start || text.slice(c2 + 1, c1).includes("'")) return undefined;
  const c3 = text.lastIndexOf(",", c2 - 1);
  if (c3 < start || text.slice(c3 + 1, c2).includes("'")) return undefined;
  const c4 = text.lastIndexOf(",", c3 - 1);
  if (c4 < start) return undefined;
  const op = OPS[text.slice(c4 + 1, c3)];
  if (!op) return undefined;
  const c5 = text.lastIndexOf(",", c4 - 1);
  if (c5 < start || intField(text, c5 + 1, c4, false) !== 0) return undefined;
  const c6 = text.lastIndexOf(",", c5 - 1);
  if (c6 < start) return undefined;
  const connId = intField(text, c6 + 1, c5, false);
  if (connId === undefined) return undefined;
  const c7 = text.lastIndexOf(",", c6 - 1);
  if (c7 < start) return undefined;
  return { op, connId, retcode, userEnd: c7, hostEnd: c6 };
}

function intField(text: string, a: number, b: number, signed: boolean): number | undefined {
  if (b <= a || b - a > 20) return undefined;
  let i = a;
  if (signed && text.charCodeAt(i) === 45) i++;
  if (i === b) return undefined;
  for (let k = i; k < b; k++) {
    const c = text.charCodeAt(k);
    if (c < 48 || c > 57) return undefined;
  }
  return Number(text.slice(a, b));
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
