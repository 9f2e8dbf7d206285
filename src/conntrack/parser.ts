/**
 * The server_audit record parser: file bytes in, connection events out. Pure (no I/O).
 *
 * A record is `YYYYMMDD HH:MM:SS,serverhost,username,host,connid,queryid,OPERATION,db,object,retcode`
 * and ends with a newline (CRLF is read too). Only connection events matter here, so the bytes
 * are never split into lines or decoded as a whole: a byte search ({@link ByteOps}) finds the
 * operation names (`…NECT,`, `…USER,`) and only the line around each hit is decoded. The fixed
 * fields are read from the right, because the username is whatever an unauthenticated client
 * sent (commas, quotes, newlines: up to 128 characters that may look like whole records).
 *
 * Checks made as soon as a line is read (each refusal is counted, and the first ones are kept
 * with line number and excerpt):
 * - a record starts at a line start with a real date and time and this file's server host
 *   (from the checkpoint, else the file's first line, which the server always starts, else the
 *   first valid record when the file starts with garbage);
 * - `,connid,queryid,OP,db,object,retcode` must match exactly: numeric ids, queryid 0, retcode
 *   an integer written the way the server writes it (`-0` or `00` are malformed), no quote or
 *   comma in db/object (QUERY lines end in a quoted object, so they never match);
 * - no control byte in the username or host of a successful login;
 * - a connection-event line that does not start with a timestamp ends a record whose username
 *   held a newline: every event in the bytes that username can span is refused, and the event
 *   is attributed to the username across the lines (never to `Accounts`);
 * - walking back from an event to the nearest line that starts like a record, within a
 *   username's reach: that line must be the previous one and a complete record; otherwise the
 *   event is inside a username that spans lines and is refused;
 * - a record dated more than a day after the file was last written is refused.
 *
 * Checks made once the neighbours on both sides are known ({@link DECIDE_LAG} bytes later):
 * - connection id claims: each login attempt has one CONNECT or FAILED_CONNECT and one
 *   DISCONNECT. The server writes a username twice (the login record and the DISCONNECT), so a
 *   forged record inside it appears twice with identical text: such copies (of login,
 *   DISCONNECT and continuation lines) are refused, and two different login records claiming one
 *   id within {@link TWIN_BYTES} are both refused (nothing tells which is real). Claims are kept
 *   by file position, so no number of logins in between can push one out of the window;
 * - time: an event more than a minute earlier (or later) than both the median time of the
 *   events before it and that of the events after it is refused. A median of several neighbours,
 *   none in the same record, cannot be moved by one forged record; a clock stepped back puts a
 *   genuine event out of line with one side only; records dated after the file's last write never
 *   serve as neighbours;
 * - connection id sequence: ids rise (allowing reordering between concurrent logins, and a server
 *   restart starting again from 1); a login id far outside the ids of its neighbours is refused.
 *
 * Every refused line also refuses the events within a username's reach of it (before and after):
 * a refused line is inside a username, whose other lines are the attacker's too. Identical copies
 * tell exactly which bytes the username covers; otherwise the reach is its maximum length.
 * Events are held back until {@link HOLD_BYTES} more bytes have been seen, so these checks can
 * still refuse them; {@link AuditParser.finish} releases the rest.
 *
 * The bytes of the previous file's end (or of this file before the checkpoint) can be fed first,
 * and the next file's start after the end, as context: they take part in the checks above, but
 * their own events and refusals belong to that other file's run.
 * @module
 */
import { type ByteOps, jsByteOps } from "./byte_ops.ts";
import { BytesCache, IdTable } from "./interner.ts";
import { byteString, decodeName, hasControlByte } from "./names.ts";
import {
  completeRecord,
  type ConnOp,
  endsLikeRecord,
  intField,
  isPlainDisconnect,
  lastByte,
  type RecordHead,
  recordHead,
  type RightFields,
  rightFields,
  splitHostPort,
  startsLikeRecord,
} from "./record.ts";
import type { WallTime, Zone } from "../time/tz.ts";

export type { ConnOp } from "./record.ts";
export { splitHostPort, wallTime } from "./record.ts";

/** One connection event read from the log. */
export interface ConnEvent {
  op: ConnOp;
  /** Username as sent by the client, byte-exact (see names.ts). */
  user: string;
  /** Client host without the port that MariaDB ≥ 12.0.1 appends (byte-exact). */
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
  who: Who;
}

/**
 * A username and client host as records write them, decoded once per thread (byte-exact, see
 * names.ts); whoever aggregates events may note where it keeps this account (`owner`, `row`) to
 * find it again without hashing the strings.
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
  /**
   * File offset of the first byte whose events and refusals belong to this run (a line start).
   * Bytes fed before it are context (see the module notes).
   */
  startOffset: number;
  /** The server host of this file, when known from an earlier run. */
  serverHost?: string;
  /** The server host of the context fed before `startOffset`, when known. */
  contextServerHost?: string;
  /** Instant of the events read last in an earlier run of this file. */
  lastInstant?: number;
  /**
   * The latest instant the file can have been written at (its mtime, or the current time if
   * that is earlier). Records dated after it never serve as a time reference.
   */
  lastWrite?: number;
  /**
   * Counts newlines in the file before byte `offset`; called once, when the first warning needs
   * a line number. Default: line numbers relative to the start offset.
   */
  countLines?: (offset: number) => number;
  /** Byte search implementation; default {@link jsByteOps}. */
  ops?: ByteOps;
  /** How many refusals to keep with details; default {@link MAX_REJECTION_DETAILS}. */
  detailLimit?: number;
}

/**
 * The longest username the server logs: it keeps 128 characters (USERNAME_CHAR_LENGTH), so a
 * username spans at most this many characters (with slack).
 */
export const MAX_USER_CHARS = 130;
/** Rejections kept with line number and excerpt per file and run; the rest are only counted. */
export const MAX_REJECTION_DETAILS = 20;
/** Events stay pending until this many bytes follow them. */
export const HOLD_BYTES = 64 * 1024;
/** Login (or DISCONNECT) records of one connection id within this many bytes are compared. */
export const TWIN_BYTES = 56 * 1024;
/**
 * Checks that need neighbours on both sides are made once this many bytes follow an event. A
 * decision looks at nothing more than {@link TWIN_BYTES} after the event, and a line read later
 * refuses lines at most a username's reach (well under the 4 KiB margin) before it, so what a
 * decision sees does not depend on how far beyond this the reads have gone (the read size).
 */
