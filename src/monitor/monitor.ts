/**
 * The monitor loop: scans servers through a bounded queue, decides per user, enforces
 * according to the debug level, remembers state, writes the audit log and the metrics file.
 *
 * The actions themselves are carried out by enforce.ts.
 *
 * Lifecycle hooks for a daemon wrapper:
 * - {@link Monitor.runCycle}: one pass over every server (what `--once` runs);
 * - {@link Monitor.run}: the foreground loop, each server on its own monitor_interval_sec;
 * - {@link Monitor.stop}: no new scans or actions start; waits for running ones (every user's
 *   actions finish and are recorded before a scan ends), then writes the final metrics;
 * - {@link Monitor.reload}: swaps in a new, already validated configuration; scans that are
 *   running keep the configuration they started with.
 * @module
 */
import { type MonitorConfig, type ServerConfig, shardPath } from "../config/config.ts";
import type { UserLimit } from "../config/search_user.ts";
import { connectWithRetry, type Db, sleep } from "../db/connection.ts";
import { lockUnsupported, parseVersion } from "../db/flavour.ts";
import { RuntimeError } from "../errors.ts";
import { renderExposition } from "../metrics/exposition.ts";
import { monitorFamilies, type ReloadStatus } from "../metrics/monitor_metrics.ts";
import { TextfileWriter } from "../metrics/textfile_writer.ts";
import { log } from "../system/log.ts";
import { listAccounts } from "./accounts.ts";
import { applyAction, errorText as message } from "./enforce.ts";
import { appendAudit, type AuditEntry } from "./audit_log.ts";
import { type Account, type Action, decide, settle } from "./decide.ts";
import { type SchemaGrant, schemaPatterns, schemasOfUser } from "./mapping.ts";
import { TaskQueue } from "./queue.ts";
import type { ServerReport, UserReport } from "./report.ts";
import { shardOf } from "./shard.ts";
import { ServerState } from "./state.ts";
import {
  readGrants,
  type SchemaFilter,
  serverDatadir,
  type Usage,
  usageFromDatadir,
  usageFromInformationSchema,
} from "./usage.ts";

/** How the monitor runs: enforcement level and shard. */
export interface MonitorOptions {
  /** 0 = log only, 1 = log and warn, 2 = lock and unlock. */
  debug: 0 | 1 | 2;
  shard: number;
  shards: number;
}

interface Scan {
  accounts: Map<string, Account[]>;
  grants: SchemaGrant[];
  usage: Usage;
}

const logger = log("monitor");

/** Runs scans and enforcement for one configuration (swappable) and one shard. */
export class Monitor {
  #config: MonitorConfig;
  readonly options: MonitorOptions;
  #queue: TaskQueue;
  #reports = new Map<string, ServerReport>();
  #states = new Map<string, ServerState>();
  #busy = new Map<string, Promise<ServerReport>>();
  #nextDue = new Map<string, number>();
  #abort = new AbortController();
  #cycle?: Promise<ServerReport[]>;
  #loop?: Promise<void>;
  #wake = new AbortController();
  #reload?: ReloadStatus;
  #metricsWritten = false;
  #metrics?: TextfileWriter;

  constructor(config: MonitorConfig, options: MonitorOptions) {
    this.#config = config;
    this.options = options;
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
    // State files may have moved (state_dir) or the LRU size changed: reload them lazily.
    this.#states.clear();
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

  #schedule(server: ServerConfig, config: MonitorConfig): Promise<ServerReport> {
    const running = this.#busy.get(server.id);
    if (running) return running;
    const task = this.#queue.run(() => this.#scanAndEnforce(server, config)).catch((err) => {
      // Only unexpected failures (state file unreadable, …) get here.
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

  async #state(server: ServerConfig, config: MonitorConfig): Promise<ServerState> {
    let state = this.#states.get(server.id);
    if (!state) {
      const { shard, shards } = this.options;
      const path = shardPath(`${config.stateDir}/${server.id}.json`, shard, shards);
      state = await ServerState.load(path, config.lruSize);
      this.#states.set(server.id, state);
    }
    return state;
  }

