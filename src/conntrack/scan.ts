/**
 * Reads one audit file from a byte offset in fixed-size chunks and runs the parser over it.
 *
 * Memory stays bounded whatever the file size: one chunk, the parser's look-back window, and
 * the per-account aggregates. Only complete lines are consumed; a partial last line is left for
 * the next run. A line longer than {@link MAX_LINE_BYTES} (binary garbage) is skipped. Runs the
 * same in the main thread and in a Web Worker (scan_worker.ts), with synchronous I/O.
 * @module
 */
import { AuditParser, type ConnEvent, detach, type Rejection } from "./parser.ts";
import { Zone } from "./tz.ts";

/** What to read. Plain data, so it can be posted to a worker. */
export interface ScanJob {
  path: string;
  /** First byte to read (a line start). */
  start: number;
  /** Read no further than this byte (the size seen when the run was planned). */
  end: number;
  /** IANA zone of the server's clock. */
  zone: string;
  serverHost?: string;
  lastInstant?: number;
  /** Read size; default 1 MiB. */
  chunkBytes?: number;
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
  /** Successful logins: [user, host, latest instant]. */
  logins: [string, string, number][];
  others: OtherEvent[];
  rejections: Rejection[];
  malformed: number;
  events: number;
  bytes: number;
}

/** Lines longer than about this are skipped as garbage (server_audit caps queries far below). */
export const MAX_LINE_BYTES = 1 << 20;

const decoder = new TextDecoder();

/** Reads `job` and returns the aggregated events. */
export function scanFile(job: ScanJob): ScanResult {
  const zone = new Zone(job.zone);
  const file = Deno.openSync(job.path, { read: true });
  try {
    return scanOpen(file, job, zone);
  } finally {
    file.close();
  }
}

function scanOpen(file: Deno.FsFile, job: ScanJob, zone: Zone): ScanResult {
  const chunkBytes = job.chunkBytes ?? 1 << 20;
  const counter = lineCounter(job.path);
  const newParser = (offset: number, prev?: AuditParser) =>
    new AuditParser({
      zone,
      startOffset: offset,
      serverHost: prev?.serverHost ?? job.serverHost,
      lastInstant: prev ? prev.lastInstant : job.lastInstant,
      countLines: counter,
    });
  let parser = newParser(job.start);
  const logins = new Map<string, [string, string, number]>();
  const others = new Map<string, OtherEvent>();
  const rejections: Rejection[] = [];
  let malformed = 0;
  let events = 0;
  let firstInstant: number | null = null;
  const take = (list: ConnEvent[]) => {
    for (const e of list) {
      events++;
      if (firstInstant === null || e.instant < firstInstant) firstInstant = e.instant;
      addEvent(e, logins, others);
    }
  };
  const retire = (p: AuditParser) => {
    take(p.finish());
    rejections.push(...p.rejections);
    malformed += p.malformed;
  };

  file.seekSync(job.start, Deno.SeekMode.Start);
  // One buffer for the whole file: the unfinished last line of a read is moved to its front
  // and the next read lands right after it, so no chunk is ever copied.
  const buf = new Uint8Array(chunkBytes + MAX_LINE_BYTES);
  let carried = 0; // bytes of an unfinished line at buf[0, carried)
  let pos = job.start; // file offset of buf[0]
  let consumed = job.start;
  let skipping = false;
  let remaining = job.end - job.start;
  while (remaining > 0) {
    const n = file.readSync(buf.subarray(carried, carried + Math.min(chunkBytes, remaining)));
    if (n === null || n === 0) break;
    remaining -= n;
    const len = carried + n;
    let from = 0;
    if (skipping) {
      const nl = buf.subarray(0, len).indexOf(10);
      if (nl < 0) {
        pos += len;
        carried = 0;
        continue;
      }
      skipping = false;
      from = nl + 1;
      consumed = pos + from;
      parser = newParser(consumed, parser);
    }
    const last = buf.subarray(0, len).lastIndexOf(10);
    if (last < from) {
      if (len - from > MAX_LINE_BYTES) {
        malformed++;
        rejections.push({
          line: NaN,
          reason: `line longer than ${MAX_LINE_BYTES} bytes at byte ${pos + from} skipped`,
          excerpt: "",
        });
        retire(parser);
        skipping = true;
        pos += len;
        carried = 0;
      } else {
        buf.copyWithin(0, from, len);
        pos += from;
        carried = len - from;
      }
      continue;
    }
    take(parser.feed(decoder.decode(buf.subarray(from, last + 1)), pos + from));
    consumed = pos + last + 1;
    buf.copyWithin(0, last + 1, len);
    carried = len - last - 1;
    pos = consumed;
  }
  retire(parser);
  return {
    path: job.path,
    consumed,
    serverHost: parser.serverHost,
    lastInstant: Number.isFinite(parser.lastInstant) ? parser.lastInstant : null,
    firstInstant,
    logins: [...logins.values()],
    others: [...others.values()],
    rejections,
    malformed,
    events,
    bytes: consumed - job.start,
  };
}

const KIND: Record<string, OtherEvent["kind"]> = {
  FAILED_CONNECT: "failed",
  CHANGEUSER: "changeuser",
  PROXY_CONNECT: "proxy",
};

/** Sorts one event into the successful logins or the other kinds, keeping the latest. */
export function addEvent(
  e: ConnEvent,
  logins: Map<string, [string, string, number]>,
  others: Map<string, OtherEvent>,
): void {
  if (e.op === "DISCONNECT") return;
  if (e.op === "CONNECT" && e.retcode === 0 && !e.multiline) {
    const key = `${e.user}\u0000${e.host}`;
    const cur = logins.get(key);
    if (!cur) logins.set(key, [detach(e.user), detach(e.host), e.instant]);
    else if (e.instant > cur[2]) cur[2] = e.instant;
    return;
  }
  const kind = e.multiline ? "multiline" : KIND[e.op] ?? "failed"; // CONNECT with an error code
  if ((kind === "changeuser" || kind === "proxy") && e.user === "") return;
  const key = `${kind}\u0000${e.user}\u0000${e.host}`;
  const cur = others.get(key);
  if (!cur) {
    others.set(key, {
      kind,
      user: detach(e.user),
      host: detach(e.host),
      instant: e.instant,
      retcode: e.retcode,
      count: 1,
    });
  } else {
    cur.count++;
    if (e.instant >= cur.instant) {
      cur.instant = e.instant;
      cur.retcode = e.retcode;
    }
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
    const f = Deno.openSync(path, { read: true });
    try {
      f.seekSync(at, Deno.SeekMode.Start);
      const buf = new Uint8Array(1 << 20);
      while (at < offset) {
        const n = f.readSync(buf.subarray(0, Math.min(buf.length, offset - at)));
        if (!n) break;
        for (let i = buf.indexOf(10); i >= 0 && i < n; i = buf.indexOf(10, i + 1)) count++;
        at += n;
      }
    } finally {
      f.close();
    }
    return count;
  };
}