export const DECIDE_LAG = TWIN_BYTES + 4 * 1024;
/**
 * Records this close to an event may belong to the same record (a username holds up to 128
 * characters of up to 4 bytes, after a server host of up to 255), so they never serve as its
 * neighbours in the time and id checks. Identical copies further away are left out by the
 * twin check.
 */
export const NEAR_BYTES = 1024;
/** How many neighbours on each side the time and id checks look at… */
const NEIGHBOURS = 8;
/** …and how many a side needs to count. */
const MIN_NEIGHBOURS = 3;
/** How far an event's time may stray from its neighbours' (threads write slightly out of order). */
const TIME_SLACK_MS = 60_000;
/** How far after the file's last write a record may be dated and still serve as a reference. */
const FUTURE_SLACK_MS = 60_000;
/**
 * Records dated after the file's last write by more than this are refused: more than any
 * difference between TimeLocation and the server's real zone can explain.
 */
const FUTURE_LIMIT_MS = 27 * 3_600_000;
/** A login id may be this far above its neighbours' (plus 8× their spread)… */
const SEQ_AHEAD = 4096;
/** …or this far below (a slow client's id is older than those logged around it). */
const SEQ_BEHIND = 65_536;
/** The longest a username plus its record can be in bytes (for comparing copies). */
const MAX_RECORD_BYTES = 4 * MAX_USER_CHARS + 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Usernames and hosts seen in this thread, by their bytes (a log repeats the same few thousand). */
const accounts = new BytesCache<Who>();

const CONTROL_IN_LOGIN = "control character in the username or host of a login";
const WITHIN_REACH = "within a username's reach of a refused line";
const TOO_LATE = "dated more than a day after the file was last written";

/** Why a line with a connection event's shape is malformed (see #line). */
function malformedReason(f: RightFields, head: RecordHead): string {
  if (f.bad) return f.bad;
  if (!Number.isFinite(head.wall)) return "impossible date";
  return "too few fields";
}

/** Kinds of connection id claim a record makes (index into AuditParser.#claims). */
const NO_CLAIM = 0;
/** A CONNECT or FAILED_CONNECT: one per connection id. */
const LOGIN = 1;
/** A DISCONNECT: one per connection id. */
const DISCONNECT = 2;
/** The last line of a username that spans lines (the server writes two such, different). */
const TAIL = 3;

/** A record read but not released yet, or a claim on a connection id (one shape for all). */
class Pending {
  /** The event; undefined for a well-formed DISCONNECT, kept only as a claim on its id. */
  event: ConnEvent | undefined;
  /** File offset of the record's first line. */
  pos: number;
  /** File offsets of the line the fields were read from, and of its end (before CR/LF). */
  line: number;
  lineEnd: number;
  connId: number;
  claim: number;
  /** The line's text: computed when another claim on the same id is near. */
  key: string | undefined = undefined;
  /** The previous claim of this kind on this id, when it was near. */
  older: Pending | undefined = undefined;
  /**
   * File offsets of the bytes an identical copy of this line shares with it (-Infinity while
   * unknown; offsets of context before the file are negative).
   */
  sharedFrom = -Infinity;
  sharedTo = -Infinity;
  decided: boolean;
  rejected: string | undefined;
  /** Refused as a twin rather than for its own shape: it still makes others ambiguous. */
  twin = false;

  constructor(
    event: ConnEvent | undefined,
    pos: number,
    line: number,
    lineEnd: number,
    connId: number,
    claim: number,
    decided = false,
    rejected: string | undefined = undefined,
  ) {
    this.event = event;
    this.pos = pos;
    this.line = line;
    this.lineEnd = lineEnd;
    this.connId = connId;
    this.claim = claim;
    this.decided = decided;
    this.rejected = rejected;
  }
}

/** The last few accepted values (times or ids) with their positions. */
class Recent {
  // Room for the neighbours beyond NEAR_BYTES even in a log of bare CONNECT/DISCONNECT pairs.
  readonly #pos = new Float64Array(64);
  readonly #val = new Float64Array(64);
  #n = 0;
  #median: number | undefined = undefined;
  #dirty = false;

  /** The latest values (with their positions unless `values`), newest first, as text. */
  digest(values = false): string {
    const out: string[] = [];
    for (let k = this.#n - 1; k >= 0 && k >= this.#n - 64; k--) {
      out.push(values ? `${this.#val[k & 63]}` : `${this.#pos[k & 63]}:${this.#val[k & 63]}`);
    }
    return out.join(" ");
  }

  push(pos: number, val: number): void {
    this.#pos[this.#n & 63] = pos;
    this.#val[this.#n & 63] = val;
    this.#n++;
    this.#dirty = true;
  }

  /** Median of the latest NEIGHBOURS values, undefined when there are none. */
  get median(): number | undefined {
    if (this.#dirty) {
      this.#dirty = false;
      const n = this.before(Infinity, SCRATCH_M);
      this.#median = n ? median(SCRATCH_M, n) : undefined;
    }
    return this.#median;
  }

  /** Copies up to NEIGHBOURS of the latest values at positions ≤ `maxPos` into `out`; their count. */
  before(maxPos: number, out: Float64Array): number {
    let n = 0;
    for (let k = this.#n - 1; k >= 0 && k >= this.#n - 64 && n < NEIGHBOURS; k--) {
      if (this.#pos[k & 63] <= maxPos) out[n++] = this.#val[k & 63];
    }
    return n;
  }
}

/** Incremental parser for one audit file. */
export class AuditParser {
  /** Lines with a connection-event shape that were refused. */
  readonly rejections: Rejection[] = [];
  /** All refused lines, including those beyond {@link MAX_REJECTION_DETAILS}. */
  rejected = 0;
  /** Connection-event lines that were malformed (bad timestamp, bad fields). */
  malformed = 0;
  /** Accepted events dated after the file's last write (TimeLocation not the server's zone?). */
  lateDated = 0;
  /**
   * After {@link feed}: the buffer index from which the caller must keep the bytes in front of
   * the next call's new data (look-back for the checks above).
   */
  keepFrom = 0;

