/** The `monitor` mode: per-user storage quotas. @module */
import { PROGRAM } from "../version.ts";
import { UsageError } from "../errors.ts";
import { DEFAULT_CONFIG_DIR, loadConfig } from "../config/config.ts";
import { Monitor } from "../monitor/monitor.ts";
import { renderTable } from "../monitor/table.ts";
import { renderJson } from "../monitor/json.ts";
import { DEFAULT_TOP } from "../monitor/top_tables.ts";
import { log, setupLogging } from "../system/log.ts";
import { runDaemon, startMonitorProcess } from "../monitor/daemon.ts";
import { isDaemonChild, startDaemon } from "../system/daemonize.ts";
import { intFlag, type OptionSpec, type ParsedArgs, parseModeArgs } from "./args.ts";

/** Help text for `monitor`. */
export const HELP = `Usage: ${PROGRAM} monitor [-c DIR] [-s N -t M] [-d 0|1|2 | --dry-run]
                    [--once [--json] [--top N]]

Measures each configured user's storage on every configured server, warns at the soft
limit, locks the account (ALTER USER ... ACCOUNT LOCK) at the hard limit, unlocks it when
usage is back under, and writes Prometheus metrics to a textfile.

Options:
  -c, --config DIR   configuration directory (default /etc/mysql_search)
  -s, --shard N      this daemon's shard number, 0 <= N < M (default 0)
  -t, --shards M     total number of shards (default 1); a user belongs to shard
                     FNV-1a-32(user name) mod M
  -d, --debug LEVEL  0 = log only, 1 = log and warn, 2 = enforce locks (default 2 for
                     the daemon, 0 for --once: a one-shot enforces only with -d 2)
      --dry-run      the same as -d 0
      --once         run one cycle, print a table and exit (0 = all servers scanned,
                     the state recorded and the metrics written, 1 otherwise); shares
                     state_dir and its per-server locks with the daemon
      --json         with --once: print one JSON document instead of the table
                     (logs stay on stderr)
      --top N        with --once: list the N largest tables of each user over a
                     limit (default ${DEFAULT_TOP}, 0 = none)
      --daemon       detach from the terminal (classic init); the command returns once
                     the daemon is ready. Not needed under systemd.
  -h, --help         show this help
  -V, --version      print the version

Examples:
  ${PROGRAM} monitor --once               # dry run: what would be done
  ${PROGRAM} monitor --once -d 2          # one cycle that locks and unlocks
  ${PROGRAM} monitor --once --json        # the same dry run, for a script
  ${PROGRAM} monitor -s 0 -t 4            # shard 0 of 4, as run by systemd`;

/** Flags of `monitor`. */
export const OPTIONS: OptionSpec = {
  config: { type: "string", short: "c" },
  shard: { type: "string", short: "s" },
  shards: { type: "string", short: "t" },
  debug: { type: "string", short: "d" },
  "dry-run": { type: "boolean" },
  once: { type: "boolean" },
  json: { type: "boolean" },
  top: { type: "string" },
  daemon: { type: "boolean" },
  // Test only, not in the help: log which permissions are left after start-up.
  "probe-permissions": { type: "boolean" },
};

/**
 * The `-d` level: as given; `--dry-run` is `-d 0` (and refuses another `-d`); left out, 2 for the
 * daemon and 0 for `--once` (which then says so on stderr, see {@link DRY_RUN_NOTE}).
 */
function debugLevel(values: ParsedArgs["values"]): 0 | 1 | 2 {
  const given = values.debug === undefined
    ? undefined
    : intFlag("monitor", "debug", values.debug, 2, [0, 2]) as 0 | 1 | 2;
  if (values["dry-run"]) {
    if (given !== undefined && given !== 0) {
      throw new UsageError(
        `monitor: --dry-run is -d 0 and cannot be combined with -d ${given}`,
        "monitor",
      );
    }
    return 0;
  }
  return given ?? (values.once ? 0 : 2);
}

/** What `--once` prints on stderr when no `-d` was given. */
export const DRY_RUN_NOTE =
  "monitor --once: dry run (-d 0): no account is locked or unlocked; pass -d 2 to enforce";

/**
 * Runs `monitor`: `--once` prints a table and returns 0/1; otherwise runs the daemon (in the
 * foreground, or detached with `--daemon`) until SIGTERM/SIGINT.
 */
export async function run(args: string[]): Promise<number> {
  const { values } = parseModeArgs("monitor", args, OPTIONS);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const debug = debugLevel(values);
  const shards = intFlag("monitor", "shards", values.shards, 1, [1, 65536]);
  const shard = intFlag("monitor", "shard", values.shard, 0);
  if (shard >= shards) {
    throw new UsageError(
      `monitor: --shard must be below --shards (${shards}), got ${shard}`,
      "monitor",
    );
  }
  if (values.once && values.daemon) {
    throw new UsageError("monitor: --once and --daemon exclude each other", "monitor");
  }
  for (const flag of ["json", "top"] as const) {
    if (values[flag] !== undefined && !values.once) {
      throw new UsageError(`monitor: --${flag} goes with --once`, "monitor");
    }
  }
  const top = intFlag("monitor", "top", values.top, DEFAULT_TOP, [0, 1000]);
  const configDir = String(values.config ?? DEFAULT_CONFIG_DIR);
  if (!values.once) {
    if (values.daemon && !isDaemonChild()) {
      // Validate first, so that a broken configuration fails here, on the operator's terminal.
      await loadConfig(configDir);
      const pid = await startDaemon(["monitor", ...args.filter((a) => a !== "--daemon")]);
      console.log(`mysql_monitor_daemon monitor started in the background, pid ${pid}`);
      return 0;
    }
    return await runDaemon({
      configDir,
      debug,
      shard,
      shards,
      probePermissions: values["probe-permissions"] === true,
    });
  }
  await setupLogging();
  // As root this prepares the paths, drops to run_as and revokes what --once does not need.
  const { config } = await startMonitorProcess(configDir, {
    shard,
    shards,
    daemon: false,
    probe: values["probe-permissions"] === true,
  });
  if (values.debug === undefined && !values["dry-run"]) console.error(DRY_RUN_NOTE);
  for (const { where, user } of config.protectedInConfig) {
    log("config")
      .warning`${where}: user ${user} is protected and is never locked; remove it from search_user`;
  }
  // startMonitorProcess has dropped to run_as (when started as root), so everything --once
  // creates in state_dir is run_as' own.
  const monitor = new Monitor(config, { debug, shard, shards, top });
  try {
    const reports = await monitor.runCycle();
    // Webhook events of the cycle go out (with a deadline), then the metrics count them.
    await monitor.stop();
    const ok = reports.every((r) => r.up && !r.stateError) && monitor.metricsWritten &&
      monitor.stateWriteErrors === 0;
    if (values.json) {
      const errors = [
        ...reports.flatMap((r) => r.up ? [] : [`server ${r.server}: ${r.error ?? "scan failed"}`]),
        ...(monitor.metricsWritten ? [] : [`cannot write the metrics file (see stderr)`]),
        ...(monitor.stateWriteErrors
          ? [`${monitor.stateWriteErrors} state store write(s) failed (see stderr)`]
          : []),
      ];
      console.log(renderJson(reports, { debug, shard, shards, ok, errors, now: Date.now() }));
    } else console.log(renderTable(reports));
    return ok ? 0 : 1;
  } finally {
    await monitor.close();
  }
}
