/**
 * The monitor loop: scans servers through a bounded queue and runs, per server, the pipeline
 * scan (scan.ts, usage measured without any lock) → take the server's enforcement lock
 * (server_lock.ts) → re-read the accounts → finish interrupted intents → plan (plan.ts, pure) →
 * act (act.ts: intent, statement, confirmation) → record (store.ts) → release → publish (audit
 * log, report, metrics file).
 *
 * Lifecycle hooks for a daemon wrapper:
 * - {@link Monitor.runCycle}: one pass over every server (what `--once` runs);
 * - {@link Monitor.run}: the foreground loop, each server on its own monitor_interval_sec;
 * - {@link Monitor.stop}: no new scans or actions start; waits for running ones (every user's
 *   actions finish and are recorded before a scan ends), then writes the final metrics;
 * - {@link Monitor.reload}: swaps in a new, already validated configuration; scans that are
 *   running keep the configuration they started with.
 *
 * The state store is opened at the first scan (after the daemon dropped root) and shared by
 * every server of the process.
 * @module
 */
import { type MonitorConfig, type ServerConfig, shardPath } from "../config/config.ts";
import type { UserLimit } from "../config/search_user.ts";
import { connectWithRetry, type Db, sleep } from "../db/connection.ts";
import { errorText as message, RuntimeError } from "../errors.ts";
import { renderExpositionSliced } from "../metrics/exposition.ts";
import { monitorFamilies, type ReloadStatus } from "../metrics/monitor_metrics.ts";
import { TextfileWriter } from "../metrics/textfile_writer.ts";
import { log } from "../system/log.ts";
import { listAccounts } from "./accounts.ts";
import {
  type ActContext,
  actForUser,
  finishIntents,
  releaseOrphans,
  type ServerActions,
  serverActions,
  tryWrite,
} from "./act.ts";
import { appendAudit } from "./audit_log.ts";
import { settle } from "./decide.ts";
import { faultPoint } from "./fault.ts";
import { orphanLocks, planUser, resolveIntents } from "./plan.ts";
import { TaskQueue } from "./queue.ts";
import type { Released, ServerReport, UserReport } from "./report.ts";
import { hasAccount, type Scan, scanServer } from "./scan.ts";
import { ServerLock } from "./server_lock.ts";
import { shardOf } from "./shard.ts";
import {
  prepareStateDir,
  type StateStore,
  StateStore as Store,
  type StateWrites,
  type UserFlags,
} from "./store.ts";
import { TimeSlicer, yieldNow } from "./slice.ts";

/** How the monitor runs: enforcement level and shard. */
export interface MonitorOptions {
  /** 0 = log only, 1 = log and warn, 2 = lock and unlock. */
  debug: 0 | 1 | 2;
  shard: number;
  shards: number;
  /**
   * Owner for state files this process creates (root running `--once` prepares them for
   * run_as, as the daemon does before it drops root).
   */
  owner?: { uid: number; gid: number };
}

/**
 * Replaceable parts of the pipeline, for tests: the state store's writes (to fail one, as a full
 * disk would) and the statements that change accounts.
 */
export interface MonitorSeams {
  writes?: (store: StateStore) => StateWrites;
  actions?: (db: Db) => ServerActions;
}

/** Users recorded per state store transaction. */
const RECORD_PART = 500;

const logger = log("monitor");

/** Runs scans and enforcement for one configuration (swappable) and one shard. */
export class Monitor {
  #config: MonitorConfig;
  readonly options: MonitorOptions;
  #queue: TaskQueue;
  #reports = new Map<string, ServerReport>();
  #seams: MonitorSeams;
  #store?: { dir: string; store: Promise<StateStore> };
  #stateWriteErrors = 0;
  /** What was already reported since the last (re)load: `server\0kind\0user`. */
  #told = new Set<string>();
  #busy = new Map<string, Promise<ServerReport>>();
  #nextDue = new Map<string, number>();
  #abort = new AbortController();
  #cycle?: Promise<ServerReport[]>;
  #loop?: Promise<void>;
  #wake = new AbortController();
  #reload?: ReloadStatus;
  #metricsWritten = false;
  #metrics?: TextfileWriter;

  constructor(config: MonitorConfig, options: MonitorOptions, seams: MonitorSeams = {}) {
    this.#config = config;
    this.options = options;
    this.#seams = seams;
    this.#queue = new TaskQueue(config.workers);
  }

  /** The configuration in force. */
  get config(): MonitorConfig {
    return this.#config;
  }

