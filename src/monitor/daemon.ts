/**
 * The monitor as a long-running daemon: start-up as root, privilege drop, pid file, signals,
 * configuration reload, systemd notifications. `monitor --once` shares the start-up. The daemon
 * wraps {@link Monitor} (monitor.ts: the loop), which runs each server's cycle (cycle.ts: scan →
 * plan → act → record → publish); `--once` runs that cycle once for every server.
 *
 * Start-up order: load and validate the whole configuration as root (the password is read
 * here); prepare the directories the monitor writes (see {@link preparePaths}: root creates
 * only below directories nobody else controls and hands the new directory to run_as by its
 * handle; below run_as' own directories it creates nothing) and check that run_as can still
 * read the configuration for reloads; drop to run_as and verify the drop on every thread;
 * create what was left to run_as; revoke the permissions the monitor no longer needs
 * (least_privilege.ts); only then take the pid file (as run_as) and start the first scan.
 * Root therefore never opens, truncates or chowns anything inside a directory run_as can
 * write. Started as another user (systemd `User=mysql`) there is nothing to drop.
 *
 * SIGHUP re-reads search.conf and search_user (and the password files when run_as can still
 * read them), validates everything and swaps the configuration in one step; on any error the
 * old configuration stays in force, the error is logged with file:line, and
 * `mysql_monitor_config_last_reload_successful` drops to 0. The outcome is also written next
 * to the pid file (`<pid_file>.reload`) for the `reload` command.
 * SIGTERM/SIGINT stop the loop: scans still reading are abandoned, account changes already
 * started are completed and recorded, the final metrics are written, the pid file removed.
 * @module
 */
import {
  keptSecrets,
  loadConfig,
  type LoadOptions,
  type MonitorConfig,
  shardPath,
} from "../config/config.ts";
import { ConfigError, errorText } from "../errors.ts";
import { readEnv as envGet } from "../util/env.ts";
import { preloadDriver } from "../db/connection.ts";
import { writeFileAtomic } from "../system/atomic_file.ts";
import { accessProblem, type Identity, type Need } from "../system/access.ts";
import { isDaemonChild, signalDaemonReady } from "../system/daemonize.ts";
import { groupsOf, lstatInode } from "../system/libc.ts";
import { probePermissions, revokeUnneeded } from "../system/least_privilege.ts";
import { log, type LogLevel, setupLogging } from "../system/log.ts";
import { PidFile } from "../system/pidfile.ts";
import { dropPrivileges, lookupUser } from "../system/privileges.ts";
import { createFileExclusive, type Prepared, prepareDirectory } from "../system/safe_fs.ts";
import { dirOf } from "../util/path.ts";
import {
  captureNotifyEnv,
  notify,
  notifyReady,
  notifyReloading,
  notifyStopping,
  startWatchdog,
} from "../system/sd_notify.ts";
import { Monitor, type MonitorOptions } from "./monitor.ts";

const logger = log("daemon");

/** How the daemon was started. */
export interface DaemonOptions extends MonitorOptions {
  /** Configuration directory (search.conf, search_user). */
  configDir: string;
  /** Test only: log which permissions the process still has once start-up is done. */
  probePermissions?: boolean;
}

/** Outcome of the last configuration load, as written to `<pid_file>.reload`. */
export interface ReloadRecord {
  pid: number;
  /** Increases with every SIGHUP handled (0 = the start-up load). */
  generation: number;
  ok: boolean;
  /** The error (file:line: message) when not ok. */
  error?: string;
  /** Unix time in ms. */
  time: number;
}

/** Path of the reload record for a pid file. */
export function reloadRecordPath(pidFile: string): string {
  return `${pidFile}.reload`;
}

/** A directory the monitor writes in, with the mode it gets when created. */
interface OutputDir {
  key: string;
  path: string;
  dir: string;
  mode: number;
}

/** The directories `monitor` writes in: pid file's (daemon only), state, metrics, audit log. */
function outputDirs(config: MonitorConfig, shard: number, shards: number, daemon: boolean) {
  const dirs: OutputDir[] = [];
  if (daemon) {
    const pid = shardPath(config.pidFile, shard, shards);
    dirs.push({ key: "pid_file", path: pid, dir: dirOf(pid), mode: 0o755 });
  }
  dirs.push({ key: "state_dir", path: config.stateDir, dir: config.stateDir, mode: 0o700 });
  const prom = shardPath(config.prometheusFile, shard, shards);
  dirs.push({ key: "prometheus_file", path: prom, dir: dirOf(prom), mode: 0o755 });
  dirs.push({ key: "audit_log", path: config.auditLog, dir: dirOf(config.auditLog), mode: 0o755 });
  return dirs;
}

