/**
 * One conntrack run: lock the database, find the files, read the new bytes (in Web Workers when
 * there is enough to read), merge into SQLite, save checkpoints, commit.
 * @module
 */
import type { ConntrackConfig } from "../config/conntrack_ini.ts";
import { errorText, RuntimeError } from "../errors.ts";
import { log } from "../system/log.ts";
import { baseOf, dirOf } from "../util/path.ts";
import {
  type AuditFile,
  discoverAuditFiles,
  type Discovery,
  type FilePlan,
  lostFiles,
  planFile,
  readUpTo,
} from "./files.ts";
import {
  CONTEXT_BYTES,
  Findings,
  MAX_OTHER_KEYS,
  scanFile,
  type ScanJob,
  scanQueue,
  type ScanResult,
  type WorkerReply,
} from "./scan.ts";
import { SCAN_WORKER_SOURCE } from "./scan_worker_bundle.ts";
import { AuditParser, MAX_REJECTION_DETAILS } from "./parser.ts";
import { type Checkpoint, Store } from "./store.ts";
import type { ProgressSink } from "./progress.ts";
import { isUtcLike, machineZone, Zone } from "../time/tz.ts";

/** Figures of one run, for `-v`. */
export interface RunSummary {
  files: number;
  filesRead: number;
  /** Files in the audit directory that could not be read (each logged); skipped. */
  unreadable: number;
  bytes: number;
  events: number;
  logins: number;
  inserted: number;
  updated: number;
  others: number;
  rejected: number;
  malformed: number;
  /** Accepted events dated after their file was last written (TimeLocation, or forgery). */
  lateDated: number;
  workers: number;
  adopted: boolean;
  heldBack: number;
  /** Rows sent to the central store (fleet mode), or null without one. */
  central: number | null;
}

/** Below this many new bytes the files are parsed in the main thread (workers cost ~50 ms). */
export const WORKER_THRESHOLD_BYTES = 64 << 20;
/** How much of the file before the cut the second range reads as context. */
const SPLIT_CONTEXT_BYTES = 512 << 10;
/** The parsers' states are compared from this many bytes before the cut. */
const SPLIT_DIGEST_BYTES = 256 << 10;

/** A live log written this recently may still get the second half of a login's record pair. */
export const SETTLE_MS = 2_000;
/** …so this much of its end waits for the next run. */
export const HOLD_BACK_BYTES = 64 << 10;

/** Tuning for {@link runConntrack}; the defaults are what the program uses. */
export interface RunOptions {
  /** The current time (ms), to tell whether the live log is still being written. */
  now?: number;
  /** Parse in threads only when at least this many bytes are new. */
  workerThresholdBytes?: number;
  /**
   * Read one file in two ranges in parallel from this many new bytes on (see
   * {@link scanSplit}). Off by default: on the 2-core development machine it did not pay (see
   * docs/conntrack.md "Speed").
   */
  splitThresholdBytes?: number;
  /** Shown while the files are read (a terminal's progress line). */
  progress?: ProgressSink;
  /** Called after the central store was written, just before the local commit (tests). */
  beforeCommit?: () => void;
  /**
   * The machine's zone, for the warning when TimeLocation is left out: read by the caller
   * before it gave up reading the environment (`TZ`). Default: read now.
   */
  machineZone?: ReturnType<typeof machineZone>;
}

