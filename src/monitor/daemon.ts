/**
 * The monitor as a long-running daemon: start-up as root, privilege drop, pid file, signals,
 * configuration reload, systemd notifications.
 *
 * Start-up order: load and validate the whole configuration as root (the password is read
 * here), prepare every path the daemon writes later (created and owned by run_as) and check
 * that run_as can still read the configuration for reloads, take the pid file lock, then drop
 * to run_as and verify the drop on every thread. Only then does the first scan start.
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
  loadConfig,
  type LoadOptions,
  type MonitorConfig,
  passwordKey,
  Secret,
  shardPath,
} from "../config/config.ts";
import { ConfigError, oneLine } from "../errors.ts";
import { preloadDriver } from "../db/connection.ts";
import { writeFileAtomic } from "../system/atomic_file.ts";
import { accessProblem, type Identity, type Need } from "../system/access.ts";
import { isDaemonChild, signalDaemonReady } from "../system/daemonize.ts";
import { groupsOf } from "../system/libc.ts";
import { log, type LogLevel, setupLogging } from "../system/log.ts";
import { PidFile } from "../system/pidfile.ts";
import { dropPrivileges, lookupUser } from "../system/privileges.ts";
import {
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

function envGet(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

function errorText(err: unknown): string {
  return oneLine(err instanceof Error ? err.message : String(err));
}

async function isMissing(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return false;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return true;
    throw err;
  }
}

function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

/** Creates `dir` (and parents) owned by `who` when it does not exist yet. */
async function ensureDir(dir: string, who: Identity, mode: number): Promise<void> {
  if (!(await isMissing(dir))) return;
  await ensureDir(dirOf(dir), who, 0o755);
  await Deno.mkdir(dir, { mode });
  await Deno.chown(dir, who.uid, who.gid);
}

/**
 * As root, before the drop: creates what run_as must write later and owns it to run_as, and
 * checks that run_as will be able to do everything the daemon does after the drop. Any
 * problem is a ConfigError saying which setting, what is wrong and how to fix it.
 */
export async function preparePaths(
  config: MonitorConfig,
  who: Identity,
  runAs: string,
  shard: number,
  shards: number,
): Promise<void> {
  const conf = `${config.dir}/search.conf`;
  /** Throws when run_as could not do `need` on `target`; `path` is what the setting says. */
  const check = (key: string, path: string, target: string, need: Need, fix: string, why = "") => {
    const problem = accessProblem(target, who, need);
    if (problem) {
      throw new ConfigError(
        `${key}=${path}: ${problem}${why} for run_as user ${runAs} once root is dropped; ${fix}`,
        conf,
      );
    }
  };
  // Pid file: its directory must let run_as remove the file at exit.
  const pidFile = shardPath(config.pidFile, shard, shards);
  await ensureDir(dirOf(pidFile), who, 0o755);
  check(
    "pid_file",
    pidFile,
    dirOf(pidFile),
    "replace",
    `use a directory ${runAs} owns, e.g. /run/mysql_monitor/`,
  );
  // State: replaced atomically, readable only by run_as.
  await ensureDir(config.stateDir, who, 0o700);
  for await (const entry of Deno.readDir(config.stateDir)) {
    if (entry.isFile) await Deno.chown(`${config.stateDir}/${entry.name}`, who.uid, who.gid);
  }
  check(
    "state_dir",
    config.stateDir,
    config.stateDir,
    "replace",
    `run chown ${runAs} ${config.stateDir}, or pick another directory`,
  );
  // Metrics: replaced atomically (temporary file + rename), so the directory must be writable.
  const prom = shardPath(config.prometheusFile, shard, shards);
  await ensureDir(dirOf(prom), who, 0o755);
  check(
    "prometheus_file",
    prom,
    dirOf(prom),
    "replace",
    `put it in a directory ${runAs} can write, e.g. prometheus_file=/run/mysql_monitor/mysql_monitor.prom ` +
      `(created for ${runAs}) with node_exporter's --collector.textfile.directory pointing there`,
    " (the file is replaced atomically)",
  );
  // Audit log: appended to; created for run_as when missing.
  await ensureDir(dirOf(config.auditLog), who, 0o755);
  if (await isMissing(config.auditLog)) {
    await Deno.writeTextFile(config.auditLog, "", { mode: 0o640 });
    await Deno.chown(config.auditLog, who.uid, who.gid);
  }
  check(
    "audit_log",
    config.auditLog,
    config.auditLog,
    "append",
    `run chown ${runAs} ${config.auditLog}`,
  );
  // Configuration: re-read on SIGHUP after the drop.
  for (const file of [conf, `${config.dir}/search_user`]) {
    const problem = accessProblem(file, who, "read");
    if (problem) {
      throw new ConfigError(
        `run_as user ${runAs} could not read this file after dropping root (${problem}), so ` +
          `SIGHUP could not reload it; make it readable: chmod 644 (it holds no secret) or ` +
          `chown ${runAs} with mode 0600`,
        file,
      );
    }
  }
}