  /** True once {@link stop} was called. */
  get stopping(): boolean {
    return this.#abort.signal.aborted;
  }

  /** Swaps in a new validated configuration; takes effect for scans that start afterwards. */
  reload(config: MonitorConfig): void {
    const old = this.#config;
    this.#config = config;
    if (config.workers !== old.workers) this.#queue = new TaskQueue(config.workers);
    const ids = new Set(config.servers.map((s) => s.id));
    for (const id of [...this.#reports.keys()]) if (!ids.has(id)) this.#reports.delete(id);
    for (const id of [...this.#nextDue.keys()]) if (!ids.has(id)) this.#nextDue.delete(id);
    // Unknown users and global grants are reported again once per configuration.
    this.#told.clear();
    this.#wake.abort();
  }

  /**
   * One pass over every server, at most `workers` at a time, then the metrics file. A server
   * whose previous scan still runs is not scanned twice; a second call while a cycle runs
   * returns that cycle.
   */
  runCycle(): Promise<ServerReport[]> {
    this.#cycle ??= (async () => {
      try {
        const config = this.#config;
        const reports = await Promise.all(config.servers.map((s) => this.#schedule(s, config)));
        await this.#writeMetrics();
        return reports;
      } finally {
        this.#cycle = undefined;
      }
    })();
    return this.#cycle;
  }

  /** The foreground loop: scans each server every monitor_interval_sec until {@link stop}. */
  run(): Promise<void> {
    this.#loop ??= (async () => {
      const signal = this.#abort.signal;
      while (!signal.aborted) {
        const config = this.#config;
        const now = Date.now();
        for (const server of config.servers) {
          if ((this.#nextDue.get(server.id) ?? 0) > now || this.#busy.has(server.id)) continue;
          this.#nextDue.set(server.id, now + server.intervalSec * 1000);
          this.#schedule(server, config).then(() => this.#writeMetrics());
        }
        const next = Math.min(...config.servers.map((s) => this.#nextDue.get(s.id) ?? now));
        this.#wake = new AbortController();
        await sleep(
          Math.max(50, Math.min(60_000, next - Date.now())),
          AbortSignal.any([signal, this.#wake.signal]),
        );
      }
      await Promise.allSettled(this.#busy.values());
      await this.#writeMetrics();
    })();
    return this.#loop;
  }

  /** Stops: no new scans or actions; waits for running ones; final metrics are written. */
  async stop(): Promise<void> {
    this.#abort.abort();
    if (this.#loop) await this.#loop;
    else {
      await Promise.allSettled(this.#busy.values());
      if (this.#cycle) await this.#cycle.catch(() => {});
    }
  }

  /** Closes the state store (after {@link stop}, or when a `--once` cycle is over). */
  async close(): Promise<void> {
    const open = this.#store;
    this.#store = undefined;
    if (open) (await open.store.catch(() => undefined))?.close();
  }

  /** State store writes that failed since the process started. */
  get stateWriteErrors(): number {
    return this.#stateWriteErrors;
  }

  #schedule(server: ServerConfig, config: MonitorConfig): Promise<ServerReport> {
    const running = this.#busy.get(server.id);
    if (running) return running;
    const task = this.#queue.run(() => this.#scanAndEnforce(server, config)).catch((err) => {
      // Only unexpected failures get here.
      logger.error`server ${server.id}: ${message(err)}`;
      const report: ServerReport = {
        server: server.id,
        up: false,
        error: message(err),
        durationSec: 0,
        errorsTotal: 0,
        users: [],
        stale: false,
      };
      this.#reports.set(server.id, report);
      return report;
    }).finally(() => this.#busy.delete(server.id));
    this.#busy.set(server.id, task);
    return task;
  }

  /** The state store of `config.stateDir`, created (with its directory) on first use. */
  #openStore(config: MonitorConfig): Promise<StateStore> {
    if (this.#store?.dir !== config.stateDir) {
      const previous = this.#store;
      const owner = this.options.owner;
      const store = (async () => {
        if (previous) (await previous.store.catch(() => undefined))?.close();
        await prepareStateDir(config.stateDir, owner);
        return await Store.open(config.stateDir, {
          servers: config.servers.map((s) => s.id),
          owner,
          onMigrated: (file, locks) =>
            logger
              .info`imported the old state file ${file} (${locks} lock record(s)) into the state store; renamed it to ${file}.migrated`,
        });
      })();
      this.#store = { dir: config.stateDir, store };
      // A failed open is retried at the next scan.
      store.catch(() => {
        if (this.#store?.store === store) this.#store = undefined;
      });
    }
    return this.#store!.store;
  }

  /** Counts a failed state write (for the metric and the exit code). */
  #stateFailed(): void {
    this.#stateWriteErrors++;
  }

  /** This shard's users. */
  #users(config: MonitorConfig): UserLimit[] {
    const { shard, shards } = this.options;
    return config.users.filter((u) => shardOf(u.user, shards) === shard);
  }

  /** Logs `text` once per configuration for (server, kind, user). */
  #tellOnce(server: string, kind: string, user: string, tell: () => void): void {
    const key = `${server}\u0000${kind}\u0000${user}`;
    if (this.#told.has(key)) return;
    this.#told.add(key);
    tell();
  }

  async #scanAndEnforce(server: ServerConfig, config: MonitorConfig): Promise<ServerReport> {
    const started = performance.now();
    const duration = () => Math.round(performance.now() - started) / 1000;
    const { shard } = this.options;
    const users = this.#users(config);
    let store: StateStore;
    try {
      store = await this.#openStore(config);
    } catch (err) {
      this.#stateFailed();
      const error = `state store unavailable, no action taken: ${message(err)}`;
      logger.error`server ${server.id}: ${error}`;
      const report: ServerReport = {
        server: server.id,
        up: false,
        error,
        durationSec: duration(),
        errorsTotal: 0,
        users: [],
        stale: false,
        stateError: message(err),
      };
      this.#reports.set(server.id, report);
      return report;
    }
    const status = store.status(server.id, shard);
    let db: Db | undefined;
    let report: ServerReport;
    try {
      let scan: Scan;
      let lock: ServerLock;
      try {
        if (this.stopping) throw new RuntimeError("stopping");
        db = await connectWithRetry(server, {
          signal: this.#abort.signal,
          onRetry: (err, attempt, delayMs) =>
            logger.warning`server ${server.id}: connection attempt ${attempt} failed (${
              message(err)
            }); retrying in ${delayMs} ms`,
        });
        // Reading is safe to abandon: a stop ends the connection, the scan fails, nothing is done.
        const conn = db.conn;
        const abandon = () => conn.destroy();
        this.#abort.signal.addEventListener("abort", abandon, { once: true });
        try {
          scan = await scanServer(db, server, users, this.options.debug);
          faultPoint("scanned");
          lock = await ServerLock.acquire(config.stateDir, server.id, {
            signal: this.#abort.signal,
            owner: this.options.owner,
            onWait: (path) =>
              logger
                .info`server ${server.id}: waiting for another monitor process (a shard, the daemon or --once) that holds ${path}`,
          });
        } finally {
          this.#abort.signal.removeEventListener("abort", abandon);
        }
        if (this.stopping) {
          lock.release();
          throw new RuntimeError("stopping");
        }
      } catch (err) {
        report = this.#failed(server, config, store, status, users, err, duration());
        return report;
      }
      let ctx: ActContext & { flags: Map<string, UserFlags> };
      let userReports: UserReport[];
      let released: Released[];
      const lastSuccess = Math.floor(Date.now() / 1000);
      try {
        ({ ctx, userReports, released } = await this.#enforce(
          db,
          server,
          config,
          store,
          scan,
          users,
        ));
        await this.#record(ctx, server.id, userReports, lastSuccess, config.lruSize);
        faultPoint("recorded");
      } catch (err) {
        // The server went away under the lock: what was sent is recorded as intents.
        report = this.#failed(server, config, store, status, users, err, duration(), true);
        return report;
      } finally {
        lock.release();
      }
      if (ctx.stateError) this.#stateFailed();
      await appendAudit(config.auditLog, ctx.audits).catch((err) =>
        logger.error`cannot write the audit log ${config.auditLog}: ${message(err)}`
      );
      report = {
        server: server.id,
        up: true,
        lastSuccess: ctx.stateError ? status.lastSuccess : lastSuccess,
        durationSec: duration(),
        errorsTotal: status.errorsTotal,
        users: userReports,
        stale: false,
        unknownUsers: scan.unknown.length,
        globalGrantUsers: scan.everywhere.size,
        incompleteSchemas: scan.incomplete.size,
        stateError: ctx.stateError,
        released,
      };
      logger
        .info`server ${server.id}: scanned ${userReports.length} user(s) in ${report.durationSec} s`;
      return report;
    } finally {
      await db?.close();
      this.#reports.set(server.id, report!);
    }
  }

  /** Counts a failed scan and builds its report (last figures kept with prometheus_truncate=0). */
  #failed(
    server: ServerConfig,
    config: MonitorConfig,
    store: StateStore,
    status: { errorsTotal: number; lastSuccess?: number },
    users: readonly UserLimit[],
    err: unknown,
    durationSec: number,
    interrupted = false,
  ): ServerReport {
    let errorsTotal = status.errorsTotal + 1;
    try {
      errorsTotal = store.countError(server.id, this.options.shard);
    } catch (writeErr) {
      this.#stateFailed();
      logger.error`cannot write the state store ${store.path}: ${message(writeErr)}`;
    }
    if (interrupted) {
      logger
        .error`server ${server.id}: cycle interrupted (${
        message(err)
      }); what was sent is recorded and the next run finishes it`;
    } else logger.error`server ${server.id}: scan failed, no action taken: ${message(err)}`;
    const kept = config.prometheusTruncate
      ? []
      : store.figures(server.id, users.map((u) => u.user));
    return {
      server: server.id,
      up: false,
      error: message(err),
      lastSuccess: status.lastSuccess,
      durationSec,
      errorsTotal,
      users: kept.map((u) => ({ ...u, status: "ok" as const, actions: [] })),
      stale: !config.prometheusTruncate,
    };
  }

  /** The record step: flags and figures, in parts so no transaction holds the event loop long. */
  async #record(
    ctx: ActContext & { flags: Map<string, UserFlags> },
    id: string,
    reports: readonly UserReport[],
    lastSuccess: number,
    lruSize: number,
  ): Promise<void> {
    const figures = reports.filter((u) => u.status !== "no account");
    for (let i = 0; i < figures.length || i === 0; i += RECORD_PART) {
      const part = figures.slice(i, i + RECORD_PART);
      const last = i + RECORD_PART >= figures.length;
      const flags = new Map(part.flatMap((u) => {
        const f = ctx.flags.get(u.user);
        return f ? [[u.user, f] as const] : [];
      }));
      const ok = tryWrite(ctx, () =>
        ctx.writes.record(id, this.options.shard, {
          flags,
          figures: part,
          lastSuccess: last ? lastSuccess : undefined,
          lruSize,
        }));
      if (!ok || last) return;
      await yieldNow();
    }
  }

  /**
   * Under the server's lock: re-reads the accounts, finishes interrupted intents, then plans and
   * acts for every user of this shard and for locks no longer covered by search_user.
   */
  async #enforce(
    db: Db,
    server: ServerConfig,
    config: MonitorConfig,
    store: StateStore,
    scan: Scan,
    users: readonly UserLimit[],
  ): Promise<{
    ctx: ActContext & { flags: Map<string, UserFlags> };
    userReports: UserReport[];
    released: Released[];
  }> {
    const { shard, shards, debug } = this.options;
    const id = server.id;
    const table = await listAccounts(db, scan.flavour);
    const hostsOf = (user: string) => (table.accounts.get(user) ?? []).map((a) => a.host);
    const ctx: ActContext & { flags: Map<string, UserFlags> } = {
      server: id,
      debug,
      writes: this.#seams.writes ? this.#seams.writes(store) : store,
      actions: this.#seams.actions ? this.#seams.actions(db) : serverActions(db),
      anonymousHosts: hostsOf(""),
      audits: [],
      flags: new Map(),
    };
    // Prove the store is writable before anything is changed.
    tryWrite(ctx, () => ctx.writes.begin(id, shard));
    const finished = await finishIntents(
      ctx,
      resolveIntents(store.locks(id), table.accounts),
      hostsOf,
    );
    faultPoint("resolved");
    const records = store.locks(id);
    const ours = new Map<string, string[]>();
    for (const r of records) {
      if (r.state === "locked") ours.set(r.user, [...(ours.get(r.user) ?? []), r.host]);
    }
    const flags = store.flags(id);

    for (const [schema, problem] of scan.incomplete) {
      logger
        .warning`server ${id}: the size of schema ${schema} could not be read completely (${problem}); its users are not unlocked in this cycle`;
    }
    const userReports: UserReport[] = [];
    const slicer = new TimeSlicer();
    for (const limit of users) {
      await slicer.pause();
      const earlier = finished.get(limit.user) ?? [];
      const usage = scan.usage.get(limit.user);
      if (!usage || !hasAccount(table, limit)) {
        const who = limit.host === undefined ? limit.user : `${limit.user}@${limit.host}`;
        this.#tellOnce(id, "unknown", limit.user, () =>
          logger
            .warning`server ${id}: ${who} is listed in search_user but has no account on this server; not measured`);
        userReports.push({
          user: limit.user,
          usage: 0,
          soft: limit.soft,
          hard: limit.hard,
          locked: false,
          status: "no account",
          actions: earlier,
        });
        continue;
      }
      const everywhere = scan.everywhere.get(limit.user);
      if (everywhere && !config.protectedUsers.includes(limit.user)) {
        this.#tellOnce(id, "everywhere", limit.user, () =>
          logger
            .warning`server ${id}: user ${limit.user} may write to every schema (INSERT/CREATE/ALTER on ${
            everywhere.join(", ")
          }); such grants charge no schema, only its schema-level grants count`);
      }
      try {
        userReports.push(
          await this.#enforceUser(ctx, config, limit, usage, table, ours, flags, earlier),
        );
      } catch (err) {
        // A bug or a surprise for one user must not cost the others their enforcement.
        logger.error`server ${id}: user ${limit.user} skipped: ${message(err)}`;
      }
    }
    const released = await releaseOrphans(
      ctx,
      orphanLocks(records, config.users, table.accounts, shard, shards),
    );
    return {
      ctx,
      userReports,
      released: [...released].map(([user, actions]) => ({ user, actions })),
    };
  }

  async #enforceUser(
    ctx: ActContext & { flags: Map<string, UserFlags> },
    config: MonitorConfig,
    limit: UserLimit,
    usage: { bytes: number; incomplete: string[] },
    table: Awaited<ReturnType<typeof listAccounts>>,
    ours: ReadonlyMap<string, string[]>,
    flags: ReadonlyMap<string, UserFlags>,
    earlier: string[],
  ): Promise<UserReport> {
    const covered = (host: string) => limit.host === undefined || host === limit.host;
    const allAccounts = table.accounts.get(limit.user) ?? [];
    const accounts = allAccounts.filter((a) => covered(a.host));
    const d = planUser({
      limit,
      usage: usage.bytes,
      incomplete: usage.incomplete.length > 0,
      protected: config.protectedUsers.includes(limit.user),
      accounts,
      flags: flags.get(limit.user),
      lockedByUs: (ours.get(limit.user) ?? []).filter(covered),
    });
    const acted = await actForUser(ctx, {
      user: limit.user,
      usage: usage.bytes,
      hard: limit.hard,
      hosts: allAccounts.map((a) => a.host),
    }, d.actions);
    const next = settle(d.state, d.actions, acted.done);
    ctx.flags.set(limit.user, { warned: next.warned, overHard: next.overHard });
    const lockedAfter = accounts.some((a) => {
      const changed = d.actions.find((x) =>
        acted.done.has(x) && (x.kind === "lock" || x.kind === "unlock") && x.host === a.host
      );
      return changed ? changed.kind === "lock" : a.locked;
    });
    let status = d.status;
    if (next.lockedByUs.length > 0) status = "locked";
    else if (status === "locked") status = "ok";
    return {
      user: limit.user,
      usage: usage.bytes,
      soft: limit.soft,
      hard: limit.hard,
      locked: lockedAfter,
      status,
      actions: [...earlier, ...acted.notes],
    };
  }

