/**
 * The monitor loop: runs the cycle of each server (cycle.ts: scan → plan → act → record →
 * publish) through a bounded queue, then writes the metrics file (publish.ts).
 *
 * Lifecycle hooks for a daemon wrapper:
 * - {@link Monitor.runCycle}: one pass over every server (what `--once` runs);
 * - {@link Monitor.run}: the foreground loop, each server on its own monitor_interval_sec;
 * - {@link Monitor.stop}: no new scans or actions start; waits for running ones (every user's
 *   actions finish and are recorded before a scan ends), gives queued webhook events
 *   {@link NOTIFY_STOP_DEADLINE_MS} to go out, then writes the final metrics;
 * - {@link Monitor.reload}: swaps in a new, already validated configuration; scans that are
 *   running keep the configuration they started with.
 *
 * The state store is opened at the first scan (after the daemon dropped root) and shared by
 * every server of the process.
 * @module
 */
import { type MonitorConfig, type ServerConfig, shardPath } from "../config/config.ts";
import { sleep } from "../db/connection.ts";
import { TextfileWriter } from "../metrics/textfile_writer.ts";
import { type CycleEnv, type CycleSeams, runCycle } from "./cycle.ts";
import { publishMetrics, type ReloadStatus } from "./publish.ts";
import { TaskQueue } from "./queue.ts";
import type { ServerReport } from "./report.ts";
import { shardOf } from "./shard.ts";
import { SharedStore } from "./record.ts";
import { type NotifyOutcome, WebhookNotifiers } from "../notify/webhook.ts";
import { log } from "../system/log.ts";

const logger = log("monitor");

/** How long {@link Monitor.stop} lets queued webhook events go out, in ms. */
export const NOTIFY_STOP_DEADLINE_MS = 5000;

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
  /** Largest tables listed per user over a limit (`--top`); 0 or absent: none are read. */
  top?: number;
}

/** Replaceable parts of the cycle, for tests (see cycle.ts). */
export type MonitorSeams = CycleSeams;

/** Runs scans and enforcement for one configuration (swappable) and one shard. */
export class Monitor {
  #config: MonitorConfig;
  readonly options: MonitorOptions;
  #queue: TaskQueue;
  #reports = new Map<string, ServerReport>();
  #seams: MonitorSeams;
  #store: SharedStore;
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
  /** One webhook notifier per receiver, kept across reloads. */
  #notifiers = new WebhookNotifiers({ onOutcome: logOutcome });
  /** Some configuration of this process had a receiver: the counters are exported. */
  #notifying = false;
  #flushed?: Promise<void>;

  constructor(config: MonitorConfig, options: MonitorOptions, seams: MonitorSeams = {}) {
    this.#config = config;
    this.options = options;
    this.#seams = seams;
    this.#store = new SharedStore(options.owner);
    this.#queue = new TaskQueue(config.workers);
    this.#setReceivers(config);
  }

  #setReceivers(config: MonitorConfig): void {
    this.#notifiers.update(config.servers);
    if (config.servers.some((s) => s.notify)) this.#notifying = true;
  }

  /** Delivers queued webhook events until the deadline (once; later calls wait for the first). */
  #flushNotifications(): Promise<void> {
    this.#flushed ??= this.#notifiers.stop(NOTIFY_STOP_DEADLINE_MS).then(() => {});
    return this.#flushed;
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
    this.#setReceivers(config);
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
      await this.#flushNotifications();
      await this.#writeMetrics();
    })();
    return this.#loop;
  }

  /**
   * Stops: no new scans or actions; waits for running ones; queued webhook events get
   * {@link NOTIFY_STOP_DEADLINE_MS}; final metrics are written (after a `--once` cycle, again
   * only when there are webhook counters to update).
   */
  async stop(): Promise<void> {
    this.#abort.abort();
    if (this.#loop) await this.#loop;
    else {
      await Promise.allSettled(this.#busy.values());
      if (this.#cycle) await this.#cycle.catch(() => {});
      await this.#flushNotifications();
      if (this.#notifying) await this.#writeMetrics();
    }
  }

  /** Closes the state store (after {@link stop}, or when a `--once` cycle is over). */
  async close(): Promise<void> {
    await this.#store.close();
  }

  /** State store writes that failed since the process started. */
  get stateWriteErrors(): number {
    return this.#stateWriteErrors;
  }

  #schedule(server: ServerConfig, config: MonitorConfig): Promise<ServerReport> {
    const running = this.#busy.get(server.id);
    if (running) return running;
    const env = this.#env(config);
    const task = this.#queue.run(() => runCycle(env, server, config)).then((report) => {
      this.#reports.set(server.id, report);
      return report;
    }).finally(() => this.#busy.delete(server.id));
    this.#busy.set(server.id, task);
    return task;
  }

  /** What a cycle needs from this monitor. */
  #env(config: MonitorConfig): CycleEnv {
    const { shard, shards } = this.options;
    return {
      ...this.options,
      users: config.users.filter((u) => shardOf(u.user, shards) === shard),
      signal: this.#abort.signal,
      seams: this.#seams,
      openStore: () => this.#store.open(config),
      stateFailed: () => this.#stateWriteErrors++,
      ...(config.servers.some((s) => s.notify)
        ? { notify: (event) => this.#notifiers.enqueue(event) }
        : {}),
      tellOnce: (server, kind, user, tell) => {
        const key = `${server}\u0000${kind}\u0000${user}`;
        if (this.#told.has(key)) return;
        this.#told.add(key);
        tell();
      },
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
    this.#metricsWritten = await publishMetrics(this.#metrics, {
      reports: this.reports(),
      shard,
      reload: this.#reload,
      stateWriteErrors: this.#stateWriteErrors,
      notifications: this.#notifying ? this.#notifiers.counters : undefined,
    });
  }
}

/** Logs a webhook event that was not delivered (a delivered one is not logged). */
function logOutcome(o: NotifyOutcome): void {
  if (o.result === "sent") return;
  const { body } = o;
  logger
    .warning`webhook: ${body.event} of user ${body.user} on server ${body.server} ${o.result} after ${o.attempts} attempt(s): ${
    o.reason ?? "unknown reason"
  }`;
}