  #zone: Zone;
  #ops: ByteOps;
  /** Records not yet released, in file order of their first line. */
  #pending: Pending[] = [];
  /** The latest connection id claim by kind and id (older ones hang from it, see #addClaim). */
  #claims = [
    new IdTable<Pending>(),
    new IdTable<Pending>(),
    new IdTable<Pending>(),
    new IdTable<Pending>(),
  ];
  /** All claims in file order, for pruning; #claimHead is the first still kept. */
  #claimOrder: Pending[] = [];
  #claimHead = 0;
  /**
   * File offsets where a record certainly ends and the next starts: after each continuation
   * line, and at file boundaries. A username never spans one, which bounds every reach.
   */
  #recordEnds: number[] = [];
  /** Times of the latest accepted events (the time check's reference before an event). */
  #times = new Recent();
  /** Times of the latest events read, accepted or not yet: the reference for DST. */
  #read = new Recent();
  #ids = new Recent();
  #countLines: (offset: number) => number;
  #start: number;
  /** End of this file's bytes once {@link endOfFile} was called (then context follows). */
  #end = Infinity;
  /** End of this file's bytes once {@link endOfFile} was called (not moved by endOfRange). */
  #fileEnd = Infinity;
  #inContextBefore = true;
  #fileHost: string | undefined;
  #contextHost: string | undefined;
  #checkHost: string | undefined;
  #checkHostBytes: Uint8Array | undefined;
  /** File offset from which the server host is still to be learned (undefined: known). */
  #learnFrom: number | undefined;
  /** True when #learnFrom is a file's first byte (its first line's head is the server's). */
  #learnAtFileStart = false;
  #portsSeen = false;
  #ceiling: number;
  /** Lines starting up to here are within a username's reach of a refused line. */
  #taintUntil = -Infinity;
  /** Characters of the reach in #taintUntil not read yet (see #taintFurther). */
  #taintLeft = 0;
  /** Set by #reachAhead: characters of its reach past the bytes read. */
  #reachLeft = 0;
  #fileLastInstant: number | undefined;
  /** A file offset whose line count is known, once a warning needed line numbers. */
  #known: { offset: number; lines: number } | undefined;
  #buf: Uint8Array = new Uint8Array(0);
  #base = 0;
  #to = 0;
  #detailLimit: number;

  constructor(options: ParserOptions) {
    this.#zone = options.zone;
    this.#ops = options.ops ?? jsByteOps;
    this.#start = options.startOffset;
    this.#fileHost = options.serverHost;
    this.#contextHost = options.contextServerHost;
    this.#ceiling = (options.lastWrite ?? Infinity) + FUTURE_SLACK_MS;
    if (options.lastInstant !== undefined && Number.isFinite(options.lastInstant)) {
      for (let k = 0; k < MIN_NEIGHBOURS; k++) {
        this.#times.push(-Infinity, options.lastInstant);
        this.#read.push(-Infinity, options.lastInstant);
      }
    }
    const start = options.startOffset;
    this.#countLines = options.countLines ?? ((offset) => offset === start ? 0 : NaN);
    this.#detailLimit = options.detailLimit ?? MAX_REJECTION_DETAILS;
  }

  /** Server host of this file's records (from the checkpoint or the first valid record). */
  get serverHost(): string | undefined {
    return this.#fileHost;
  }

  /** The instant the time check refers to: the median of the latest accepted events. */
  get lastInstant(): number {
    return this.#fileLastInstant ?? this.#times.median ?? -Infinity;
  }

  /**
   * Parses buf[from, to): complete lines at file offset `base + from`. buf[0, from) must hold
   * the bytes kept since the previous call (from {@link keepFrom}), or nothing at the start.
   * Context before `startOffset` is fed in calls of its own. Returns the events that can no
   * longer be refused.
   */
  feed(buf: Uint8Array, base: number, from: number, to: number): ConnEvent[] {
    this.#buf = buf;
    this.#base = base;
    this.#to = to;
    const at = base + from;
    if (this.#inContextBefore) {
      if (at >= this.#start) {
        this.#inContextBefore = false;
        // The first byte of a file is a record boundary (context from the previous file).
        if (this.#start === 0 && at === 0 && from > 0) this.#recordEnds.push(0);
        this.#setCheckHost(this.#fileHost, this.#start, this.#start === 0);
      } else if (this.#learnFrom === undefined && this.#checkHost === undefined) {
        this.#setCheckHost(this.#contextHost, at, false);
      }
    }
    if (this.#learnFrom !== undefined && to > from) this.#learnHost(from, to);
    if (this.#taintLeft > 0) this.#resolveTaint(from, to);
    let lineEnd = -1;
    this.#ops.markers(buf, from, to, (hit, start, nl, prev) => {
      if (hit < lineEnd) return; // one look per line
      lineEnd = nl;
      const end = buf[lineEnd - 1] === 13 ? lineEnd - 1 : lineEnd;
      if (isPlainDisconnect(buf, start, hit, end)) this.#disconnect(start, hit, end);
      else this.#line(start, end, prev);
    });
    this.#decide(base + to - DECIDE_LAG);
    // Keep the last HOLD_BYTES (from a line start) for look-back and pending events.
    const cut = to > HOLD_BYTES ? Math.max(0, buf.lastIndexOf(10, to - HOLD_BYTES) + 1) : 0;
    this.keepFrom = cut;
    const out = this.#release(base + cut);
    if (this.#known && this.#known.offset < base + cut) {
      this.#known = {
        offset: base + cut,
        lines: this.#known.lines + this.#ops.newlines(buf, this.#known.offset - base, cut),
      };
    }
    return out;
  }

  /**
   * Marks the end of this file's bytes: what is fed next is the start of the next file, as
   * context. Call it after the last complete line of the file was fed.
   */
  endOfFile(): void {
    this.#end = this.#base + this.#to;
    this.#fileEnd = this.#end;
    this.#fileLastInstant = this.#times.median;
    this.#recordEnds.push(this.#end);
    this.#untaint();
    this.#setCheckHost(undefined, this.#end, true);
  }

  /**
   * Tells the parser that the caller moved the buffer's bytes `by` places to the front (after
   * {@link feed}, from {@link keepFrom}): what is still decided or recorded later (at
   * {@link finish}, or after a skipped line) reads them where they are now.
   */
  shifted(by: number): void {
    this.#base += by;
    this.#to -= by;
  }

  /**
   * Marks the end of this run's range inside a file (a split, see scan.ts): what is fed next
   * is the rest of the same file, read as context; nothing else changes.
   */
  endOfRange(): void {
    this.#end = this.#base + this.#to;
  }