/** Runs conntrack once with `config`. */
export async function runConntrack(
  config: ConntrackConfig,
  options: RunOptions = {},
): Promise<RunSummary> {
  const now = options.now ?? Date.now();
  const threshold = options.workerThresholdBytes ?? WORKER_THRESHOLD_BYTES;
  const logger = log("conntrack");
  const zone = new Zone(config.timeLocation);
  if (!config.timeLocationSet) {
    warnIfLocalTime(logger, "machineZone" in options ? options.machineZone : machineZone());
  }
  const { dir, base } = auditLocation(config);
  // Listed once before the database is touched, so that a wrong AuditLogPath changes nothing,
  // and again under the run's lock, for the plan.
  findAuditFiles(dir, base);
  const store = Store.open(config.sqlitePath);
  try {
    if (store.adopted) {
      logger.info(
        "adopted the Go conntracker database {path} (its mysql@localhost progress row was removed)",
        {
          path: config.sqlitePath,
        },
      );
    }
    const { files, unreadable } = findAuditFiles(dir, base);
    for (const u of unreadable) {
      logger.warning("{path}: skipped, it cannot be read: {error}", u);
    }
    const previous = store.checkpoints();
    const plans = planFiles(logger, files, previous);
    const lost = lostFiles(previous, plans);
    const { jobs, heldBack } = scanJobs(plans, now, zone);
    const workers = workerCount(jobs, threshold, config.maxWorkers);
    const found = new Findings();
    const split = options.splitThresholdBytes;
    const results = workers === 0 && config.maxWorkers >= 2 && split !== undefined
      ? await scanSplit(jobs, split, found) ?? await scanAll(jobs, workers, found, options.progress)
      : await scanAll(jobs, workers, found, options.progress);

    warnLost(logger, lost, results, zone);
    const { rejected, malformed, lateDated, events } = tallyResults(logger, results, zone);
    const { inserted, updated } = storeFindings(logger, store, found, zone);

    store.saveCheckpoints(checkpointsAfter(plans, results));
    const central = config.store ? await pushCentral(config, store) : null;
    options.beforeCommit?.();
    store.commit();
    return {
      files: files.length,
      unreadable: unreadable.length,
      filesRead: results.filter((r) => r.bytes > 0).length,
      bytes: results.reduce((n, r) => n + r.bytes, 0),
      events,
      logins: found.logins.size,
      inserted,
      updated,
      others: found.others.size,
      rejected,
      malformed,
      lateDated,
      workers,
      adopted: store.adopted,
      heldBack,
      central,
    };
  } catch (err) {
    store.rollback();
    throw err;
  }
}

type Logger = ReturnType<typeof log>;

/** Where to start reading each file; a file reset since the last run is logged. */
function planFiles(
  logger: Logger,
  files: AuditFile[],
  previous: ReturnType<Store["checkpoints"]>,
): FilePlan[] {
  return files.map((file) => {
    const plan = planFile(file, file.fingerprint, previous.get(file.ino));
    if (plan.reset) {
      logger.warning("{path} was {how} since the last run; reading it again from the start", {
        path: file.path,
        how: plan.reset,
      });
    }
    return plan;
  });
}

/**
 * How many worker threads parse the files: none below `threshold` new bytes or with only one
 * file to read (a worker costs more than it saves there), else one per busy file up to the
 * configured and the available maximum.
 */
function workerCount(jobs: ScanJob[], threshold: number, maxWorkers: number): number {
  const toRead = jobs.reduce((n, j) => n + Math.max(0, j.end - j.start), 0);
  const busy = jobs.filter((j) => j.end > j.start);
  return toRead >= threshold && busy.length > 1
    ? Math.min(maxWorkers, busy.length, navigator.hardwareConcurrency || 1)
    : 0;
}

/** Merges the findings into the store (in the run's transaction), warning about what was dropped. */
function storeFindings(
  logger: Logger,
  store: Store,
  found: Findings,
  zone: Zone,
): { inserted: number; updated: number } {
  if (found.overflow > 0) {
    logger.warning(
      "{count} failed or other login events were counted but not stored: this run saw more " +
        "than {max} distinct names and hosts in them (a flood of made-up usernames?); " +
        "successful logins are all stored",
      { count: found.overflow, max: MAX_OTHER_KEYS },
    );
  }
  const merged = store.mergeLogins(found.logins.values(), zone);
  store.mergeOthers(found.others.values(), zone);
  if (store.refusedFuture > 0) {
    logger.warning(
      "{count} events dated more than an hour after now were not recorded (a wrong clock on " +
        "the server, or a wrong TimeLocation?)",
      { count: store.refusedFuture },
    );
  }
  return merged;
}

/**
 * The scan job of each plan. The end of a live log written in the last {@link SETTLE_MS} is
 * held back ({@link HOLD_BACK_BYTES}) for the next run; `heldBack` is how many bytes that is.
 */
function scanJobs(
  plans: FilePlan[],
  now: number,
  zone: Zone,
): { jobs: ScanJob[]; heldBack: number } {
  let heldBack = 0;
  const jobs = plans.map((p, i): ScanJob => {
    let end = p.file.size;
    let complete = true;
    if (p.file.live && now - p.file.mtimeMs < SETTLE_MS && end - p.start > 0) {
      const cut = Math.max(p.start, end - HOLD_BACK_BYTES);
      heldBack += end - cut;
      end = cut;
      complete = false;
    }
    const cp = p.checkpoint;
    return {
      path: p.file.path,
      ino: p.file.ino,
      start: p.start,
      end,
      complete,
      zone: zone.name,
      serverHost: cp?.serverHost ?? undefined,
      lastInstant: cp?.lastInstant ?? undefined,
      lastWrite: Math.min(now, p.file.mtimeMs),
      ...neighbourContext(plans, i),
    };
  });
  return { jobs, heldBack };
}