/** The deepest existing directory at or above `dir`. */
function existingAncestor(dir: string): string {
  let cur = dir;
  while (cur !== "/" && !lstatInode(cur)) cur = dirOf(cur);
  return cur;
}

/**
 * As root, before the drop to `who` (run_as) — or, with `who` undefined, for root itself:
 * makes sure every directory the monitor writes in exists or can be created by its future
 * owner, without root ever acting where another account could steer it, and checks that
 * run_as will be able to do everything the monitor does after the drop. Returns the
 * directories left for run_as to create. Any problem is a ConfigError saying which setting,
 * what is wrong and how to fix it.
 */
export function preparePaths(
  config: MonitorConfig,
  who: Identity | undefined,
  runAs: string,
  shard: number,
  shards: number,
  daemon: boolean,
): OutputDir[] {
  const conf = `${config.dir}/search.conf`;
  const later: OutputDir[] = [];
  const owner = who ? { uid: who.uid, gid: who.gid } : undefined;
  const status = new Map<string, Prepared>();
  for (const out of outputDirs(config, shard, shards, daemon)) {
    const done = prepareDirectory(out.dir, out.mode, owner, out.key, conf);
    status.set(out.key, done);
    if (done === "left to owner") later.push(out);
  }
  if (!who) return later;
  const dropped: DropTarget = { who, runAs, conf };
  for (const out of outputDirs(config, shard, shards, daemon)) {
    const fix = replaceFix(out.key, runAs, config);
    if (!fix) continue; // the audit log: below
    const target = status.get(out.key) === "left to owner" ? existingAncestor(out.dir) : out.dir;
    checkRunAs(dropped, out.key, out.path, target, "replace", fix.fix, fix.why);
  }
  prepareAuditLog(config.auditLog, dropped, status.get("audit_log") === "left to owner");
  checkConfigReadable(config, dropped);
  return later;
}

/** The account root drops to, and the configuration file that names it. */
interface DropTarget {
  who: Identity;
  runAs: string;
  /** search.conf, the file a problem is reported against. */
  conf: string;
}

/** Throws a ConfigError when run_as could not do `need` on `target` (for setting `key=path`). */
function checkRunAs(
  to: DropTarget,
  key: string,
  path: string,
  target: string,
  need: Need,
  fix: string,
  why = "",
): void {
  const problem = accessProblem(target, to.who, need);
  if (problem) {
    throw new ConfigError(
      `${key}=${path}: ${problem}${why} for run_as user ${to.runAs} once root is dropped; ${fix}`,
      to.conf,
    );
  }
}

/**
 * How to fix a directory run_as cannot create, replace and remove files in, for setting `key`
 * (undefined for the audit log, which is appended to instead).
 */
function replaceFix(
  key: string,
  runAs: string,
  config: MonitorConfig,
): { fix: string; why?: string } | undefined {
  switch (key) {
    case "pid_file":
      // Its directory must let run_as create, lock and remove the file.
      return { fix: `use a directory ${runAs} owns, e.g. /run/mysql_monitor/` };
    case "state_dir":
      return { fix: `run chown ${runAs} ${config.stateDir}, or pick another directory` };
    case "prometheus_file":
      return {
        fix:
          `put it in a directory ${runAs} can write, e.g. prometheus_file=/run/mysql_monitor/mysql_monitor.prom ` +
          `(created for ${runAs}) with node_exporter's --collector.textfile.directory pointing there`,
        why: " (the file is replaced atomically)",
      };
    default:
      return undefined;
  }
}

/**
 * The audit log is appended to by run_as. Root creates it (exclusively, handed over by its
 * handle) only when run_as could not create it itself; then run_as's access is checked.
 */
function prepareAuditLog(audit: string, to: DropTarget, leftToOwner: boolean): void {
  const { who, runAs, conf } = to;
  if (!lstatInode(audit) && accessProblem(audit, who, "append") !== undefined) {
    prepareDirectory(dirOf(audit), 0o755, undefined, "audit_log", conf);
    createFileExclusive(audit, 0o640, { uid: who.uid, gid: who.gid });
  }
  if (!leftToOwner) {
    checkRunAs(to, "audit_log", audit, audit, "append", `run chown ${runAs} ${audit}`);
  } else {
    checkRunAs(
      to,
      "audit_log",
      audit,
      existingAncestor(dirOf(audit)),
      "replace",
      `run chown ${runAs} ${dirOf(audit)}`,
    );
  }
}