/** Passwords of `config` keyed for {@link LoadOptions.keptPasswords}. */
function keptPasswords(config: MonitorConfig): Map<string, Secret> {
  return new Map(config.servers.map((s) => [passwordKey(s), s.password]));
}

/** Runs the monitor daemon until SIGTERM/SIGINT; returns the exit code. */
export async function runDaemon(options: DaemonOptions): Promise<number> {
  const level: LogLevel = options.debug === 0 ? "debug" : "info";
  const target = envGet("JOURNAL_STREAM") ? "journal" : isDaemonChild() ? "syslog" : "stderr";
  await setupLogging({ level, target });

  let config = await loadConfig(options.configDir);
  for (const { where, user } of config.protectedInConfig) {
    logger
      .warning`${where}: user ${user} is protected and is never locked; remove it from search_user`;
  }
  const { shard, shards } = options;
  const pidPath = shardPath(config.pidFile, shard, shards);
  const dropTo = Deno.uid() === 0 && config.runAs !== "root" ? config.runAs : undefined;
  let who: Identity | undefined;
  if (dropTo) {
    const user = lookupUser(dropTo, { file: `${config.dir}/search.conf` });
    who = { uid: user.uid, gid: user.gid, groups: groupsOf(user) };
    await preparePaths(config, who, dropTo, shard, shards);
  } else {
    await Deno.mkdir(dirOf(pidPath), { recursive: true });
  }
  const pid = await PidFile.acquire(pidPath);
  try {
    if (dropTo && who) {
      await Deno.chown(pidPath, who.uid, who.gid);
      preloadDriver();
      const dropped = dropPrivileges(dropTo, { file: `${config.dir}/search.conf` });
      logger.info`dropped root: running as ${dropTo} (uid ${who.uid}, gid ${who.gid}, groups ${
        dropped.groups?.join(",") ?? ""
      }) on every thread`;
    }
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
        const loadOptions: LoadOptions = {};
        let next: MonitorConfig;
        try {
          next = await loadConfig(options.configDir, loadOptions);
        } catch (first) {
          if (!dropTo) throw first;
          // After the drop the password files are usually unreadable: keep the ones read at
          // start, and say why.
          next = await loadConfig(options.configDir, { keptPasswords: keptPasswords(config) });
          logger.info`reload: kept the passwords read at start (${errorText(first)})`;
        }
        if (next.runAs !== config.runAs || next.pidFile !== config.pidFile) {
          throw new ConfigError(
            "run_as and pid_file cannot change while the daemon runs; restart it instead",
            `${options.configDir}/search.conf`,
          );
        }
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
    const onStop = () => void monitor.stop();
    Deno.addSignalListener("SIGHUP", onHup);
    Deno.addSignalListener("SIGTERM", onStop);
    Deno.addSignalListener("SIGINT", onStop);
    const stopWatchdog = startWatchdog();
    try {
      logger
        .info`started: pid ${Deno.pid}, ${config.servers.length} server(s), shard ${shard} of ${shards}, -d ${options.debug}`;
      notifyReady(`monitoring ${config.servers.length} server(s), shard ${shard}/${shards}`);
      signalDaemonReady();
      await monitor.run();
      notifyStopping();
      await reloading;
      logger.info`stopped`;
    } finally {
      stopWatchdog();
      Deno.removeSignalListener("SIGHUP", onHup);
      Deno.removeSignalListener("SIGTERM", onStop);
      Deno.removeSignalListener("SIGINT", onStop);
      await Deno.remove(record).catch(() => {});
    }
  } finally {
    pid.release();
  }
  return 0;
}
