/**
 * One server's cycle, the five steps in order:
 *
 * 1. scan (scan.ts): usage measured without any lock; then the server's enforcement lock is
 *    taken (server_lock.ts), the accounts are read again and the intents an interrupted run
 *    left are finished (plan.ts `resolveIntents`/`resolveBrakes`, act.ts
 *    `finishIntents`/`finishBrakes`);
 * 2. plan (plan.ts, pure): a decision per user, orphaned locks and brakes to release;
 * 3. act (act.ts): intent, statement, confirmation, through the {@link Server} seam;
 * 4. record (record.ts): flags, figures and the success time in the state store; the lock is
 *    released;
 * 5. publish (publish.ts): usage history and forecast, audit log, webhook events (events.ts)
 *    and the report (the metrics file is written by the loop in monitor.ts once the cycle's
 *    servers are done).
 *
 * A failure before the lock is a failed scan (nothing done); a failure under the lock leaves
 * what was sent recorded as intents for the next run.
 * @module
 */
import type { MonitorConfig, ServerConfig } from "../config/config.ts";
import { type HardAction, type HardGrace, NO_GRACE } from "../config/enforcement.ts";
import type { UserLimit } from "../config/search_user.ts";
import { connectWithRetry, type Db } from "../db/connection.ts";
import { errorText as message, RuntimeError } from "../errors.ts";
import { log } from "../system/log.ts";
import {
  act,
  type ActContext,
  type ActOutcome,
  finishBrakes,
  finishIntents,
  tryWrite,
} from "./act.ts";
import type { NotifyEvent } from "../notify/webhook.ts";
import { nowSeconds } from "./clock.ts";
import { stateChanges } from "./events.ts";
import { faultPoint } from "./fault.ts";
import { plan, privilegesByAccount, resolveBrakes, resolveIntents } from "./plan.ts";
import { publish } from "./publish.ts";
import { record } from "./record.ts";
import type { ServerReport, UserReport } from "./report.ts";
import { type Scan, scanServer } from "./scan.ts";
import { connectOptionsOf, MysqlServer, type Server } from "./server.ts";
import { ServerLock } from "./server_lock.ts";
import type { ServerStatus, StateStore, StateWrites, UserFlags } from "./store.ts";

const logger = log("monitor");

/**
 * Replaceable parts of the cycle, for tests: the state store's writes (to fail one, as a full
 * disk would) and the server (to lose an answer).
 */
export interface CycleSeams {
  writes?: (store: StateStore) => StateWrites;
  server?: (db: Db) => Server;
}

/** What a cycle gets from the monitor that runs it. */
export interface CycleEnv {
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
  /** This shard's users. */
  users: readonly UserLimit[];
  /** Aborts when the monitor stops: no new action starts, a running scan is abandoned. */
  signal: AbortSignal;
  seams: CycleSeams;
  /** The state store (opened on first use). */
  openStore(): Promise<StateStore>;
  /** Counts a failed state write. */
  stateFailed(): void;
  /** Runs `tell` once per configuration for (server, kind, user). */
  tellOnce(server: string, kind: string, user: string, tell: () => void): void;
  /** Queues a webhook event for its server's receiver (returns at once); absent: none is sent. */
  notify?: (event: NotifyEvent) => void;
}

/** Runs one cycle on `server`; never throws (a failure is in the report). */
export async function runCycle(
  env: CycleEnv,
  server: ServerConfig,
  config: MonitorConfig,
): Promise<ServerReport> {
  try {
    return await cycleSteps(env, server, config);
  } catch (err) {
    // Only unexpected failures get here.
    logger.error`server ${server.id}: ${message(err)}`;
    return {
      server: server.id,
      up: false,
      error: message(err),
      durationSec: 0,
      errorsTotal: 0,
      users: [],
      stale: false,
    };
  }
}