/** The configuration is read again on SIGHUP after the drop: run_as must be able to read it. */
function checkConfigReadable(config: MonitorConfig, to: DropTarget): void {
  for (const file of [to.conf, `${config.dir}/search_user`]) {
    const problem = accessProblem(file, to.who, "read");
    if (problem) {
      throw new ConfigError(
        `run_as user ${to.runAs} could not read this file after dropping root (${problem}), so ` +
          `SIGHUP could not reload it; make it readable: chmod 644 (it holds no secret) or ` +
          `chown ${to.runAs} with mode 0600`,
        file,
      );
    }
  }
}

/** What {@link startMonitorProcess} settled. */
export interface Started {
  config: MonitorConfig;
  /** The run_as user the process dropped to, when it did. */
  droppedTo?: string;
  /** `$CREDENTIALS_DIRECTORY` as it was at start (env is revoked afterwards). */
  credentialsDirectory?: string;
}

/**
 * The start-up shared by the daemon and `--once`: load the configuration, prepare the paths,
 * drop root (when root and run_as is not root), create what was left to run_as, and revoke
 * what the monitor no longer needs. Everything the monitor does afterwards runs as run_as,
 * with FFI, run, env and sys revoked and writes limited to its configured paths.
 */
export async function startMonitorProcess(
  configDir: string,
  options: { shard: number; shards: number; daemon: boolean; probe?: boolean },
): Promise<Started> {
  const { shard, shards, daemon } = options;
  const credentialsDirectory = envGet("CREDENTIALS_DIRECTORY") || undefined;
  captureNotifyEnv();
  isDaemonChild();
  const config = await loadConfig(configDir, { credentialsDirectory });
  const conf = `${config.dir}/search.conf`;
  const root = Deno.uid() === 0;
  let later: OutputDir[];
  let droppedTo: string | undefined;
  if (root && config.runAs !== "root") {
    const user = lookupUser(config.runAs, { file: conf });
    const who = { uid: user.uid, gid: user.gid, groups: groupsOf(user) };
    if (user.uid === 0) {
      later = preparePaths(config, undefined, config.runAs, shard, shards, daemon);
    } else {
      later = preparePaths(config, who, config.runAs, shard, shards, daemon);
      preloadDriver();
      const dropped = dropPrivileges(config.runAs, { file: conf });
      droppedTo = config.runAs;
      logger
        .info`dropped root: running as ${config.runAs} (uid ${who.uid}, gid ${who.gid}, groups ${
        dropped.groups?.join(",") ?? ""
      }) on every thread`;
    }
  } else if (root) {
    later = preparePaths(config, undefined, config.runAs, shard, shards, daemon);
  } else {
    later = outputDirs(config, shard, shards, daemon);
  }
  for (const out of later) await Deno.mkdir(out.dir, { recursive: true, mode: out.mode });
  // The audit log exists from the start (created by its future writer, exclusively).
  try {
    (await Deno.open(config.auditLog, { write: true, createNew: true, mode: 0o640 })).close();
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  }
  const dirs = outputDirs(config, shard, shards, daemon);
  const sockets = config.servers.flatMap((s) => s.socket ? [s.socket] : []);
  const writes = [...dirs.filter((d) => d.key !== "audit_log").map((d) => d.dir), config.auditLog];
  await revokeUnneeded({
    write: [...writes, ...sockets],
    read: [config.dir, ...sockets],
    foreignRead: ["/etc/conntracker", "/var/log/mysql"],
    net: true,
  });
  if (options.probe) {
    for (const line of await probePermissions(writes, ["/etc/conntracker"])) {
      logger.info`permission probe: ${line}`;
    }
  }
  return { config, droppedTo, credentialsDirectory };
}

/**
 * The configuration read again for a SIGHUP. After the drop the password files are usually
 * unreadable: then the passwords read at start are kept (and the log says why). Throws when the
 * new configuration is bad or changes a path the daemon's write access was fixed to at start.
 */