/** Warns about each file that went away (or was overwritten) before it was read to its end. */
function warnLost(
  logger: Logger,
  lost: ReturnType<typeof lostFiles>,
  results: ScanResult[],
  zone: Zone,
): void {
  const oldest = results.find((r) => r.firstInstant !== null);
  for (const { checkpoint: cp, how } of lost) {
    logger.warning(
      `data may have been lost: {path} (inode {ino}) was ${how} before it was read to its end ` +
        "(read up to byte {offset}, last record {last}); nothing was read between then and {next}",
      {
        path: cp.path,
        ino: cp.ino,
        offset: cp.offset,
        last: cp.lastInstant === null ? "unknown" : zone.format(cp.lastInstant),
        next: oldest?.firstInstant != null
          ? `${zone.format(oldest.firstInstant)} in ${oldest.path}`
          : "the oldest file now present",
      },
    );
  }
}

/** Logs each file's rejected and late-dated lines and adds up the figures of all files. */
function tallyResults(
  logger: Logger,
  results: ScanResult[],
  zone: Zone,
): Pick<RunSummary, "rejected" | "malformed" | "lateDated" | "events"> {
  const sum = { rejected: 0, malformed: 0, lateDated: 0, events: 0 };
  for (const r of results) {
    for (const rej of r.rejections) {
      logger.warning("{path}:{line}: rejected: {reason}: {excerpt}", {
        path: r.path,
        line: Number.isFinite(rej.line) ? rej.line : "?",
        reason: rej.reason,
        excerpt: rej.excerpt,
      });
    }
    if (r.rejected > r.rejections.length) {
      logger.warning(
        "{path}: {count} more lines rejected (details are logged for the first {shown})",
        {
          path: r.path,
          count: r.rejected - r.rejections.length,
          shown: r.rejections.length,
        },
      );
    }
    if (r.lateDated > 0) {
      logger.warning(
        "{path}: {count} records are dated after the file was last written: forged, or " +
          "TimeLocation ({zone}) is not the zone of the server's clock",
        { path: r.path, count: r.lateDated, zone: zone.name },
      );
    }
    sum.rejected += r.rejected;
    sum.malformed += r.malformed;
    sum.lateDated += r.lateDated;
    sum.events += r.events;
  }
  return sum;
}

/** The checkpoint of each file after this run: how far it was read, and what was learnt. */
function checkpointsAfter(plans: FilePlan[], results: ScanResult[]): Checkpoint[] {
  return plans.flatMap((p, i): Checkpoint[] => {
    const r = results[i];
    // Not read because it was renamed meanwhile: keep what was known about that inode.
    if (r.moved) return p.checkpoint ? [p.checkpoint] : [];
    return [{
      ino: p.file.ino,
      path: p.file.path,
      offset: r.consumed,
      size: p.file.size,
      fingerprint: p.fingerprint,
      serverHost: r.serverHost ?? null,
      lastInstant: r.lastInstant,
      live: p.file.live,
    }];
  });
}

/**
 * Sends this run's changed rows to the central store, or every row when this SQLite file has
 * not yet fed this store under this ServerName. Runs before the local commit: see central.ts
 * for why a kill in between is harmless. Returns how many rows were sent.
 */
async function pushCentral(config: ConntrackConfig, store: Store): Promise<number> {
  const target = config.store!;
  const marker = `${target.display} ${config.serverName}`;
  const all = store.meta("central") !== marker;
  const accounts = store.accountRows(all);
  const events = store.eventRows(all);
  if (!all && accounts.length === 0 && events.length === 0) return 0;
  // Loaded only in fleet mode: a plain run never loads the MySQL driver.
  const { Central } = await import("./central.ts");
  const central = await Central.open(target);
  try {
    await central.ensureSchema(config.serverName);
    const skipped = await central.pushAccounts(config.serverName, accounts) +
      await central.pushEvents(config.serverName, events);
    if (skipped > 0) {
      log("conntrack").warning(
        "{count} rows were not sent to the central store: a name or host too long for it, or " +
          "a last_seen it would refuse (unreadable, or more than an hour after now)",
        { count: skipped },
      );
    }
  } finally {
    await central.close();
  }
  store.setMeta("central", marker);
  return accounts.length + events.length;
}