  /**
   * Everything that decides what this parser does with the bytes after the last ones fed, from
   * file offset `from` on, as text: two parsers with equal digests after the same byte treat
   * the rest alike. Used to check that a range read with only some context before it is in the
   * state a parser that read the whole file before it would be in.
   */
  digest(from: number): string {
    const parts: string[] = [
      this.#times.digest(),
      this.#ids.digest(),
      this.#read.digest(true),
      `${this.#portsSeen} ${this.#checkHost} ${this.#learnFrom} ${this.#taintUntil} ${this.#taintLeft}`,
      this.#recordEnds.filter((e) => e >= from).join(" "),
    ];
    for (const p of this.#pending) {
      if (p.pos < from) return "pending before the digest's start";
      const e = p.event;
      parts.push(
        `P ${p.pos} ${p.line} ${p.lineEnd} ${p.claim} ${p.connId} ${p.decided} ${p.rejected} ${p.twin} ${p.sharedFrom} ${p.sharedTo} ${p.key} ${
          e ? `${e.op} ${e.user.length}:${e.user} ${e.host} ${e.instant} ${e.multiline}` : ""
        }`,
      );
    }
    const order = this.#claimOrder;
    for (let h = this.#claimHead; h < order.length; h++) {
      const p = order[h];
      if (p.pos < from) return "claim before the digest's start";
      parts.push(`C ${p.pos} ${p.claim} ${p.connId} ${p.key} ${p.older?.pos} ${p.rejected}`);
    }
    return parts.join("\n");
  }

  /** Releases the events still held back (end of the readable data). */
  finish(): ConnEvent[] {
    this.#decide(Infinity);
    return this.#release(Infinity);
  }

  /**
   * Drops the events still held back, for data that may still be completed (the end of a live
   * log being written), and returns the file offset of the first one's record, from where the
   * next run must read again; undefined when nothing was held back.
   */
  withhold(): number | undefined {
    let first: number | undefined;
    for (const p of this.#pending) {
      if (p.event && this.#counts(p.pos) && (first === undefined || p.pos < first)) first = p.pos;
    }
    this.#pending = [];
    return first;
  }

  /** The server host records are checked against; undefined: learn it from `from` on. */
  #setCheckHost(host: string | undefined, from: number, atFileStart: boolean): void {
    this.#checkHost = host;
    this.#checkHostBytes = host === undefined ? undefined : encoder.encode(host);
    this.#learnFrom = host === undefined ? from : undefined;
    this.#learnAtFileStart = atFileStart;
  }