async function reloadedConfig(
  configDir: string,
  started: Started,
  current: MonitorConfig,
): Promise<MonitorConfig> {
  const loadOptions: LoadOptions = {
    credentialsDirectory: started.credentialsDirectory,
  };
  let next: MonitorConfig;
  try {
    next = await loadConfig(configDir, loadOptions);
  } catch (first) {
    if (!started.droppedTo) throw first;
    next = await loadConfig(configDir, {
      ...loadOptions,
      keptPasswords: keptSecrets(current),
    });
    logger.info`reload: kept the passwords read at start (${errorText(first)})`;
  }
  const fixed = ["runAs", "pidFile", "stateDir", "prometheusFile", "auditLog"] as const;
  if (fixed.some((k) => next[k] !== current[k])) {
    throw new ConfigError(
      "run_as, pid_file, state_dir, prometheus_file and audit_log cannot change while the " +
        "daemon runs (its write access is limited to the paths it started with); restart it instead",
      `${configDir}/search.conf`,
    );
  }
  return next;
}

/**
 * Runs `monitor` until it stops, with SIGHUP calling `onHup` and SIGTERM/SIGINT stopping it.
 * `announce` says the daemon is ready once the signal handlers are in place; `settle` is awaited
 * after the stop (a reload under way), and the reload record is removed.
 */
async function serveUntilStopped(
  monitor: Monitor,
  handlers: { onHup: () => void; announce: () => void; settle: () => Promise<void> },
  record: string,
): Promise<void> {
  const { onHup, announce, settle } = handlers;
  const onStop = () => void monitor.stop();
  Deno.addSignalListener("SIGHUP", onHup);
  Deno.addSignalListener("SIGTERM", onStop);
  Deno.addSignalListener("SIGINT", onStop);
  const stopWatchdog = startWatchdog();
  try {
    announce();
    signalDaemonReady();
    await monitor.run();
    notifyStopping();
    await settle();
    logger.info`stopped`;
  } finally {
    stopWatchdog();
    Deno.removeSignalListener("SIGHUP", onHup);
    Deno.removeSignalListener("SIGTERM", onStop);
    Deno.removeSignalListener("SIGINT", onStop);
    await Deno.remove(record).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) {
        logger.warning`cannot remove ${record}: ${errorText(err)}`;
      }
    });
  }
}

/** Runs the monitor daemon until SIGTERM/SIGINT; returns the exit code. */
export async function runDaemon(options: DaemonOptions): Promise<number> {
  const level: LogLevel = options.debug === 0 ? "debug" : "info";
  const target = envGet("JOURNAL_STREAM") ? "journal" : isDaemonChild() ? "syslog" : "stderr";
  await setupLogging({ level, target });

  const { shard, shards } = options;
  const started = await startMonitorProcess(options.configDir, {
    shard,
    shards,
    daemon: true,
    probe: options.probePermissions,
  });
  let config = started.config;
  for (const { where, user } of config.protectedInConfig) {
    logger
      .warning`${where}: user ${user} is protected and is never locked; remove it from search_user`;
  }
  const pidPath = shardPath(config.pidFile, shard, shards);
  const pid = await PidFile.acquire(pidPath);
  try {
    const monitor = new Monitor(config, options);
    const record = reloadRecordPath(pidPath);
    let generation = 0;
    const writeRecord = async (ok: boolean, error?: string) => {
      const body: ReloadRecord = { pid: Deno.pid, generation, ok, error, time: Date.now() };
      await writeFileAtomic(record, JSON.stringify(body) + "\n").catch((err) =>
        logger.error`cannot write ${record}: ${errorText(err)}`
      );
    };
    await monitor.noteReload(true, false);
    await writeRecord(true);

    let reloading = Promise.resolve();
    const reload = async () => {
      generation++;
      notifyReloading();
      let ok = true;
      let error: string | undefined;
      try {
        const next = await reloadedConfig(options.configDir, started, config);
        monitor.reload(next);
        config = next;
        logger
          .info`configuration reloaded: ${next.servers.length} server(s), ${next.users.length} limit(s)`;
      } catch (err) {
        ok = false;
        error = errorText(err);
        logger.error`reload failed, the previous configuration stays in force: ${error}`;
      }
      await monitor.noteReload(ok);
      await writeRecord(ok, error);
      notify("READY=1");
    };
    const onHup = () => {
      reloading = reloading.then(reload);
    };
    const announce = () => {
      logger
        .info`started: pid ${Deno.pid}, ${config.servers.length} server(s), shard ${shard} of ${shards}, -d ${options.debug}`;
      notifyReady(`monitoring ${config.servers.length} server(s), shard ${shard}/${shards}`);
    };
    await serveUntilStopped(monitor, { onHup, announce, settle: () => reloading }, record);
  } finally {
    pid.release();
  }
  return 0;
}