/**
 * Context for plan i: the end of the file before it (the next older rotation) or of its own
 * bytes before the checkpoint, and the start of the next newer file, so that the checks that
 * compare neighbouring records (a username's two copies, the time and id sequence) see across
 * the rotation boundary. Plans are listed oldest first, each log's rotations together (files.ts),
 * so only a neighbour of the same log with the next rank is a rotation neighbour.
 */
function neighbourContext(
  plans: FilePlan[],
  i: number,
): Pick<ScanJob, "before" | "beforeServerHost" | "after"> {
  const p = plans[i];
  const older = plans[i - 1];
  const newer = plans[i + 1];
  const out: Pick<ScanJob, "before" | "beforeServerHost" | "after"> = {};
  if (p.start > 0) {
    out.before = {
      path: p.file.path,
      ino: p.file.ino,
      from: Math.max(0, p.start - CONTEXT_BYTES),
      to: p.start,
    };
  } else if (older && older.file.base === p.file.base && older.file.rank === p.file.rank + 1) {
    out.before = {
      path: older.file.path,
      ino: older.file.ino,
      from: Math.max(0, older.file.size - CONTEXT_BYTES),
      to: older.file.size,
    };
    out.beforeServerHost = older.checkpoint?.serverHost ?? undefined;
  }
  if (newer && newer.file.base === p.file.base && newer.file.rank === p.file.rank - 1) {
    out.after = {
      path: newer.file.path,
      ino: newer.file.ino,
      from: 0,
      to: Math.min(newer.file.size, CONTEXT_BYTES),
    };
  }
  return out;
}

/**
 * The directory, and the base name when one is known: AuditLogPath may name the live file, and
 * AuditFileName may name it inside the directory; otherwise the files are recognised by content.
 */
export function auditLocation(config: ConntrackConfig): { dir: string; base?: string } {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(config.auditLogPath);
  } catch (err) {
    throw new RuntimeError(
      `AuditLogPath ${config.auditLogPath}: ${errorText(err)}`,
      { cause: err },
    );
  }
  if (info.isFile) {
    return { dir: dirOf(config.auditLogPath), base: baseOf(config.auditLogPath) };
  }
  return { dir: config.auditLogPath.replace(/\/+$/, "") || "/", base: config.auditFileName };
}

/** The audit files in `dir`; none at all is an error (a wrong AuditLogPath reads nothing). */
function findAuditFiles(dir: string, base: string | undefined): Discovery {
  let found;
  try {
    found = discoverAuditFiles(dir, base);
  } catch (err) {
    throw new RuntimeError(
      `cannot list audit log directory ${dir}: ${errorText(err)}`,
      { cause: err },
    );
  }
  if (found.files.length > 0) return found;
  const [first] = found.unreadable;
  if (first) {
    throw new RuntimeError(
      `no readable audit log in ${dir}: ${first.path} cannot be read (${first.error})` +
        (found.unreadable.length > 1 ? ` and ${found.unreadable.length - 1} more files` : ""),
    );
  }
  throw new RuntimeError(
    base !== undefined
      ? `no audit log in ${dir}: no file named ${base} or ${base}.N (set AuditFileName, or AuditLogPath to the file that server_audit_file_path names)`
      : `no audit log in ${dir}: none of its ${found.examined} files starts like a server_audit record (YYYYMMDD HH:MM:SS,host,…); set AuditLogPath to the directory or file that server_audit_file_path names`,
  );
}

/**
 * TimeLocation left out means UTC, as for the Go tool (whose databases hold UTC-read times);
 * a server on a machine whose clock is not UTC writes local time, so say how to choose.
 */
function warnIfLocalTime(
  logger: ReturnType<typeof log>,
  local: ReturnType<typeof machineZone>,
): void {
  if (!local || isUtcLike(local.offsetAt)) return;
  logger.warning(
    "TimeLocation is not set, so audit log times are read as UTC (as the Go conntracker does), " +
      "but this machine's time zone is {zone}: if MariaDB writes its local time, set " +
      "TimeLocation = {zone} in the ini file; set TimeLocation = UTC to keep UTC without this warning",
    { zone: local.name },
  );
}

/**
 * Scans `jobs` (in workers when `workers` > 0) into `found`, telling `progress` how far it got.
 */