  /** This shard's users. */
  #users(config: MonitorConfig): UserLimit[] {
    const { shard, shards } = this.options;
    return config.users.filter((u) => shardOf(u.user, shards) === shard);
  }

  async #scanAndEnforce(server: ServerConfig, config: MonitorConfig): Promise<ServerReport> {
    const started = performance.now();
    const duration = () => Math.round(performance.now() - started) / 1000;
    const state = await this.#state(server, config);
    const users = this.#users(config);
    let db: Db | undefined;
    let report: ServerReport;
    try {
      let scan: Scan;
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
          scan = await this.#scan(db, server, users);
        } finally {
          this.#abort.signal.removeEventListener("abort", abandon);
        }
        if (this.stopping) throw new RuntimeError("stopping");
      } catch (err) {
        state.errorsTotal++;
        logger.error`server ${server.id}: scan failed, no action taken: ${message(err)}`;
        report = {
          server: server.id,
          up: false,
          error: message(err),
          lastSuccess: state.lastSuccess,
          durationSec: duration(),
          errorsTotal: state.errorsTotal,
          users: config.prometheusTruncate ? [] : state.lastUsers.map((u) => ({
            ...u,
            status: "ok" as const,
            actions: [],
          })),
          stale: !config.prometheusTruncate,
        };
        await this.#save(state);
        return report;
      }
      const audits: AuditEntry[] = [];
      const userReports: UserReport[] = [];
      for (const limit of users) {
        if (this.stopping) break;
        try {
          userReports.push(await this.#evaluate(db, server, config, limit, scan, state, audits));
        } catch (err) {
          // A bug or a surprise for one user must not cost the others their enforcement.
          logger.error`server ${server.id}: user ${limit.user} skipped: ${message(err)}`;
        }
      }
      state.lastSuccess = Math.floor(Date.now() / 1000);
      state.lastUsers = userReports.map(({ user, usage, soft, hard, locked }) => ({
        user,
        usage,
        soft,
        hard,
        locked,
      }));
      await this.#save(state);
      await appendAudit(config.auditLog, audits).catch((err) =>
        logger.error`cannot write the audit log ${config.auditLog}: ${message(err)}`
      );
      report = {
        server: server.id,
        up: true,
        lastSuccess: state.lastSuccess,
        durationSec: duration(),
        errorsTotal: state.errorsTotal,
        users: userReports,
        stale: false,
      };
      logger
        .info`server ${server.id}: scanned ${userReports.length} user(s) in ${report.durationSec} s`;
      return report;
    } finally {
      await db?.close();
      this.#reports.set(server.id, report!);
    }
  }

  async #save(state: ServerState): Promise<void> {
    await state.save().catch((err) =>
      logger.error`cannot write the state file ${state.path}: ${message(err)}`
    );
  }

  async #scan(db: Db, server: ServerConfig, users: UserLimit[]): Promise<Scan> {
    const [{ v }] = await db.query<{ v: string }>("SELECT VERSION() AS v");
    const flavour = parseVersion(v);
    if (this.options.debug === 2) {
      const why = lockUnsupported(flavour);
      if (why) throw new RuntimeError(why);
    }
    const measure = async (filter: SchemaFilter): Promise<Usage> =>
      server.usageSource === "datadir"
        ? usageFromDatadir(server.datadir ?? await serverDatadir(db), filter)
        : usageFromInformationSchema(db, filter);
    // A single daemon measures every schema, first, while the server's table cache still holds
    // the user tables; a shard first reads the grants to measure only what its users can own.
    const all = this.options.shards === 1;
    const early = all ? await measure({ all: true }) : undefined;
    const accounts = await listAccounts(db, flavour);
    const grants = server.mapping === "grants" ? await readGrants(db) : [];
    const usage = early ?? await measure({
      all: false,
      patterns: [
        ...new Set(users.flatMap((u) => schemaPatterns(server.mapping, u.user, u.host, grants))),
      ],
    });
    return { accounts, grants, usage };
  }

  async #evaluate(
    db: Db,
    server: ServerConfig,
    config: MonitorConfig,
    limit: UserLimit,
    scan: Scan,
    state: ServerState,
    audits: AuditEntry[],
  ): Promise<UserReport> {
    const schemas = schemasOfUser(
      server.mapping,
      limit.user,
      limit.host,
      scan.grants,
      scan.usage.keys(),
    );
    const usage = schemas.reduce((sum, s) => sum + (scan.usage.get(s) ?? 0), 0);
    const accounts = (scan.accounts.get(limit.user) ?? []).filter((a) =>
      limit.host === undefined || a.host === limit.host
    );
    const d = decide({
      usage,
      soft: limit.soft,
      hard: limit.hard,
      protected: config.protectedUsers.includes(limit.user),
      accounts,
      state: state.get(limit.user),
    });
    const done = new Set<Action>();
    const notes: string[] = [];
    for (const action of d.actions) {
      const applied = await applyAction(
        db,
        this.options.debug,
        server.id,
        limit.user,
        usage,
        action,
      );
      if (applied.done) done.add(action);
      notes.push(applied.note);
      audits.push({
        server: server.id,
        user: limit.user,
        host: "host" in action ? action.host : undefined,
        usage,
        limit: "limit" in action ? action.limit : limit.hard,
        action: action.kind,
        result: applied.result,
      });
    }
    const next = settle(d.state, d.actions, done);
    state.set(limit.user, next);
    const lockedAfter = accounts.some((a) => {
      const changed = d.actions.find((x) =>
        done.has(x) && (x.kind === "lock" || x.kind === "unlock") && x.host === a.host
      );
      return changed ? changed.kind === "lock" : a.locked;
    });
    let status = d.status;
    if (next.lockedByUs.length > 0) status = "locked";
    else if (status === "locked") status = "ok";
    return {
      user: limit.user,
      usage,
      soft: limit.soft,
      hard: limit.hard,
      locked: lockedAfter,
      status,
      actions: notes,
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
    try {
      await this.#metrics.write(() =>
        renderExposition(monitorFamilies(this.reports(), shard, this.#reload))
      );
      this.#metricsWritten = true;
    } catch (err) {
      this.#metricsWritten = false;
      logger.error`cannot write the metrics file ${path}: ${message(err)}`;
    }
  }
}