async function cycleSteps(
  env: CycleEnv,
  server: ServerConfig,
  config: MonitorConfig,
): Promise<ServerReport> {
  const started = performance.now();
  const duration = () => Math.round(performance.now() - started) / 1000;
  let store: StateStore;
  try {
    store = await env.openStore();
  } catch (err) {
    return storeUnavailable(env, server, err, duration());
  }
  const status = store.status(server.id, env.shard);
  const failed = (err: unknown, interrupted: boolean) =>
    failure(env, server, config, store, status, err, duration(), interrupted);
  let db: Db | undefined;
  try {
    let scan: Scan;
    let lock: ServerLock;
    let target: Server;
    try {
      if (env.signal.aborted) throw new RuntimeError("stopping");
      db = await connectWithRetry(connectOptionsOf(server), {
        signal: env.signal,
        onRetry: (err, attempt, delayMs) =>
          logger.warning`server ${server.id}: connection attempt ${attempt} failed (${
            message(err)
          }); retrying in ${delayMs} ms`,
      });
      target = env.seams.server ? env.seams.server(db) : new MysqlServer(db);
      ({ scan, lock } = await scanThenLock(env, server, config, db, target));
    } catch (err) {
      return failed(err, false);
    }
    const measuredAt = Date.now();
    const lastSuccess = Math.floor(measuredAt / 1000);
    let ctx: ActContext;
    let outcome: ActOutcome;
    let before: ReadonlyMap<string, UserFlags> = new Map();
    try {
      before = env.notify ? store.flags(server.id) : before;
      ({ ctx, outcome } = await actAndRecord(env, server, config, {
        store,
        target,
        scan,
        lastSuccess,
      }));
    } catch (err) {
      // The server went away under the lock: what was sent is recorded as intents.
      return failed(err, true);
    } finally {
      lock.release();
    }
    if (ctx.stateError) env.stateFailed();
    return await publishCycle(env, server, config, {
      store,
      status,
      scan,
      ctx,
      outcome,
      before,
      measuredAt,
      lastSuccess,
      durationSec: duration(),
    });
  } finally {
    await db?.close();
  }
}

/**
 * Under the server's lock: acts on `scan` (locks, unlocks, brakes) and records the outcome in
 * the state store.
 */
async function actAndRecord(
  env: CycleEnv,
  server: ServerConfig,
  config: MonitorConfig,
  step: { store: StateStore; target: Server; scan: Scan; lastSuccess: number },
): Promise<{ ctx: ActContext; outcome: ActOutcome }> {
  const { store, target, scan, lastSuccess } = step;
  const { ctx, outcome } = await enforce({
    id: server.id,
    target,
    store,
    writes: env.seams.writes ? env.seams.writes(store) : store,
    debug: env.debug,
    shard: env.shard,
    shards: env.shards,
    users: env.users,
    allUsers: config.users,
    protectedUsers: config.protectedUsers,
    scan,
    grace: server.hardGrace,
    action: server.hardAction,
    now: nowSeconds(),
  });
  tellFindings(env, server.id, config, scan, outcome.users);
  await record(ctx, {
    shard: env.shard,
    users: outcome.users,
    flags: outcome.flags,
    lastSuccess,
    lruSize: config.lruSize,
  });
  faultPoint("recorded");
  return { ctx, outcome };
}

/** The report of a cycle that could not open the state store: nothing was done. */
function storeUnavailable(
  env: CycleEnv,
  server: ServerConfig,
  err: unknown,
  durationSec: number,
): ServerReport {
  env.stateFailed();
  const error = `state store unavailable, no action taken: ${message(err)}`;
  logger.error`server ${server.id}: ${error}`;
  return {
    server: server.id,
    up: false,
    error,
    durationSec,
    errorsTotal: 0,
    users: [],
    stale: false,
    stateError: message(err),
  };
}

/**
 * Measures `server` through `target`, then takes its lock (waiting for another process that
 * holds it). A stop while reading ends the connection, so the scan fails and nothing is done;
 * a stop once the lock is held releases it and throws.
 */