async function scanAll(
  jobs: ScanJob[],
  workers: number,
  found: Findings,
  progress?: ProgressSink,
): Promise<ScanResult[]> {
  if (!progress) {
    return workers > 0
      ? await scanInWorkers(jobs, workers, found)
      : jobs.map((j) => scanFile(j, found));
  }
  const state = {
    filesDone: 0,
    files: jobs.filter((j) => j.end > j.start).length,
    bytesDone: 0,
    bytes: jobs.reduce((n, j) => n + Math.max(0, j.end - j.start), 0),
  };
  try {
    if (workers > 0) {
      return await scanInWorkers(jobs, workers, found, (r) => {
        if (r.bytes > 0) state.filesDone++;
        state.bytesDone += r.bytes;
        progress.update(state);
      });
    }
    return jobs.map((j) => {
      const r = scanFile(j, found, (n) => {
        state.bytesDone += n;
        progress.update(state);
      });
      if (r.bytes > 0) state.filesDone++;
      progress.update(state);
      return r;
    });
  } finally {
    progress.clear();
  }
}

/**
 * Scans `jobs` on this thread plus `count - 1` Web Workers; results come back in job order,
 * and every thread's findings end up in `found`. Every thread takes the next job from a shared
 * counter (largest files first), so no thread waits for another to hand out work.
 */
async function scanInWorkers(
  jobs: ScanJob[],
  count: number,
  found: Findings,
  onResult?: (r: ScanResult) => void,
): Promise<ScanResult[]> {
  const results: ScanResult[] = new Array(jobs.length);
  const order = jobs.map((_, i) => i).sort((a, b) =>
    (jobs[b].end - jobs[b].start) - (jobs[a].end - jobs[a].start)
  );
  const sorted = order.map((i) => jobs[i]);
  const next = new Int32Array(new SharedArrayBuffer(4));
  // The worker runs from a blob: URL holding the bundled scan_worker.ts, so starting it needs
  // no read permission on this program's own files.
  const url = URL.createObjectURL(
    new Blob([SCAN_WORKER_SOURCE], { type: "application/javascript" }),
  );
  const pool = Array.from({ length: count - 1 }, () => new Worker(url, { type: "module" }));
  try {
    const done = pool.map((worker) =>
      new Promise<void>((resolve, reject) => {
        worker.onmessage = (e: MessageEvent<WorkerReply>) => {
          const m = e.data;
          if (m.error !== undefined) reject(new RuntimeError(`parser worker: ${m.error}`));
          else if (m.index !== undefined && m.result) {
            results[order[m.index]] = m.result;
            onResult?.(m.result);
          } else if (m.findings) {
            found.merge(m.findings);
            resolve();
          } else reject(new RuntimeError("parser worker: unexpected message"));
        };
        worker.onerror = (e) => {
          e.preventDefault();
          reject(new RuntimeError(`parser worker failed: ${e.message}`));
        };
        worker.postMessage({ jobs: sorted, next });
      })
    );
    // Let the workers start before this thread gets busy.
    await new Promise((r) => setTimeout(r, 0));
    scanQueue(sorted, next, found, (i, r) => {
      results[order[i]] = r;
      onResult?.(r);
    });
    await Promise.all(done);
  } finally {
    for (const w of pool) w.terminate();
    URL.revokeObjectURL(url);
  }
  return results;
}

/**
 * When exactly one file has new bytes, at least `threshold` of them, reads it in two ranges in
 * parallel (this thread and one worker) and returns the results of all jobs; undefined when
 * it does not apply (then the caller reads as usual). The cut is a line start in the middle; the
 * second range reads 512 KiB before the cut as context. The result is the sequential one only
 * when the second range's parser, after its context, is in the state the first range's parser
 * is in at the cut (compared by {@link AuditParser.digest}); otherwise the file is read again in
 * one piece. See docs/conntrack.md "Speed".
 */
export async function scanSplit(
  jobs: ScanJob[],
  threshold: number,
  found: Findings,
): Promise<ScanResult[] | undefined> {
  const busy = jobs.filter((j) => j.end > j.start);
  if (busy.length !== 1 || (navigator.hardwareConcurrency || 1) < 2) return undefined;
  const job = busy[0];
  if (job.end - job.start < threshold) return undefined;
  const host = job.serverHost ?? (job.start === 0 ? firstServerHost(job) : undefined);
  const cut = host === undefined ? undefined : lineStartAfter(job, (job.start + job.end) >> 1);
  if (cut === undefined) return undefined;
  return (await scanSplitAt(jobs, job, host!, cut, found))?.results;
}

