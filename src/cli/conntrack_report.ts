/** `conntrack report`: accounts of the server joined with what conntrack recorded. @module */
import { PROGRAM } from "../version.ts";
import { errorText, RuntimeError, UsageError } from "../errors.ts";
import { Central } from "../conntrack/central.ts";
import {
  type CentralStore,
  DEFAULT_CONNTRACK_INI,
  loadConntrackConfig,
  type ServerAddress,
} from "../config/conntrack_ini.ts";
import { connectAddress, describeAddress } from "../db/address.ts";
import { writeFileAtomic } from "../system/atomic_file.ts";
import { dirOf } from "../util/path.ts";
import { jsonText } from "../util/text.ts";
import { MAX_PORT, MYSQL_DEFAULT_PORT } from "../config/value_rules.ts";
import { becomeSqliteOwner, revokeForConntrack } from "./conntrack_start.ts";
import { buildReport, type ServerAccount } from "../report/report.ts";
import { readLocal, readServerAccounts } from "../report/sources.ts";
import type { Recorded } from "../shared/recorded.ts";
import { renderText, reportJson, reportMetrics } from "../report/render.ts";
import { intFlag, type OptionSpec, parseModeArgs } from "./args.ts";

/** Help text for `conntrack report`. */
export const HELP = `Usage: ${PROGRAM} conntrack report [-c FILE] [--server SPEC] [--unused-days N]
         [--json] [--prom FILE] [--reported-by NAME]

Lists every account of the server (mysql.user) with its last successful login, its failed
logins and a status: "never seen", "unused for N days" or "active". Each recorded login is
attributed to the account the server would have used (most specific matching host pattern
of that user); logins that match no account (dropped accounts, hostile names) are listed
separately. Reads conntrack's data without changing it.

Options:
  -c, --config FILE     ini file (default /etc/conntracker/conntracker.ini)
      --server SPEC     server to read mysql.user from: /path/to/socket or [user@]host[:port]
                        (default: ReportSocket/ReportHost of the ini, else root over
                        /run/mysqld/mysqld.sock)
      --unused-days N   days without a login before an account counts as unused (default 90)
      --json            print one JSON document instead of the table
      --prom FILE       write Prometheus metrics to FILE atomically (then nothing is printed
                        unless --json is given)
      --reported-by NAME
                        fleet mode: the logins that conntrack on NAME sent to the central
                        store (default ServerName of the ini, i.e. this host)
  -h, --help            show this help
  -V, --version         print the version

Examples:
  ${PROGRAM} conntrack report --unused-days 180
  ${PROGRAM} conntrack report --json | jq '.accounts[] | select(.status != "active")'
  ${PROGRAM} conntrack report --prom /run/mysql_monitor/mysql_accounts.prom`;

/** Flags of `conntrack report`. */
export const OPTIONS: OptionSpec = {
  config: { type: "string", short: "c" },
  server: { type: "string" },
  "unused-days": { type: "string" },
  json: { type: "boolean" },
  prom: { type: "string" },
  "reported-by": { type: "string" },
  // Test only, not in the help: log which permissions are left after start-up.
  "probe-permissions": { type: "boolean" },
};

/** Default of `--unused-days`. */
export const DEFAULT_UNUSED_DAYS = 90;
/** Longest --unused-days accepted (a hundred years). */
const MAX_UNUSED_DAYS = 36_500;

