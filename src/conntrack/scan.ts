/**
 * Reads one audit file from a byte offset in fixed-size chunks and runs the parser over it.
 *
 * Memory stays bounded whatever the file size: one chunk, the parser's look-back window, and
 * the per-account aggregates. Only complete lines are consumed; a partial last line is left for
 * the next run. A line longer than {@link MAX_LINE_BYTES} (binary garbage) is skipped. Data is
 * read straight into the WebAssembly memory that the byte search works on. Runs the same in the
 * main thread and in a Web Worker (scan_worker.ts), with synchronous I/O.
 * @module
 */
import { RuntimeError } from "../errors.ts";
import { WasmByteOps } from "./byte_ops.ts";
import { AuditParser, type ConnEvent, HOLD_BYTES, type Rejection, type Who } from "./parser.ts";
import { Zone } from "../time/tz.ts";

/** What to read. Plain data, so it can be posted to a worker. */
export interface ScanJob {
  path: string;
  /** The inode the file had when it was listed; a file under that name with another is skipped. */
  ino?: number;
  /** First byte to read (a line start). */
  start: number;
  /** Read no further than this byte (the size seen when the run was planned). */
  end: number;
  /** IANA zone of the server's clock. */
  zone: string;
  serverHost?: string;
  lastInstant?: number;
  /**
   * The latest instant the file can have been written at: its mtime when listed, or the
   * current time if earlier (records dated after it never serve as a time reference).
   */
  lastWrite?: number;
  /**
   * False when the bytes up to `end` may still be followed by the rest of a record (a live log
   * cut short while being written): events near the end are then left for the next run.
   */
  complete?: boolean;
  /**
   * Bytes just before `start` (the previous file's end, or this file before the checkpoint),
   * read as context so that the checks see across the boundary; their events are not taken.
   */
  before?: ContextRange;
  /** The server host of the `before` bytes, when known. */
  beforeServerHost?: string;
  /** The next file's first bytes, read as context after `end` when the file was read to its end. */
  after?: ContextRange;
  /** Read size; default 256 KiB. */
  chunkBytes?: number;
  /** Refused lines kept with details (line number, reason); default MAX_REJECTION_DETAILS. */
  detailLimit?: number;
  /**
   * One of two ranges of one file read in parallel (see run.ts): the `head` is read to `end`
   * (a line start inside the file), then {@link CONTEXT_BYTES} more of the same file as context;
   * the `tail` starts at `start` with the bytes before it as `before`. Each result carries the
   * parser's digest at the cut (from file offset `digestFrom` on): the head's after its last
   * byte, the tail's after its context.
   */
  split?: "head" | "tail";
  digestFrom?: number;
}

/** Bytes [from, to) of a file, read as context (cut to whole lines). */
export interface ContextRange {
  path: string;
  /** The inode it had when listed; another file under that name is not read. */
  ino?: number;
  from: number;
  to: number;
}

/** How much context is read on each side of a file's new bytes. */
export const CONTEXT_BYTES = HOLD_BYTES;

let tables = 0;

/** Latest successful login per (user, host), without building a key string per event. */
export class LoginTable {
  #id = ++tables;
  /** Row of each `length:user\0host`. */
  #rows = new Map<string, number>();
  #users: string[] = [];
  #hosts: string[] = [];
  #instants = new Float64Array(1024);
  /** Number of (user, host) pairs. */
  size = 0;