async function scanThenLock(
  env: CycleEnv,
  server: ServerConfig,
  config: MonitorConfig,
  db: Db,
  target: Server,
): Promise<{ scan: Scan; lock: ServerLock }> {
  let scan: Scan;
  let lock: ServerLock;
  // Reading is safe to abandon: a stop ends the connection, the scan fails, nothing is done.
  const conn = db.conn;
  const abandon = () => conn.destroy();
  env.signal.addEventListener("abort", abandon, { once: true });
  try {
    scan = await scanServer(target, server, env.users, env.debug, env.top ?? 0);
    faultPoint("scanned");
    lock = await ServerLock.acquire(config.stateDir, server.id, {
      signal: env.signal,
      owner: env.owner,
      onWait: (path) =>
        logger
          .info`server ${server.id}: waiting for another monitor process (a shard, the daemon or --once) that holds ${path}`,
    });
  } finally {
    env.signal.removeEventListener("abort", abandon);
  }
  if (env.signal.aborted) {
    lock.release();
    throw new RuntimeError("stopping");
  }
  return { scan, lock };
}

/** What a cycle that acted hands to {@link publishCycle}. */
interface CycleDone {
  store: StateStore;
  status: ServerStatus;
  scan: Scan;
  ctx: ActContext;
  outcome: ActOutcome;
  /** The users' flags before the cycle acted (empty without notifications). */
  before: ReadonlyMap<string, UserFlags>;
  /** When the usage was measured, in ms. */
  measuredAt: number;
  /** `measuredAt` in unix seconds. */
  lastSuccess: number;
  durationSec: number;
}

/** Writes the audit log, the notifications and the history of a cycle that acted; its report. */
async function publishCycle(
  env: CycleEnv,
  server: ServerConfig,
  config: MonitorConfig,
  done: CycleDone,
): Promise<ServerReport> {
  const { store, status, scan, ctx, outcome, before, measuredAt, lastSuccess } = done;
  if (scan.topProblem !== undefined) {
    logger.warning`server ${server.id}: cannot list the largest tables: ${scan.topProblem}`;
  }
  for (const u of outcome.users) {
    const tables = scan.topTables.get(u.user);
    if (tables) u.topTables = tables;
  }
  return await publish({
    auditLog: config.auditLog,
    audits: ctx.audits,
    report: {
      server: server.id,
      up: true,
      lastSuccess: ctx.stateError ? status.lastSuccess : lastSuccess,
      durationSec: done.durationSec,
      errorsTotal: status.errorsTotal,
      users: outcome.users,
      stale: false,
      unknownUsers: scan.unknown.length,
      globalGrantUsers: scan.everywhere.size,
      incompleteSchemas: scan.incomplete.size,
      stateError: ctx.stateError,
      released: outcome.released,
      ...(scan.topProblem === undefined ? {} : { topTablesError: scan.topProblem }),
    },
    events: env.notify
      ? stateChanges({
        server: server.id,
        debug: env.debug,
        limits: env.users,
        hardAction: server.hardAction,
        users: outcome.users,
        before,
        after: outcome.flags,
        audits: ctx.audits,
        time: measuredAt,
      })
      : [],
    notify: env.notify,
    history: {
      store,
      incomplete: new Set(
        [...scan.usage].flatMap(([user, u]) => u.incomplete.length ? [user] : []),
      ),
      now: measuredAt,
    },
  });
}

/** What {@link enforce} works on: one server, its state store, this shard's users. */
export interface EnforceInput {
  /** The server's id in the configuration and the state store. */
  id: string;
  target: Server;
  /** Where the lock and brake records and flags are read. */
  store: Pick<StateStore, "locks" | "flags" | "brakes">;
  /** Where every write goes (the store itself, or a test's failing wrapper). */
  writes: StateWrites;
  debug: 0 | 1 | 2;
  shard: number;
  shards: number;
  /** This shard's lines of search_user. */
  users: readonly UserLimit[];
  /** Every line of search_user. */
  allUsers: readonly UserLimit[];
  protectedUsers: readonly string[];
  scan: Pick<Scan, "flavour" | "usage" | "incomplete">;
  /** The server's hard_grace (default none). */
  grace?: HardGrace;
  /** The server's hard_action (default lock). */
  action?: HardAction;
  /** Unix time (s) of the cycle, for the grace (default the clock's). */
  now?: number;
}

/**
 * Under the server's lock: re-reads the accounts, finishes interrupted intents, then plans and
 * acts for every user of this shard and for locks no longer covered by search_user. The record
 * step follows (see {@link runCycle}).
 */