/**
 * Reads `job` (one of `jobs`, the only one with new bytes) in two ranges cut at `cut` (a line
 * start), the file's server host being `host`; see {@link scanSplit}. `merged` tells whether
 * the two ranges were used (false: the parsers' states differed at the cut and the file was
 * read again in one piece). Undefined when the cut leaves too little before it.
 */
export async function scanSplitAt(
  jobs: ScanJob[],
  job: ScanJob,
  host: string,
  cut: number,
  found: Findings,
): Promise<{ results: ScanResult[]; merged: boolean } | undefined> {
  if (cut - job.start < SPLIT_CONTEXT_BYTES || cut >= job.end) return undefined;
  const head: ScanJob = {
    ...job,
    end: cut,
    complete: true,
    after: undefined,
    split: "head",
    digestFrom: cut - SPLIT_DIGEST_BYTES,
  };
  const tail: ScanJob = {
    ...job,
    start: cut,
    serverHost: host,
    lastInstant: undefined,
    before: { path: job.path, ino: job.ino, from: cut - SPLIT_CONTEXT_BYTES, to: cut },
    beforeServerHost: host,
    split: "tail",
    digestFrom: cut - SPLIT_DIGEST_BYTES,
  };
  const both = new Findings();
  const [a, b] = await scanInWorkers([head, tail], 2, both);
  const others = jobs.map((j) => j === job ? undefined : scanFile(j, found));
  const limit = job.detailLimit ?? MAX_REJECTION_DETAILS;
  // The refusals logged in detail are the first ones recorded; the head's recorded after its
  // cut may come after the tail's in a sequential read, so then which ones cannot be told.
  const detailsKnown = limit === Infinity || a.rejectedAtCut === a.rejected ||
    a.rejectedAtCut! >= limit || b.rejected === 0;
  const merged: ScanResult | undefined = a.digest !== undefined && a.digest === b.digest &&
      !a.moved && !b.moved && detailsKnown
    ? {
      path: job.path,
      consumed: b.consumed,
      serverHost: b.serverHost,
      lastInstant: b.lastInstant,
      firstInstant: a.firstInstant === null
        ? b.firstInstant
        : b.firstInstant === null
        ? a.firstInstant
        : Math.min(a.firstInstant, b.firstInstant),
      rejections: [...a.rejections, ...b.rejections].slice(0, limit),
      rejected: a.rejected + b.rejected,
      malformed: a.malformed + b.malformed,
      lateDated: a.lateDated + b.lateDated,
      events: a.events + b.events,
      bytes: b.consumed - job.start,
    }
    : undefined;
  if (merged) found.merge(both.toMessage());
  log("conntrack").debug("{path}: read in two ranges from byte {cut}: {how}", {
    path: job.path,
    cut,
    how: merged ? "states equal at the cut" : "states differ at the cut, read again in one piece",
  });
  return {
    results: jobs.map((j, i) => j === job ? merged ?? scanFile(j, found) : others[i]!),
    merged: merged !== undefined,
  };
}

/** The server host a parser learns from the first 64 KiB of the file, if any. */
function firstServerHost(job: ScanJob): string | undefined {
  const bytes = readBytes(job.path, job.ino, 0, CONTEXT_BYTES);
  if (!bytes) return undefined;
  const last = bytes.lastIndexOf(10);
  if (last < 0) return undefined;
  const parser = new AuditParser({ zone: new Zone(job.zone), startOffset: 0 });
  parser.feed(bytes, 0, 0, last + 1);
  return parser.serverHost;
}

/** The first line start after file offset `at` (within 1 MiB), if any. */
function lineStartAfter(job: ScanJob, at: number): number | undefined {
  const bytes = readBytes(job.path, job.ino, at, 1 << 20);
  const nl = bytes ? bytes.indexOf(10) : -1;
  return nl < 0 || at + nl + 1 >= job.end ? undefined : at + nl + 1;
}

/** Up to `n` bytes of the file from `at`; undefined when it is gone or another file now. */
function readBytes(path: string, ino: number | undefined, at: number, n: number) {
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(path, { read: true });
  } catch {
    return undefined;
  }
  try {
    if (ino !== undefined && f.statSync().ino !== ino) return undefined;
    f.seekSync(at, Deno.SeekMode.Start);
    return readUpTo(f, n);
  } finally {
    f.close();
  }
}
