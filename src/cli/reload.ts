/** The `reload` mode: validate the configuration, then SIGHUP the running monitor. @module */
import { PROGRAM } from "../version.ts";
import { ConfigError, errorText, RuntimeError } from "../errors.ts";
import { DEFAULT_CONFIG_DIR, loadConfig, shardPath } from "../config/config.ts";
import { type ReloadRecord, reloadRecordPath } from "../monitor/daemon.ts";
import { daemonPid } from "../system/pidfile.ts";
import { getpwnam, sendSignal } from "../system/libc.ts";
import { readFileNoFollow } from "../system/safe_fs.ts";
import { escapeText } from "../util/text.ts";
import { type OptionSpec, parseModeArgs, shardFlags } from "./args.ts";

/** Help text for `reload`. */
export const HELP = `Usage: ${PROGRAM} reload [-c DIR] [-s N] [-t M]
       ${PROGRAM} reload --check [-c DIR]

Checks the whole configuration; when it is valid, sends SIGHUP to the monitor of shard N
and reports whether the reload succeeded. When it is invalid, prints the error with file and
line, signals nothing and exits 78. Only a verified monitor is signalled: the process that
holds the pid file's lock, whose pid the file names, running this program as root or run_as.
With --check it only validates, exactly as before a reload, and signals nothing.

Options:
  -c, --config DIR   configuration directory (default /etc/mysql_search)
  -s, --shard N      shard whose daemon to signal (default 0)
  -t, --shards M     total number of shards, as given to the monitor (default 1)
      --check        validate the configuration (exit 0, or 78 with the error), signal nothing
  -h, --help         show this help
  -V, --version      print the version

Examples:
  ${PROGRAM} reload -s 0
  ${PROGRAM} reload --check -c /etc/mysql_search.new`;

/** Flags of `reload`. */
export const OPTIONS: OptionSpec = {
  config: { type: "string", short: "c" },
  shard: { type: "string", short: "s" },
  shards: { type: "string", short: "t" },
  check: { type: "boolean" },
};

/**
 * The monitor's last reload record at `path`; undefined while there is none. Anything else
 * that is not a record (a link, a directory, text that is not one) is an error that says why:
 * waiting would only end in a timeout that hides the cause.
 */
export function readReloadRecord(path: string): ReloadRecord | undefined {
  const got = readFileNoFollow(path);
  if (!got) return undefined;
  let record: Partial<ReloadRecord> | null;
  try {
    record = JSON.parse(got.text);
  } catch (err) {
    throw new RuntimeError(`reload record ${path} is not JSON: ${errorText(err)}`, {
      cause: err,
    });
  }
  if (
    typeof record !== "object" || record === null || typeof record.pid !== "number" ||
    typeof record.generation !== "number" || typeof record.ok !== "boolean"
  ) {
    throw new RuntimeError(`${path} is not a reload record written by the monitor`);
  }
  return record as ReloadRecord;
}

/** Runs `reload`: 0 when the daemon applied the new configuration. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseModeArgs("reload", args, OPTIONS);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const { shard, shards } = shardFlags("reload", values);
  const dir = String(values.config ?? DEFAULT_CONFIG_DIR);
  const config = await loadConfig(dir);
  if (values.check) {
    console.log(
      `${escapeText(dir)}: configuration is valid (${config.servers.length} server(s), ` +
        `${config.users.length} user(s) in search_user)`,
    );
    return 0;
  }
  const { pid, pidPath } = findMonitor(config, shard, shards);
  const recordPath = reloadRecordPath(pidPath);
  const before = readReloadRecord(recordPath);
  if (!sendSignal(pid, "SIGHUP")) {
    throw new RuntimeError(
      `cannot signal the monitor (pid ${pid}); run reload as root or as its user`,
    );
  }
  const outcome = await awaitReload(pid, recordPath, before);
  if (!outcome.ok) {
    throw new ConfigError(
      `the monitor (pid ${pid}) kept its previous configuration: ${outcome.error}`,
    );
  }
  console.log(`monitor (pid ${pid}) reloaded its configuration`);
  return 0;
}

/** How long `reload` waits for the monitor to report the outcome of its SIGHUP. */
export const RELOAD_WAIT_MS = 30_000;
/** How often it looks at the reload record meanwhile. */
const RELOAD_POLL_MS = 100;

/**
 * The verified monitor of the shard: the process holding the pid file's lock, running as
 * root, as the caller or as run_as. With several shards the pid file name carries the shard;
 * -t tells which form is in use, but both are tried so that `reload -s N` works without -t.
 */
function findMonitor(
  config: { pidFile: string; runAs: string },
  shard: number,
  shards: number,
): { pid: number; pidPath: string } {
  const candidates = [shardPath(config.pidFile, shard, shards)];
  if (shards === 1) candidates.push(shardPath(config.pidFile, shard, 2));
  const uids = [0, Deno.uid() ?? 0];
  const runAs = getpwnam(config.runAs);
  if (runAs) uids.push(runAs.uid);
  for (const pidPath of candidates) {
    const pid = daemonPid(pidPath, uids);
    if (pid !== undefined) return { pid, pidPath };
  }
  throw new RuntimeError(
    `no running monitor for shard ${shard}: ${candidates.join(" or ")} is missing or not ` +
      `locked (the configuration is valid)`,
  );
}

/** The record the monitor `pid` writes after the reload that follows `before`. */
async function awaitReload(
  pid: number,
  recordPath: string,
  before: ReloadRecord | undefined,
): Promise<ReloadRecord> {
  const deadline = Date.now() + RELOAD_WAIT_MS;
  while (Date.now() < deadline) {
    const now = readReloadRecord(recordPath);
    if (now && now.pid === pid && (!before || now.generation > before.generation)) return now;
    await new Promise((r) => setTimeout(r, RELOAD_POLL_MS));
  }
  throw new RuntimeError(
    `sent SIGHUP to pid ${pid}, but it did not report a reload within ${RELOAD_WAIT_MS / 1000} s`,
  );
}