  /**
   * Records a login at `instant`, keeping the latest per pair. With `who` (the parser's shared
   * account object), the row is noted on it and found again without looking up the strings.
   */
  add(user: string, host: string, instant: number, who?: Who): void {
    const i = who !== undefined && who.owner === this.#id ? who.row : this.#row(user, host, who);
    if (instant > this.#instants[i]) this.#instants[i] = instant;
  }

  /** The row of (user, host), made when new (at instant -Infinity); noted on `who`. */
  #row(user: string, host: string, who?: Who): number {
    // Once per account and table. A username may contain anything (U+0000 too), so the key
    // starts with the user's length: no two (user, host) pairs share a key.
    const key = `${user.length}:${user}\u0000${host}`;
    let i = this.#rows.get(key);
    if (i === undefined) {
      if (this.size === this.#instants.length) {
        const grown = new Float64Array(this.size * 2);
        grown.set(this.#instants);
        this.#instants = grown;
      }
      this.#rows.set(key, i = this.size);
      this.#users.push(user);
      this.#hosts.push(host);
      this.#instants[this.size++] = -Infinity;
    }
    if (who !== undefined) {
      who.owner = this.#id;
      who.row = i;
    }
    return i;
  }

  /** All pairs as [user, host, latest instant]. */
  *values(): IterableIterator<[string, string, number]> {
    for (let i = 0; i < this.size; i++) yield [this.#users[i], this.#hosts[i], this.#instants[i]];
  }
}

/** Latest event per key, plus counts, for the events that are not successful logins. */
export interface OtherEvent {
  kind: "failed" | "changeuser" | "proxy" | "multiline";
  user: string;
  host: string;
  instant: number;
  retcode: number;
  count: number;
}

/** What a scan found. */
export interface ScanResult {
  path: string;
  /** Byte offset after the last complete line consumed. */
  consumed: number;
  serverHost?: string;
  /** Instant of the last accepted record (null when none yet). */
  lastInstant: number | null;
  /** Instant of the first accepted record read in this scan (null when none). */
  firstInstant: number | null;
  /** Details of the first refused lines. */
  rejections: Rejection[];
  /** All refused lines. */
  rejected: number;
  malformed: number;
  /** Accepted events dated after the file's last write (see AuditParser.lateDated). */
  lateDated: number;
  events: number;
  bytes: number;
  /** Set when the file was not read because it was renamed or removed after it was listed. */
  moved?: true;
  /** The parser's digest at the cut, for a split job (see ScanJob.split). */
  digest?: string;
  /** For a split head: how many refusals were recorded before its bytes ended. */
  rejectedAtCut?: number;
}

/** Lines longer than about this are skipped as garbage (server_audit caps queries far below). */
export const MAX_LINE_BYTES = 1 << 20;

/**
 * Reads `job` and returns the aggregated events; `onRead` hears the size of each read (for a
 * progress display).
 */
export function scanFile(
  job: ScanJob,
  into: Findings,
  onRead?: (bytes: number) => void,
): ScanResult {
  if (job.end <= job.start) return unread(job, false); // nothing new: not even opened
  const zone = zoneNamed(job.zone);
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(job.path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return unread(job); // rotated away meanwhile
    throw err;
  }
  try {
    // Rotated since it was listed: the name is another file now. Its inode is read next run.
    if (job.ino !== undefined && file.statSync().ino !== job.ino) return unread(job);
    return scanOpen(file, job, zone, into, onRead);
  } finally {
    file.close();
  }
}

/** The result for a file that was not read (`moved`: because it was renamed or removed). */
function unread(job: ScanJob, moved = true): ScanResult {
  return {
    path: job.path,
    consumed: job.start,
    serverHost: job.serverHost,
    lastInstant: job.lastInstant ?? null,
    firstInstant: null,
    rejections: [],
    rejected: 0,
    malformed: 0,
    lateDated: 0,
    events: 0,
    bytes: 0,
    ...(moved ? { moved } : {}),
  };
}

/** What a scan gathered from its parsers: the events (added to `into`) and the refusals. */
class Tally {
  events = 0;
  firstInstant: number | null = null;
  rejections: Rejection[] = [];
  rejected = 0;
  malformed = 0;
  lateDated = 0;

  constructor(readonly into: Findings) {}

  /** Counts `list` and adds it to the findings. */
  take(list: ConnEvent[]): void {
    for (const e of list) {
      this.events++;
      if (this.firstInstant === null || e.instant < this.firstInstant) {
        this.firstInstant = e.instant;
      }
      this.into.add(e);
    }
  }

  /** The figures of a {@link ScanResult} this tally holds. */
  counts(): Pick<
    ScanResult,
    "firstInstant" | "rejections" | "rejected" | "malformed" | "lateDated" | "events"
  > {
    const { firstInstant, rejections, rejected, malformed, lateDated, events } = this;
    return { firstInstant, rejections, rejected, malformed, lateDated, events };
  }

  /** Ends parser `p`: its last events and its refusals are counted. */
  retire(p: AuditParser): void {
    this.take(p.finish());
    this.rejections.push(...p.rejections);
    this.rejected += p.rejected;
    this.malformed += p.malformed;
    this.lateDated += p.lateDated;
  }
}

/**
 * Where a scan stands in its buffer: buf[0] is at file offset `base`, buf[0, from) is the
 * look-back kept for the parser, buf[from, len) the unparsed bytes (an unfinished line).
 */
interface Cursor {
  parser: AuditParser;
  base: number;
  from: number;
  len: number;
  /** Inside a line longer than MAX_LINE_BYTES: bytes are dropped up to its end. */
  skipping: boolean;
  /** A new parser took over after a skipped line (the digest no longer applies). */
  restarted: boolean;
}

/** Makes a parser starting at file offset `offset`, after `prev` when one came before. */
type NewParser = (offset: number, prev?: AuditParser) => AuditParser;

/** The parsers of `job`: the first at its start, then one after each skipped over-long line. */
function parserMaker(
  job: ScanJob,
  zone: Zone,
  ops: WasmByteOps,
  counter: (offset: number) => number,
): NewParser {
  return (offset, prev) =>
    new AuditParser({
      zone,
      startOffset: offset,
      serverHost: prev?.serverHost ?? job.serverHost,
      contextServerHost: job.beforeServerHost ?? job.serverHost,
      lastInstant: prev ? prev.lastInstant : job.lastInstant,
      lastWrite: job.lastWrite,
      countLines: counter,
      ops,
      detailLimit: job.detailLimit,
    });
}

function scanOpen(
  file: Deno.FsFile,
  job: ScanJob,
  zone: Zone,
  into: Findings,
  onRead?: (bytes: number) => void,
): ScanResult {
  const chunkBytes = job.chunkBytes ?? 1 << 18;
  // One buffer (WebAssembly memory, searched in place): [kept look-back | unfinished line | new read].
  // Kept look-back is at most HOLD_BYTES plus the line it starts in, the unfinished line at most
  // MAX_LINE_BYTES, so a whole chunk always fits after them.
  const ops = byteOps(HOLD_BYTES + 2 * MAX_LINE_BYTES + chunkBytes);
  const buf = ops.buffer;
  const counter = lineCounter(job.path);
  const newParser = parserMaker(job, zone, ops, counter);
  const tally = new Tally(into);
  const at: Cursor = {
    parser: newParser(job.start),
    base: job.start,
    from: 0,
    len: 0,
    skipping: false,
    restarted: false,
  };
  file.seekSync(job.start, Deno.SeekMode.Start);
  let digest = readBefore(job, file, buf, at);
  let remaining = job.end - job.start;
  while (remaining > 0) {
    const room = Math.min(chunkBytes, remaining, buf.length - at.len);
    if (room <= 0) {
      throw new RuntimeError(`${job.path}: read buffer full at byte ${at.base + at.len}`);
    }
    const n = file.readSync(buf.subarray(at.len, at.len + room));
    if (n === null || n === 0) break;
    remaining -= n;
    onRead?.(n);
    at.len += n;
    parseRead(buf, at, tally, newParser, counter);
  }
  const { parser } = at;
  let consumed = at.skipping ? at.base : at.base + at.from;
  let rejectedAtCut: number | undefined;
  if (job.split === "head") {
    digest = at.restarted || at.skipping || consumed !== job.end
      ? undefined
      : parser.digest(job.digestFrom ?? job.end);
    rejectedAtCut = parser.rejected;
  }
  readAfter(job, file, buf, at, consumed, tally);
  if (job.complete === false) {
    const first = parser.withhold();
    if (first !== undefined && first < consumed) consumed = first;
  }
  tally.retire(parser);
  return {
    path: job.path,
    consumed,
    serverHost: parser.serverHost,
    lastInstant: Number.isFinite(parser.lastInstant) ? parser.lastInstant : null,
    ...tally.counts(),
    bytes: consumed - job.start,
    ...(digest !== undefined && !at.restarted ? { digest } : {}),
    ...(rejectedAtCut !== undefined ? { rejectedAtCut } : {}),
  };
}

/**
 * Feeds the records before the new bytes (`job.before`) to the parser, so the first new ones
 * are checked against them, and keeps the parser's look-back in `buf`; the file is left at
 * `job.start`. Returns a split tail's digest of that context.
 */
function readBefore(
  job: ScanJob,
  file: Deno.FsFile,
  buf: Uint8Array,
  at: Cursor,
): string | undefined {
  if (!job.before || job.end <= job.start) return undefined;
  let digest: string | undefined;
  // The context ends where the new bytes start: its offsets run up to job.start.
  const n = readContext(job.before, buf, 0, job.path === job.before.path ? file : undefined);
  if (n > 0) {
    at.parser.feed(buf, job.start - n, 0, n);
    if (job.split === "tail") digest = at.parser.digest(job.digestFrom ?? job.start);
    const keep = at.parser.keepFrom;
    buf.copyWithin(0, keep, n);
    at.parser.shifted(keep);
    at.base = job.start - n + keep;
    at.from = at.len = n - keep;
  }
  file.seekSync(job.start, Deno.SeekMode.Start);
  return digest;
}

/**
 * Parses the whole lines of what was just read into buf[…at.len): drops the rest of an
 * over-long line, starts skipping one that grows past MAX_LINE_BYTES, and moves the kept
 * look-back and the unfinished line to the front of `buf`.
 */
function parseRead(
  buf: Uint8Array,
  at: Cursor,
  tally: Tally,
  newParser: NewParser,
  counter: (offset: number) => number,
): void {
  if (at.skipping) {
    const nl = buf.subarray(0, at.len).indexOf(10);
    if (nl < 0) {
      at.base += at.len;
      at.len = 0;
      return;
    }
    at.skipping = false;
    at.base += nl + 1;
    buf.copyWithin(0, nl + 1, at.len);
    at.len -= nl + 1;
    at.from = 0;
    at.parser = newParser(at.base, at.parser);
    at.restarted = true;
  }
  const last = buf.subarray(at.from, at.len).lastIndexOf(10);
  if (last < 0) {
    if (at.len - at.from > MAX_LINE_BYTES) {
      tally.retire(at.parser);
      tally.malformed++;
      tally.rejected++;
      tally.rejections.push({
        line: counter(at.base + at.from) + 1,
        reason: `line longer than ${MAX_LINE_BYTES} bytes at byte ${at.base + at.from} skipped`,
        excerpt: "",
      });
      at.skipping = true;
      at.base += at.len;
      at.len = 0;
      at.from = 0;
    }
    return;
  }
  const to = at.from + last + 1;
  tally.take(at.parser.feed(buf, at.base, at.from, to));
  const keep = at.parser.keepFrom;
  buf.copyWithin(0, keep, at.len);
  at.parser.shifted(keep);
  at.base += keep;
  at.len -= keep;
  at.from = to - keep;
}

/**
 * Feeds the records after the range to the parser where they take part in the checks of its
 * last ones: past a split head's end, or the next file's first records once this one was read
 * to its end.
 */
function readAfter(
  job: ScanJob,
  file: Deno.FsFile,
  buf: Uint8Array,
  at: Cursor,
  consumed: number,
  tally: Tally,
): void {
  const { parser, base, from, len } = at;
  if (job.split === "head") {
    parser.endOfRange();
    const n = readContext(
      { path: job.path, from: job.end, to: job.end + CONTEXT_BYTES },
      buf,
      len,
      file,
      true,
    );
    if (n > 0) tally.take(parser.feed(buf, base, from, from + n));
  } else if (
    job.after && job.complete !== false && !at.skipping && len === from && consumed === job.end &&
    consumed > job.start
  ) {
    parser.endOfFile();
    const n = readContext(job.after, buf, len);
    if (n > 0) tally.take(parser.feed(buf, base, from, from + n));
  }
}

/**
 * Reads the context `range` into buf[at…], cut to whole lines (a first partial line is dropped
 * unless the range starts the file or `lineStart` says it starts a line), and returns its
 * length; 0 when the file is gone or is another one now. `open` is the already open file when
 * the range is in it.
 */
function readContext(
  range: ContextRange,
  buf: Uint8Array,
  at: number,
  open?: Deno.FsFile,
  lineStart = false,
): number {
  const want = Math.min(range.to - range.from, buf.length - at);
  if (want <= 0) return 0;
  let f = open;
  try {
    if (!f) {
      f = Deno.openSync(range.path, { read: true });
      if (range.ino !== undefined && f.statSync().ino !== range.ino) return 0;
    }
    f.seekSync(range.from, Deno.SeekMode.Start);
    let got = 0;
    while (got < want) {
      const n = f.readSync(buf.subarray(at + got, at + want));
      if (!n) break;
      got += n;
    }
    const region = buf.subarray(at, at + got);
    const last = region.lastIndexOf(10);
    if (last < 0) return 0;
    const first = range.from === 0 || lineStart ? 0 : region.indexOf(10) + 1;
    if (first > last) return 0;
    if (first > 0) buf.copyWithin(at, at + first, at + last + 1);
    return last + 1 - first;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return 0;
    throw err;
  } finally {
    if (f && f !== open) f.close();
  }
}

let cachedOps: WasmByteOps | undefined;

/** The WebAssembly search with a buffer of at least `capacity` bytes (reused between files). */
function byteOps(capacity: number): WasmByteOps {
  if (!cachedOps || cachedOps.buffer.length < capacity) cachedOps = new WasmByteOps(capacity);
  return cachedOps;
}

/**
 * Scans jobs until none is left, taking the next index from `next[0]` atomically, so several
 * threads can share one list; what they find goes to this thread's `into`.
 */
export function scanQueue(
  jobs: ScanJob[],
  next: Int32Array,
  into: Findings,
  done: (index: number, result: ScanResult) => void,
): void {
  for (let i = Atomics.add(next, 0, 1); i < jobs.length; i = Atomics.add(next, 0, 1)) {
    done(i, scanFile(jobs[i], into));
  }
}

/**
 * A worker's messages: one per scanned file, then its findings when the queue is empty, or an
 * error.
 */
export interface WorkerReply {
  index?: number;
  result?: ScanResult;
  findings?: FindingsMessage;
  error?: string;
}

const KIND: Record<string, OtherEvent["kind"]> = {
  FAILED_CONNECT: "failed",
  CHANGEUSER: "changeuser",
  PROXY_CONNECT: "proxy",
};

/** {@link Findings} as plain data for postMessage: logins in columns, the other events listed. */
export interface FindingsMessage {
  users: string[];
  hosts: string[];
  instants: Float64Array;
  others: OtherEvent[];
  overflow: number;
}

/**
 * Distinct (kind, user, host) keys of failed and other login events kept per run; events under
 * further keys are only counted ({@link Findings.overflow}). Usernames come from unauthenticated
 * clients, so without a bound a flood of made-up names would take any amount of memory.
 */
export const MAX_OTHER_KEYS = 20_000;

/**
 * What the scans of one thread found, over all the files it read: the latest successful login
 * per account and the other connection events. One table per thread rather than per file, so an
 * account seen in ten files is one row, found again through the parser's shared account object.
 */
export class Findings {
  readonly logins = new LoginTable();
  readonly others = new Map<string, OtherEvent>();
  /** Other events not kept because {@link MAX_OTHER_KEYS} keys were already kept. */
  overflow = 0;

  /** Sorts one event into the successful logins or the other kinds, keeping the latest. */
  add(e: ConnEvent): void {
    if (e.op === "DISCONNECT") return;
    if (e.op === "CONNECT" && e.retcode === 0 && !e.multiline) {
      this.logins.add(e.user, e.host, e.instant, e.who);
      return;
    }
    const kind = e.multiline ? "multiline" : KIND[e.op] ?? "failed"; // CONNECT with an error code
    if ((kind === "changeuser" || kind === "proxy") && e.user === "") return;
    this.addOther({
      kind,
      user: e.user,
      host: e.host,
      instant: e.instant,
      retcode: e.retcode,
      count: 1,
    });
  }

  /** Counts `o` in, keeping the latest time and return code per (kind, user, host). */
  addOther(o: OtherEvent): void {
    const key = `${o.kind}\u0000${o.user.length}:${o.user}\u0000${o.host}`;
    const cur = this.others.get(key);
    if (!cur) {
      if (this.others.size >= MAX_OTHER_KEYS) this.overflow += o.count;
      else this.others.set(key, { ...o });
    } else {
      cur.count += o.count;
      if (o.instant >= cur.instant) {
        cur.instant = o.instant;
        cur.retcode = o.retcode;
      }
    }
  }

  /** This thread's findings, to post to the main thread. */
  toMessage(): FindingsMessage {
    const users: string[] = [];
    const hosts: string[] = [];
    const instants = new Float64Array(this.logins.size);
    let i = 0;
    for (const [user, host, instant] of this.logins.values()) {
      users.push(user);
      hosts.push(host);
      instants[i++] = instant;
    }
    return { users, hosts, instants, others: [...this.others.values()], overflow: this.overflow };
  }

  /** Adds another thread's findings. */
  merge(m: FindingsMessage): void {
    for (let i = 0; i < m.users.length; i++) this.logins.add(m.users[i], m.hosts[i], m.instants[i]);
    for (const o of m.others) this.addOther(o);
    this.overflow += m.overflow;
  }
}

/** Counts newlines before a byte offset, reading the file only when asked (for warnings). */
function lineCounter(path: string): (offset: number) => number {
  let at = 0;
  let count = 0;
  return (offset: number) => {
    if (offset < at) {
      at = 0;
      count = 0;
    }
    counterOps ??= new WasmByteOps(1 << 16);
    const buf = counterOps.buffer;
    const f = Deno.openSync(path, { read: true });
    try {
      f.seekSync(at, Deno.SeekMode.Start);
      while (at < offset) {
        const n = f.readSync(buf.subarray(0, Math.min(buf.length, offset - at)));
        if (!n) break;
        count += counterOps.newlines(buf, 0, n);
        at += n;
      }
    } finally {
      f.close();
    }
    return count;
  };
}

/** A second, small WebAssembly buffer for counting lines while the main one holds a chunk. */
let counterOps: WasmByteOps | undefined;

const zones = new Map<string, Zone>();

/** One Zone per name (building its Intl formatter is not cheap). */
function zoneNamed(name: string): Zone {
  let zone = zones.get(name);
  if (!zone) zones.set(name, zone = new Zone(name));
  return zone;
}
