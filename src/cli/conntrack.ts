/** The `conntrack` mode: last connection per account from the MariaDB audit log. @module */
import { PROGRAM } from "../version.ts";
import { UsageError } from "../errors.ts";
import { DEFAULT_CONNTRACK_INI, loadConntrackConfig } from "../config/conntrack_ini.ts";
import { runConntrack } from "../conntrack/run.ts";
import { stderrProgress } from "../conntrack/progress.ts";
import { setupLogging } from "../system/log.ts";
import { type OptionSpec, parseModeArgs } from "./args.ts";
import { versionLine } from "./version.ts";
import { machineZone } from "../time/tz.ts";
import { quoteValue } from "../util/text.ts";
import { becomeSqliteOwner, revokeForConntrack } from "./conntrack_start.ts";

/** Help text for `conntrack`. */
export const HELP = `Usage: ${PROGRAM} conntrack [-c FILE] [-v] [-q]
       ${PROGRAM} conntrack report [-c FILE] [--server SPEC] [--unused-days N] [--json] [--prom FILE]
       ${PROGRAM} conntrack version

Reads the MariaDB server_audit log and its rotations, only the bytes added since the last
run, and stores each account's last successful connection in SQLite (table Accounts).
Prints nothing on success, so it can run from cron.

Options:
  -c, --config FILE  ini file (default /etc/conntracker/conntracker.ini)
  -v, --verbose      print a summary of what was read
  -q, --quiet        no progress line on a terminal (none is shown without a terminal)
  -h, --help         show this help
  -version           print the version (also "conntrack version"), like the Go conntracker

Long options also take one dash, as with the Go tool (-config FILE, -help).

"conntrack report --help" explains the unused-accounts report.

Examples:
  ${PROGRAM} conntrack
  sqlite3 /var/lib/mysql/audit.sqlite "SELECT name, host, last_seen FROM Accounts"`;

/** Flags of `conntrack`. */
export const OPTIONS: OptionSpec = {
  config: { type: "string", short: "c" },
  verbose: { type: "boolean", short: "v" },
  quiet: { type: "boolean", short: "q" },
  // Test only, not in the help: log which permissions are left after start-up.
  "probe-permissions": { type: "boolean" },
};

/** What Go's boolean flag syntax accepts as a value (`-version=true`), as strconv.ParseBool. */
const GO_BOOL: Record<string, boolean> = {
  "1": true,
  t: true,
  T: true,
  true: true,
  TRUE: true,
  True: true,
  "0": false,
  f: false,
  F: false,
  false: false,
  FALSE: false,
  False: false,
};

/**
 * The Go conntracker's command line, for scripts written for it: Go's flag package takes one
 * dash or two, so `-version` / `--version` (also `-version=true`) print the version like
 * `conntracker -version`, and `-help` shows the help. Our own long options are accepted with
 * one dash too (`-config FILE`, `-verbose`, `-quiet`), which would otherwise read as clusters of
 * short flags. Returns the remaining arguments in node:util's syntax.
 */
export function goFlags(args: string[]): { version: boolean; args: string[] } {
  let version = false;
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    const m = /^--?(version|help|config|verbose|quiet)(?:=(.*))?$/s.exec(arg);
    if (!m) {
      out.push(arg);
      continue;
    }
    const [, name, value] = m;
    if (name === "version") {
      const on = value === undefined ? true : GO_BOOL[value];
      if (on === undefined) {
        throw new UsageError(
          `conntrack: invalid boolean value ${quoteValue(value!)} for -version`,
          "conntrack",
        );
      }
      version ||= on;
    } else out.push(`--${name}${value === undefined ? "" : `=${value}`}`);
  }
  return { version, args: out };
}

/** Runs `conntrack`. */
export async function run(args: string[]): Promise<number> {
  if (args[0] === "report") {
    return await (await import("./conntrack_report.ts")).runReport(args.slice(1));
  }
  const go = goFlags(args);
  if (go.version) {
    console.log(versionLine());
    return 0;
  }
  const { values, positionals } = parseModeArgs("conntrack", go.args, OPTIONS, true);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals[0] === "version" && positionals.length === 1) {
    console.log(versionLine());
    return 0;
  }
  if (positionals.includes("report")) {
    throw new UsageError(
      `conntrack: "report" comes first: conntrack report [-c FILE] …`,
      "conntrack",
    );
  }
  if (positionals.length > 0) {
    throw new UsageError(`conntrack: unexpected argument "${positionals[0]}"`, "conntrack");
  }
  const config = await loadConntrackConfig(
    typeof values.config === "string" ? values.config : DEFAULT_CONNTRACK_INI,
  );
  await setupLogging({
    level: values.verbose && config.logLevel !== "debug" ? "info" : config.logLevel,
  });
  const ini = typeof values.config === "string" ? values.config : DEFAULT_CONNTRACK_INI;
  // Read before env is revoked: $TZ names the machine's zone as MariaDB sees it.
  const localZone = config.timeLocationSet ? undefined : machineZone();
  becomeSqliteOwner(config, ini);
  await revokeForConntrack(config, {
    local: true,
    net: config.store !== undefined,
    probe: values["probe-permissions"] === true,
  });
  const s = await runConntrack(config, {
    progress: !values.quiet && Deno.stderr.isTerminal() ? stderrProgress() : undefined,
    machineZone: localZone,
  });
  if (values.verbose) {
    console.log(
      `conntrack: ${s.filesRead} of ${s.files} audit files had new data, ${s.bytes} bytes read` +
        (s.workers ? ` on ${s.workers} threads` : "") +
        (s.unreadable ? `, ${s.unreadable} unreadable files skipped` : "") +
        (s.heldBack
          ? `, ${s.heldBack} bytes of the live log left for the next run (still being written)`
          : "") +
        `; ${s.events} connection events, ${s.logins} accounts logged in (${s.inserted} new, ${s.updated} updated), ` +
        `${s.others} failed/other login keys, ${s.rejected} lines rejected, ${s.malformed} malformed` +
        (s.lateDated ? `, ${s.lateDated} dated after their file was last written` : "") +
        (s.adopted ? "; adopted the Go conntracker database" : "") +
        (s.central !== null ? `; ${s.central} rows sent to the central store` : ""),
    );
  }
  return 0;
}