/** Parses `--server`: a socket path, or `[user@]host[:port]` (IPv6 in brackets). */
export function parseServerSpec(spec: string, base: ServerAddress): ServerAddress {
  const fail = (): never => {
    throw new UsageError(
      `conntrack report: --server takes /path/to/socket or [user@]host[:port], got "${spec}"`,
      "conntrack report",
    );
  };
  if (spec.startsWith("/")) return { ...base, socket: spec, host: undefined };
  const m = /^(?:([^@\s]+)@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(spec);
  if (!m) return fail();
  const port = m[3] === undefined ? MYSQL_DEFAULT_PORT : Number(m[3]);
  if (port < 1 || port > MAX_PORT) fail();
  return {
    ...base,
    socket: undefined,
    host: m[2].replace(/^\[|\]$/g, ""),
    port,
    user: m[1] ?? base.user,
  };
}

async function readCentral(store: CentralStore, server: string): Promise<Recorded> {
  const central = await Central.open(store);
  try {
    return await central.recorded(server);
  } finally {
    await central.close();
  }
}

/** The absolute directory `prom` is written in (for the write permission kept). */
function promDir(prom: string): string {
  if (prom.startsWith("/")) return dirOf(prom);
  try {
    return dirOf(`${Deno.cwd()}/${prom}`);
  } catch (err) {
    // The working directory is gone or may not be looked at: keep the root's write permission.
    if (
      err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotCapable ||
      err instanceof Deno.errors.PermissionDenied
    ) return "/";
    throw err;
  }
}

/** Runs `conntrack report` (arguments after `report`). */
export async function runReport(args: string[]): Promise<number> {
  try {
    return await report(args);
  } catch (err) {
    // Usage errors show the usage of `conntrack`, whose first lines include `report`.
    if (err instanceof UsageError && err.mode === "conntrack report") {
      throw new UsageError(err.message, "conntrack");
    }
    throw err;
  }
}

/** The accounts of the report server at `address`; a failure says which grants it needs. */
async function serverAccounts(address: ServerAddress): Promise<ServerAccount[]> {
  const db = await connectAddress(address, "report", "Report");
  try {
    return await readServerAccounts(db);
  } catch (err) {
    throw new RuntimeError(
      `report: cannot read the accounts (mysql.user) as ${describeAddress(address)}: ${
        errorText(err)
      } (the account needs SELECT on mysql.user, and on mysql.global_priv for lock status)`,
      { cause: err },
    );
  } finally {
    await db.close();
  }
}

async function report(args: string[]): Promise<number> {
  const { values } = parseModeArgs("conntrack report", args, OPTIONS);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const unusedDays = intFlag(
    "conntrack report",
    "unused-days",
    values["unused-days"],
    DEFAULT_UNUSED_DAYS,
    [1, MAX_UNUSED_DAYS],
  );
  const prom = typeof values.prom === "string" ? values.prom : undefined;
  if (prom !== undefined && (prom === "" || prom.endsWith("/"))) {
    throw new UsageError(`conntrack report: --prom takes a file name`, "conntrack report");
  }
  const config = await loadConntrackConfig(
    typeof values.config === "string" ? values.config : DEFAULT_CONNTRACK_INI,
  );
  const address = typeof values.server === "string"
    ? parseServerSpec(values.server, config.report)
    : config.report;
  const reportedBy = typeof values["reported-by"] === "string"
    ? values["reported-by"]
    : config.serverName;
  if (values["reported-by"] !== undefined && !config.store) {
    throw new UsageError(
      "conntrack report: --reported-by needs fleet mode (Store = mysql://… in the ini)",
      "conntrack report",
    );
  }
  // As root, a local SQLite file is read as the owner of its directory (conntrack_start.ts).
  if (!config.store) {
    becomeSqliteOwner(
      config,
      typeof values.config === "string" ? values.config : DEFAULT_CONNTRACK_INI,
    );
  }
  await revokeForConntrack({ ...config, report: address }, {
    local: !config.store,
    net: true,
    report: true,
    writes: prom === undefined ? [] : [promDir(prom)],
    probe: values["probe-permissions"] === true,
  });
  // Recorded data first: a missing SQLite file should not cost a connection attempt.
  const recorded: Recorded = config.store
    ? await readCentral(config.store, reportedBy)
    : readLocal(config.sqlitePath);
  const accounts = await serverAccounts(address);
  const report = buildReport(accounts, recorded.seen, recorded.failed, {
    now: Date.now(),
    unusedDays,
  });
  if (prom !== undefined) await writeFileAtomic(prom, reportMetrics(report));
  const extra = config.store ? { reported_by: reportedBy } : {};
  if (values.json) console.log(jsonText(reportJson(report, extra)));
  else if (prom === undefined) console.log(renderText(report).trimEnd());
  return 0;
}