export async function enforce(
  input: EnforceInput,
): Promise<{ ctx: ActContext; outcome: ActOutcome }> {
  const { id, store, scan } = input;
  const table = await input.target.accounts(scan.flavour);
  const hostsOf = (user: string) => (table.accounts.get(user) ?? []).map((a) => a.host);
  const ctx: ActContext = {
    server: id,
    debug: input.debug,
    writes: input.writes,
    target: input.target,
    anonymousHosts: hostsOf(""),
    audits: [],
  };
  // Prove the store is writable before anything is changed.
  tryWrite(ctx, () => ctx.writes.begin(id, input.shard));
  const earlier = await finishIntents(
    ctx,
    resolveIntents(store.locks(id), table.accounts),
    hostsOf,
  );
  // The write-brake's privileges are read only when they can matter: a user of this shard
  // with hard_action=readonly, or brake records to finish or restore.
  const action = input.action ?? "lock";
  const brakeRecords = store.brakes(id);
  const readonlyUsers = input.users.some((u) => (u.action ?? action) === "readonly");
  const privileges = readonlyUsers || brakeRecords.length > 0
    ? await input.target.brakePrivileges(scan.flavour)
    : undefined;
  if (privileges) {
    for (
      const [user, notes] of finishBrakes(
        ctx,
        resolveBrakes(brakeRecords, privileges, table.accounts),
      )
    ) earlier.set(user, [...(earlier.get(user) ?? []), ...notes]);
    ctx.flavour = scan.flavour;
    ctx.privileges = privilegesByAccount(privileges);
    ctx.brakes = store.brakes(id);
  }
  faultPoint("resolved");
  for (const [schema, problem] of scan.incomplete) {
    logger
      .warning`server ${id}: the size of schema ${schema} could not be read completely (${problem}); its users are not unlocked in this cycle`;
  }
  const planned = plan({
    users: input.users,
    allUsers: input.allUsers,
    usage: scan.usage,
    accounts: table.accounts,
    records: store.locks(id),
    brakes: ctx.brakes ?? [],
    privileges,
    grace: input.grace ?? NO_GRACE,
    action,
    now: input.now ?? nowSeconds(),
    flags: store.flags(id),
    protectedUsers: input.protectedUsers,
    shard: input.shard,
    shards: input.shards,
  });
  return { ctx, outcome: await act(ctx, { plan: planned, earlier }) };
}

/** Logs, once per configuration, listed users without account and those that can grow anything. */
function tellFindings(
  env: CycleEnv,
  id: string,
  config: MonitorConfig,
  scan: Scan,
  reports: readonly UserReport[],
): void {
  const absent = new Set(reports.flatMap((u) => u.status === "no account" ? [u.user] : []));
  for (const limit of env.users) {
    if (absent.has(limit.user)) {
      const who = limit.host === undefined ? limit.user : `${limit.user}@${limit.host}`;
      env.tellOnce(id, "unknown", limit.user, () =>
        logger
          .warning`server ${id}: ${who} is listed in search_user but has no account on this server; not measured`);
      continue;
    }
    const everywhere = scan.everywhere.get(limit.user);
    if (everywhere && !config.protectedUsers.includes(limit.user)) {
      env.tellOnce(id, "everywhere", limit.user, () =>
        logger
          .warning`server ${id}: user ${limit.user} may write to every schema (INSERT/CREATE/ALTER on ${
          everywhere.join(", ")
        }); such grants charge no schema, only its schema-level grants count`);
    }
  }
}

/** Counts a failed scan and builds its report (last figures kept with prometheus_truncate=0). */
function failure(
  env: CycleEnv,
  server: ServerConfig,
  config: MonitorConfig,
  store: StateStore,
  status: ServerStatus,
  err: unknown,
  durationSec: number,
  interrupted: boolean,
): ServerReport {
  let errorsTotal = status.errorsTotal + 1;
  try {
    errorsTotal = store.countError(server.id, env.shard);
  } catch (writeErr) {
    env.stateFailed();
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
    : store.figures(server.id, env.users.map((u) => u.user));
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