  /** Reports of the current servers, in configuration order. */
  reports(): ServerReport[] {
    return this.#config.servers.flatMap((s) => this.#reports.get(s.id) ?? []);
  }

  /**
   * Records the outcome of a configuration (re)load for the metrics and, unless `write` is
   * false, rewrites the file so a failed reload shows at once. Used by the daemon only.
   */
  async noteReload(ok: boolean, write = true): Promise<void> {
    this.#reload = {
      ok,
      lastSuccess: ok ? Math.floor(Date.now() / 1000) : (this.#reload?.lastSuccess ?? 0),
    };
    if (write) await this.#writeMetrics();
  }

  /** Whether the last write of the metrics file succeeded. */
  get metricsWritten(): boolean {
    return this.#metricsWritten;
  }

  async #writeMetrics(): Promise<void> {
    const config = this.#config;
    const { shard, shards } = this.options;
    const path = shardPath(config.prometheusFile, shard, shards);
    // One serialised, coalescing writer per file: scans finishing together never race.
    if (this.#metrics?.path !== path) this.#metrics = new TextfileWriter(path);
    const slicer = new TimeSlicer();
    try {
      await this.#metrics.write(() =>
        renderExpositionSliced(
          monitorFamilies(this.reports(), shard, this.#reload, this.#stateWriteErrors),
          () => slicer.pause(),
        )
      );
      this.#metricsWritten = true;
    } catch (err) {
      this.#metricsWritten = false;
      logger.error`cannot write the metrics file ${path}: ${message(err)}`;
    }
  }
}