  /** True when an event or refusal at file offset `pos` belongs to this file's run. */
  #counts(pos: number): boolean {
    return pos >= this.#start && pos < this.#end;
  }

  /**
   * Learns the server host. A file's first line always starts with the server's own
   * `timestamp,serverhost,` (whatever follows it), so its host is taken when its date is real;
   * otherwise (garbage first, or reading from the middle) the first valid record gives it: a
   * real date, a clean host field, a line that is a complete record.
   */
  #learnHost(from: number, to: number): void {
    const buf = this.#buf;
    let i = Math.max(from, this.#learnFrom! - this.#base);
    let first = this.#learnAtFileStart && this.#base + i === this.#learnFrom;
    while (i < to) {
      let nl = buf.indexOf(10, i);
      if (nl < 0 || nl > to) nl = to;
      const end = buf[nl - 1] === 13 ? nl - 1 : nl;
      const head = recordHead(buf, i, end);
      if (
        head && Number.isFinite(head.wall) && head.userStart - 1 > i + 18 &&
        !hasControlByte(buf, i + 18, head.userStart - 1) && (first || completeRecord(buf, i, end))
      ) {
        const host = decodeName(buf, i + 18, head.userStart - 1);
        if (this.#counts(this.#base + i)) this.#fileHost = host;
        this.#setCheckHost(host, 0, false);
        return;
      }
      first = false;
      i = nl + 1;
    }
    this.#learnFrom = this.#base + to;
    this.#learnAtFileStart = false;
  }

  /** A well-formed DISCONNECT: only its claim on the connection id is kept. */
  #disconnect(start: number, hit: number, end: number): void {
    const buf = this.#buf;
    // `,connid,0,DISCONNECT,`: the comma before DISCONNECT is at hit - 7.
    const c1 = hit - 7;
    const c2 = lastByte(buf, 44, c1 - 1);
    const c3 = c2 > start ? lastByte(buf, 44, c2 - 1) : -1;
    const connId = c3 >= start ? intField(buf, c3 + 1, c2) : undefined;
    if (connId === undefined) return;
    const at = this.#base + start;
    const p = new Pending(undefined, at, at, this.#base + end, connId, DISCONNECT);
    this.#addClaim(p);
    this.#pending.push(p);
  }

  /**
   * Looks at the line buf[start, end) that contains an operation name. Kept short, with every
   * refusal in a method of its own: V8 compiles a function with its optimizing tier only after
   * running it in proportion to its size, and this one runs for every connection event.
   */
  #line(start: number, end: number, prev: number): void {
    const buf = this.#buf;
    const f = rightFields(buf, start, end);
    if (!f) return; // a QUERY or other record that merely mentions the word
    const head = recordHead(buf, start, end);
    if (!head) return this.#continuation(start, end, f);
    if (f.bad || !Number.isFinite(head.wall) || f.userEnd < head.userStart) {
      return this.#refuseMalformed(start, end, malformedReason(f, head));
    }
    // A well-formed DISCONNECT went to #disconnect; what is left of them says nothing.
    if (f.op === "DISCONNECT") return;
    // First the walk back: when it finds the line that holds a username's start, the refusal
    // reaches exactly that username.
    const inside = this.#insideUsername(start, prev);
    if (inside >= 0) return this.#refuseInside(start, end, f, inside);
    if (this.#checkHost !== undefined && !this.#isServerHost(buf, start + 18, head.userStart - 1)) {
      return this.#refuseHost(start, end, f, head.userStart - 1);
    }
    // A successful login's name and host go to Accounts: no control byte there. Failed and
    // other attempts are kept as sent (every output escapes them).
    if (f.op === "CONNECT" && f.retcode === 0 && hasControlByte(buf, head.userStart, f.hostEnd)) {
      return this.#refuse(start, end, CONTROL_IN_LOGIN, true, f);
    }
    if (this.#base + start <= this.#taintUntil) {
      return this.#refuse(start, end, WITHIN_REACH, false, f);
    }
    const event = this.#event(this.#who(head.userStart, f), head.wall, f, false);
    if (event.instant > this.#ceiling - FUTURE_SLACK_MS + FUTURE_LIMIT_MS) {
      return this.#refuse(start, end, TOO_LATE, true, f);
    }
    const at = this.#base + start;
    const claim = event.op === "CONNECT" || event.op === "FAILED_CONNECT" ? LOGIN : NO_CLAIM;
    const p = new Pending(event, at, at, this.#base + end, event.connId, claim);
    if (claim !== NO_CLAIM) this.#addClaim(p);
    this.#pending.push(p);
  }

  /** Refuses an event line inside a username that starts on the line at buf[inside]. */
  #refuseInside(start: number, end: number, f: RightFields, inside: number): void {
    const buf = this.#buf;
    const reason = buf.indexOf(10, inside) + 1 === start
      ? "follows an unfinished record (a username with a newline)"
      : "inside a record whose username spans lines";
    this.#record(start, end, reason);
    this.#claimRefused(start, end, f, reason);
    const head = recordHead(buf, inside, buf.indexOf(10, inside));
    const from = this.#base + inside;
    const to = head ? this.#reachAhead(head.userStart) : this.#reachAhead(start);
    const left = this.#reachLeft;
    this.#taintRange(from, to, reason);
    this.#taintFurther(to, left);
  }

  /** Refuses an event line whose server host (ending at buf[hostEnd]) is not this file's. */
  #refuseHost(start: number, end: number, f: RightFields, hostEnd: number): void {
    const found = decoder.decode(this.#buf.subarray(start + 18, hostEnd));
    this.#refuse(
      start,
      end,
      `server host "${found}" is not this file's "${this.#checkHost}"`,
      true,
      f,
    );
  }

  /**
   * Whether the event line at buf[start] is inside a username that spans lines: walking back
   * within a username's reach, the nearest line that starts like a record must be the line
   * just before and a complete record, unless a continuation line (the end of another
   * username) comes first. Returns the buffer index of the line that holds the username's
   * start, or -1. `prevStart` is the start of the line before (found with the line's bounds).
   */
  #insideUsername(start: number, prevStart: number): number {
    const buf = this.#buf;
    const at = this.#base + start;
    if (start === 0 || this.#isRecordEnd(at)) return -1;
    // The reach is only worked out when the walk goes further than any username could
    // without it (the usual case: the line just before is a short record).
    let limit = -1;
    let s = start;
    let between = 0;
    while (s > 0) {
      const prev = s === start ? prevStart : s >= 2 ? lastByte(buf, 10, s - 2) + 1 : 0;
      if (between > 0 || start - prev > MAX_USER_CHARS) {
        if (limit < 0) {
          limit = Math.max(this.#reachBack(start), this.#lastRecordEnd(at) - this.#base, 0);
        }
        if (prev < limit) return -1;
      }
      const nl = s - 1;
      const end = buf[nl - 1] === 13 ? nl - 1 : nl;
      if (startsLikeRecord(buf, prev)) {
        return between === 0 && completeRecord(buf, prev, end) ? -1 : prev;
      }
      const tail = rightFields(buf, prev, end);
      if (tail && !tail.bad) return -1; // a continuation line: that username ended there
      between++;
      s = prev;
    }
    return -1;
  }

  /** True when file offset `at` is in #recordEnds. */
  #isRecordEnd(at: number): boolean {
    const ends = this.#recordEnds;
    for (let k = ends.length - 1; k >= 0 && ends[k] >= at; k--) if (ends[k] === at) return true;
    return false;
  }

  /** The last record end at or before file offset `at` (-Infinity if none). */
  #lastRecordEnd(at: number): number {
    const ends = this.#recordEnds;
    for (let k = ends.length - 1; k >= 0; k--) if (ends[k] <= at) return ends[k];
    return -Infinity;
  }

  /** The first record end after file offset `at` (Infinity if none yet). */
  #nextRecordEnd(at: number): number {
    const ends = this.#recordEnds;
    let next = Infinity;
    for (let k = ends.length - 1; k >= 0 && ends[k] > at; k--) next = ends[k];
    return next;
  }

  /**
   * Buffer index from which a username holding the line at buf[at] could have started its
   * record: MAX_USER_CHARS characters back, plus the record's `timestamp,serverhost,`.
   */
  #reachBack(at: number): number {
    const buf = this.#buf;
    let i = at;
    for (let chars = 0; i > 0 && chars < MAX_USER_CHARS;) {
      i--;
      if ((buf[i] & 0xc0) !== 0x80) chars++;
    }
    const hostBytes = this.#checkHostBytes?.length ?? 255;
    return Math.max(0, i - (19 + hostBytes + 1));
  }

  /**
   * File offset up to which a username whose text reaches buf[at] could go on. When the bytes
   * read so far end first, every character still to come is taken as 4 bytes, and
   * {@link #reachLeft} says how many those are (0 when the reach is exact).
   */
  #reachAhead(at: number): number {
    const buf = this.#buf;
    let i = at;
    let chars = 0;
    for (; i < this.#to && chars < MAX_USER_CHARS; i++) {
      if ((buf[i] & 0xc0) !== 0x80) chars++;
    }
    this.#reachLeft = MAX_USER_CHARS - chars;
    return this.#base + i + 4 * this.#reachLeft;
  }

  /**
   * Lines read from now on that start up to file offset `to` are refused. `left` > 0: `to` is
   * the end of the bytes read plus 4 bytes for each of `left` characters still to come; the
   * next {@link feed} counts them in its bytes ({@link #resolveTaint}), so that the reach does
   * not depend on where a read ended.
   */
  #taintFurther(to: number, left = 0): void {
    if (to > this.#taintUntil) {
      this.#taintUntil = to;
      this.#taintLeft = left;
    }
  }

  /** Lines read from now on are refused by no earlier line. */
  #untaint(): void {
    this.#taintUntil = -Infinity;
    this.#taintLeft = 0;
  }

  /**
   * Makes a reach that ran past the previous bytes exact: counts its remaining characters in
   * buf[from, to) (the bytes that follow those).
   */
  #resolveTaint(from: number, to: number): void {
    const buf = this.#buf;
    let left = this.#taintLeft;
    let i = from;
    for (; i < to && left > 0; i++) if ((buf[i] & 0xc0) !== 0x80) left--;
    this.#taintLeft = left;
    this.#taintUntil = this.#base + i + 4 * left;
  }

  /** A connection-event line that does not start a record: the end of a multi-line username. */
  #continuation(start: number, end: number, f: RightFields): void {
    const buf = this.#buf;
    const at = this.#base + start;
    const userEnd = f.userEnd; // the comma that ends the username
    const limit = Math.max(this.#reachBack(userEnd), this.#lastRecordEnd(at) - this.#base);
    // This line ends a record: what follows starts a new one.
    this.#recordEnds.push(
      this.#base + (buf.indexOf(10, end) < 0 ? this.#to : buf.indexOf(10, end) + 1),
    );
    this.#untaint();
    // Every event whose line starts in reach is inside this username.
    this.#taintRange(this.#base + limit, at - 1, "inside a record whose username spans lines");
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
    if (!head || userEnd < userStart || !Number.isFinite(head.wall) || f.bad) {
      return this.#refuseMalformed(start, end, "continuation line without a record start", false);
    }
    const event = this.#event(this.#who(userStart, f), head.wall, f, true);
    this.#record(start, end, `username spans lines (${event.op}, not counted as a login)`);
    const p = new Pending(event, this.#base + headStart, at, this.#base + end, event.connId, TAIL);
    this.#addClaim(p);
    this.#insertPending(p);
  }

  #insertPending(p: Pending): void {
    const list = this.#pending;
    let i = list.length;
    while (i > 0 && list[i - 1].pos > p.pos) i--;
    list.splice(i, 0, p);
  }

  /**
   * The user buf[userStart, f.userEnd) and host up to f.hostEnd, decoded byte-exact, from the
   * cache when these bytes were seen before.
   */
  #who(userStart: number, f: RightFields): Who {
    const buf = this.#buf;
    const hostEnd = f.hostEnd;
    // Same bytes, same split between user and host, same port reading: same answer.
    const tag = (f.userEnd - userStart) * 4 + (this.#portsSeen ? 1 : 0);
    // MariaDB 12 logs the client's port, a new one per connection. Whether splitHostPort cuts
    // `host:port`, and the host it gives, depend on the bytes before the port only, so a host
    // ending in `:digits` is looked up without them (tag + 2) and found whatever its port.
    const colon = portColon(buf, f.userEnd + 1, hostEnd);
    const known = (colon >= 0 ? accounts.find(buf, userStart, colon, tag + 2) : undefined) ??
      accounts.find(buf, userStart, hostEnd, tag);
    if (known) return known;
    const host = splitHostPort(decodeName(buf, f.userEnd + 1, hostEnd), this.#portsSeen);
    const user = decodeName(buf, userStart, f.userEnd);
    const who = { user, host: host.host, port: host.port, owner: 0, row: 0 };
    return colon >= 0 && host.port
      ? accounts.add(buf, userStart, colon, tag + 2, who)
      : accounts.add(buf, userStart, hostEnd, tag, who);
  }

  #event(who: Who, wall: WallTime, f: RightFields, multiline: boolean): ConnEvent {
    // A wall time in the repeated hour of a DST change is read as the instant that keeps
    // the log in order: the one not before the median of the records just read.
    const zone = this.#zone;
    const change = zone.offsetAt(wall - 14 * 3_600_000) !== zone.offsetAt(wall + 14 * 3_600_000);
    const instant = zone.toInstant(wall, change ? this.#read.median : undefined);
    if (instant <= this.#ceiling) this.#read.push(this.#base + this.#to, instant);
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

  /** True when buf[from, to) is the server host records are checked against. */
  #isServerHost(buf: Uint8Array, from: number, to: number): boolean {
    const want = this.#checkHostBytes!;
    if (to - from !== want.length) return false;
    for (let i = 0; i < want.length; i++) if (buf[from + i] !== want[i]) return false;
    return true;
  }

  // ---- connection id claims -------------------------------------------------------------

  /**
   * Registers a claim: it becomes the id's latest, the previous one hangs from it (until it is
   * pruned), so that a claim read far ahead never hides the ones near an earlier claim. When
   * another claim on the id is near, both get their text as key (their bytes are still in the
   * buffer then).
   */
  #addClaim(p: Pending): void {
    const map = this.#claims[p.claim];
    const prev = map.get(p.connId);
    p.older = prev;
    if (prev && p.pos - prev.pos <= TWIN_BYTES) {
      p.key = this.#keyOf(p);
      for (let q: Pending | undefined = prev; q && p.pos - q.pos <= TWIN_BYTES; q = q.older) {
        q.key ??= this.#keyOf(q);
      }
    }
    map.set(p.connId, p);
    this.#claimOrder.push(p);
  }

  /** The claim's line as text (its bytes are in the buffer while claims are compared). */
  #keyOf(p: Pending): string {
    const a = p.line - this.#base;
    const b = p.lineEnd - this.#base;
    if (a < 0) return `\u0000${p.line}`; // no longer in the buffer: unlike any other
    return byteString(this.#buf, a, b);
  }

  /** Drops claims and record ends more than TWIN_BYTES before `pos`. */
  #pruneClaims(pos: number): void {
    const order = this.#claimOrder;
    let h = this.#claimHead;
    while (h < order.length && order[h].pos < pos - TWIN_BYTES) {
      const p = order[h++];
      this.#claims[p.claim].deleteIf(p.connId, p);
      // Every walk along `older` stops at the first claim this far back: what hangs behind a
      // pruned claim is never looked at again, and need not stay alive.
      p.older = undefined;
    }
    // Pruned claims (and their events) are let go in small batches, not thousands at a time:
    // kept longer, they outlive the young generation and are copied into the old one.
    if (h > 256) {
      order.splice(0, h);
      h = 0;
    }
    this.#claimHead = h;
    const ends = this.#recordEnds;
    let n = 0;
    while (n < ends.length - 1 && ends[n] < pos - TWIN_BYTES) n++;
    if (n > 64) ends.splice(0, n);
  }

  /**
   * Other claims of p's kind on p's id within TWIN_BYTES (before or after it), and not after
   * file offset `horizon` (claims read further ahead than a decision may look are left out).
   */
  #peers(p: Pending, horizon = p.pos + TWIN_BYTES): Pending[] {
    const latest = this.#claims[p.claim].get(p.connId);
    if (latest === p && !p.older) return NONE;
    const out: Pending[] = [];
    const last = Math.min(p.pos + TWIN_BYTES, horizon);
    for (let q = latest; q && q.pos >= p.pos - TWIN_BYTES; q = q.older) {
      if (q !== p && q.pos <= last) out.push(q);
    }
    return out;
  }

  /**
   * True when another claim near p, not after `horizon`, has exactly p's text (p is a copy
   * inside a username).
   */
  #hasCopy(p: Pending, horizon: number): boolean {
    if (p.key === undefined) return false;
    for (const q of this.#peers(p, horizon)) if (q.key === p.key) return true;
    return false;
  }

  /**
   * The twin check: why p is refused, or undefined. A forged line inside a username is written
   * twice, identical; a second, different login record claiming the same id leaves nothing to
   * tell which one is real (DISCONNECT lines and username ends only count copies).
   */
  #twin(p: Pending): string | undefined {
    const peers = this.#peers(p);
    if (!peers.length) return undefined;
    const what = p.claim === LOGIN ? "login" : p.claim === DISCONNECT ? "DISCONNECT" : "record";
    const copy = peers.find((q) => q.key === p.key);
    if (copy) {
      if (p.sharedFrom === -Infinity) {
        this.#copyExtent(p, copy, p.pos - (HOLD_BYTES - DECIDE_LAG), p.pos + DECIDE_LAG);
      }
      return `the same ${what} line appears twice (text inside a username)`;
    }
    if (p.claim !== LOGIN) return undefined;
    for (const q of peers) {
      if (q.rejected && !q.twin) continue; // refused for its own shape: it claims nothing
      if (peers.some((r) => r !== q && r.key === q.key)) continue; // a forged copy
      return `connection id ${p.connId} is claimed by another login record${this.#where(p, q)}`;
    }
    return undefined;
  }

  /**
   * Where the other record q is, said the same way whatever the read size and wherever the
   * run started in the file: its line number when it is in this file's bytes that are sure to be
   * in the buffer while p is decided, else how far before p it is; nothing when it is in another
   * file or no more details are logged.
   */
  #where(p: Pending, q: Pending): string {
    if (this.rejections.length >= this.#detailLimit || q.line < 0 || q.line >= this.#fileEnd) {
      return "";
    }
    if (q.line < p.pos - (HOLD_BYTES - DECIDE_LAG)) return ` (${p.pos - q.line} bytes before it)`;
    return ` (line ${this.#lineNumber(q.line)})`;
  }

  /**
   * Compares the bytes around two identical copies p and q (bytes still in the buffer): what
   * they share is the username that holds them, plus what the two records have in common. Only
   * the file bytes [viewFrom, viewTo) are looked at, which are always in the buffer when p is
   * decided, so the outcome does not depend on the read size.
   */
  #copyExtent(p: Pending, q: Pending, viewFrom: number, viewTo: number): void {
    const buf = this.#buf;
    const base = this.#base;
    const low = Math.max(0, viewFrom - base);
    const high = Math.min(this.#to, viewTo - base);
    let i = p.line - base - 1;
    let j = q.line - base - 1;
    let n = 0;
    while (i >= low && j >= low && buf[i] === buf[j] && n < MAX_RECORD_BYTES) {
      i--;
      j--;
      n++;
    }
    let a = p.lineEnd - base;
    let b = q.lineEnd - base;
    let m = 0;
    while (a < high && b < high && buf[a] === buf[b] && m < MAX_RECORD_BYTES) {
      a++;
      b++;
      m++;
    }
    if (i < low || j < low || a >= high || b >= high) return; // not all in view
    p.sharedFrom = p.line - n;
    p.sharedTo = p.lineEnd + m;
    q.sharedFrom = q.line - n;
    q.sharedTo = q.lineEnd + m;
  }

  // ---- decisions --------------------------------------------------------------------------

  /** Decides the pending records at file offsets below `upTo`, in file order. */
  #decide(upTo: number): void {
    const list = this.#pending;
    for (let k = 0; k < list.length && list[k].pos < upTo; k++) {
      const p = list[k];
      if (p.decided) continue;
      p.decided = true;
      this.#pruneClaims(p.pos);
      if (p.rejected) continue;
      let reason = p.claim !== NO_CLAIM ? this.#twin(p) : undefined;
      p.twin = reason !== undefined;
      const e = p.event;
      if (!reason && e && !e.multiline) reason = this.#sequence(p, k) ?? this.#time(p, k);
      if (reason) {
        this.#refusePending(p, reason);
        continue;
      }
      if (!e || e.multiline) continue;
      if (e.instant <= this.#ceiling) this.#times.push(p.pos, e.instant);
      else if (this.#counts(p.pos)) this.lateDated++;
      if (p.claim === LOGIN) this.#ids.push(p.pos, e.connId);
    }
  }

  /**
   * Copies into `out` the times (`ids` false) or login ids (`ids` true) of up to NEIGHBOURS
   * events after list[k], at least NEAR_BYTES away, not refused (nor, for ids, copies); their
   * count.
   */
  #after(k: number, ids: boolean, out: Float64Array): number {
    let n = 0;
    const list = this.#pending;
    const from = list[k].pos + NEAR_BYTES;
    // No further than a decision may look: beyond it, what was read depends on the read size.
    const horizon = list[k].pos + TWIN_BYTES;
    const ceiling = this.#ceiling;
    for (let i = k + 1; i < list.length && n < NEIGHBOURS && list[i].pos <= horizon; i++) {
      const q = list[i];
      const e = q.event;
      if (q.pos < from || q.rejected !== undefined || e === undefined || e.multiline) continue;
      if (ids) {
        if (q.claim === LOGIN && !this.#hasCopy(q, horizon)) out[n++] = q.connId;
      } else if (e.instant <= ceiling) out[n++] = e.instant;
    }
    return n;
  }

  /** The time check: why p's time is out of line with its neighbours, or undefined. */
  #time(p: Pending, k: number): string | undefined {
    const t = p.event!.instant;
    const nb = this.#times.before(p.pos - NEAR_BYTES, SCRATCH_A);
    if (nb < MIN_NEIGHBOURS) return undefined;
    // Only an event out of line with both sides is refused: a clock stepped back puts a
    // genuine event out of line with one side, never with both. In line with the side before
    // (nearly always), the side after need not be looked at.
    const mb = median(SCRATCH_A, nb);
    if (Math.abs(t - mb) <= TIME_SLACK_MS) return undefined;
    const na = this.#after(k, false, SCRATCH_B);
    if (na < MIN_NEIGHBOURS) return undefined;
    const ma = median(SCRATCH_B, na);
    if (Math.abs(t - ma) <= TIME_SLACK_MS) return undefined;
    if (t < mb && t < ma) return "earlier than the records around it";
    if (t > mb && t > ma) return "later than the records around it";
    return undefined;
  }

  /** The id sequence check for logins: why p's id is out of sequence, or undefined. */
  #sequence(p: Pending, k: number): string | undefined {
    if (p.claim !== LOGIN) return undefined;
    const id = p.connId;
    const nb = this.#ids.before(p.pos - NEAR_BYTES, SCRATCH_A);
    const b = fitsSequence(id, SCRATCH_A, nb);
    // In sequence with the logins before it (nearly always): the side after is not needed.
    if (b === "ok") return undefined;
    const na = this.#after(k, true, SCRATCH_B);
    const a = fitsSequence(id, SCRATCH_B, na);
    if (b === undefined && a === undefined) return undefined;
    if (a === "ok") return undefined;
    // A server restart starts again from 1: far below the ids before it with nothing after to
    // compare with may be the first login after a restart, far above the ids after it with
    // nothing before, the last one before a restart.
    if (b === "behind" && a === undefined) return undefined;
    if (b === undefined && a === "ahead") return undefined;
    const ids = [...SCRATCH_A.subarray(0, nb), ...SCRATCH_B.subarray(0, na)];
    return `connection id ${id} is out of sequence (logins around it have ids ${Math.min(...ids)}–${
      Math.max(...ids)
    })`;
  }

  /** Releases the decided events at file offsets below `upTo`. */
  #release(upTo: number): ConnEvent[] {
    const out: ConnEvent[] = [];
    const list = this.#pending;
    let n = 0;
    while (n < list.length && list[n].pos < upTo && list[n].decided) {
      const p = list[n++];
      if (p.event && !p.rejected && this.#counts(p.pos)) out.push(p.event);
    }
    if (n) list.splice(0, n);
    return out;
  }

  // ---- refusals -----------------------------------------------------------------------------

  #refuseMalformed(start: number, end: number, reason: string, taint = true): void {
    if (this.#counts(this.#base + start)) this.malformed++;
    this.#refuse(start, end, reason, taint);
  }

  /**
   * Refuses the line buf[start, end) as it is read; with `taint`, its neighbourhood too. With
   * `f`, a login line still claims its connection id (as a refused claim), so that its copy in
   * the username's second record is recognised.
   */
  #refuse(start: number, end: number, reason: string, taint = true, f?: RightFields): void {
    this.#record(start, end, reason);
    if (f) this.#claimRefused(start, end, f, reason);
    if (taint) this.#taintAround(start, reason);
  }

  /** Registers the claim of a login line refused as it was read (see #refuse). */
  #claimRefused(start: number, end: number, f: RightFields, reason: string): void {
    if (f.op !== "CONNECT" && f.op !== "FAILED_CONNECT") return;
    const at = this.#base + start;
    this.#addClaim(new Pending(undefined, at, at, this.#base + end, f.connId, LOGIN, true, reason));
  }

  /** Refuses a pending record at decision time, and the events within its reach. */
  #refusePending(p: Pending, reason: string): void {
    p.rejected = reason;
    this.#record(p.line - this.#base, p.lineEnd - this.#base, reason);
    if (p.sharedFrom !== -Infinity) this.#taintRange(p.sharedFrom, p.sharedTo, reason, p);
    else this.#taintAround(p.line - this.#base, reason, p);
  }

  /**
   * Refuses the pending events within a username's reach of the line at buf[start], not past
   * a record end on either side.
   */
  #taintAround(start: number, reason: string, self?: Pending): void {
    const at = this.#base + start;
    const from = Math.max(this.#base + this.#reachBack(start), this.#lastRecordEnd(at));
    const reach = this.#reachAhead(start);
    const left = this.#reachLeft;
    const to = Math.min(reach, this.#nextRecordEnd(at) - 1);
    this.#taintRange(from, to, reason, self);
    this.#taintFurther(to, to === reach ? left : 0);
  }

  /** Refuses the pending events (not DISCONNECT claims) whose line starts in [from, to]. */
  #taintRange(from: number, to: number, why: string, self?: Pending): void {
    for (const q of this.#pending) {
      if (q === self || q.rejected || !q.event || q.line < from || q.line > to) continue;
      q.rejected = q.event.multiline ? why : `within a username's reach of a refused line (${why})`;
      this.#record(q.line - this.#base, q.lineEnd - this.#base, q.rejected);
    }
  }

  /** 1-based line number of a file offset in the buffer (counting from a known point). */
  #lineNumber(offset: number): number {
    if (this.#known === undefined) this.#known = { offset, lines: this.#countLines(offset) };
    const known = this.#known;
    const k = known.offset - this.#base;
    const start = offset - this.#base;
    if (start < 0 || k < 0) return NaN;
    const lines = offset >= known.offset
      ? known.lines + this.#ops.newlines(this.#buf, k, start)
      : known.lines - this.#ops.newlines(this.#buf, start, k);
    return lines + 1;
  }

  /** Records a refusal of the line buf[start, end), when it belongs to this file's run. */
  #record(start: number, end: number, reason: string): void {
    const offset = this.#base + start;
    if (!this.#counts(offset)) return;
    this.rejected++;
    if (this.rejections.length >= this.#detailLimit) {
      this.#known = undefined; // no more line numbers needed
      return;
    }
    const buf = this.#buf;
    const stop = end < 0 ? Math.min(buf.length, start + 200) : Math.min(end, start + 200);
    const excerpt = decoder.decode(buf.subarray(start, stop)).slice(0, 160);
    this.rejections.push({ line: this.#lineNumber(offset), reason, excerpt });
  }
}

/**
 * Index of the `:` before the 1 to 5 ASCII digits that end buf[a, b) (a port, if splitHostPort
 * takes it for one), or -1.
 */
function portColon(buf: Uint8Array, a: number, b: number): number {
  let i = b - 1;
  while (i >= a && i > b - 7 && buf[i] >= 48 && buf[i] <= 57) i--;
  return i < b - 1 && i > b - 7 && i >= a && buf[i] === 58 ? i : -1;
}

const NONE: Pending[] = [];
const SCRATCH_A = new Float64Array(NEIGHBOURS);
const SCRATCH_B = new Float64Array(NEIGHBOURS);
const SCRATCH_M = new Float64Array(NEIGHBOURS);

/** The (lower) median of values[0, n), n ≥ 1; sorts them in place (n is at most NEIGHBOURS). */
function median(values: Float64Array, n: number): number {
  for (let i = 1; i < n; i++) {
    const v = values[i];
    let j = i - 1;
    while (j >= 0 && values[j] > v) {
      values[j + 1] = values[j];
      j--;
    }
    values[j + 1] = v;
  }
  return values[(n - 1) >> 1];
}

/**
 * Whether login id `id` fits the ids of one side's neighbours (side[0, n)): "ok", "ahead" or "behind" of
 * them by more than the allowed gap (which grows with their spread), or undefined when the
 * side has too few to tell.
 */
function fitsSequence(
  id: number,
  side: Float64Array,
  n: number,
): "ok" | "ahead" | "behind" | undefined {
  if (n < MIN_NEIGHBOURS) return undefined;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = side[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const spread = 8 * (hi - lo);
  if (id > hi + SEQ_AHEAD + spread) return "ahead";
  if (id < lo - SEQ_BEHIND - spread) return "behind";
  return "ok";
}
