/**
 * Start-up of `conntrack` and `conntrack report` once the ini is loaded: who the process runs
 * as, and which permissions it keeps.
 *
 * conntrack has no run_as setting (the Go tool had none), so as root it takes the identity of
 * the account that owns the SQLite file's directory (mysql for the default
 * /var/lib/mysql/audit.sqlite) before it opens anything there or reads an audit log: root
 * never creates, locks or journals a file in a directory another account can steer. A root-
 * owned directory that only root can write keeps root; a directory chain some other account
 * controls is refused (exit 78). Then FFI, run, env and sys (but uid/gid) are revoked, the
 * network too when there is no fleet store (plain runs), and every write entry of the
 * permission set that covers none of the paths the mode writes.
 * @module
 */
import type { ConntrackConfig } from "../config/conntrack_ini.ts";
import { ConfigError } from "../errors.ts";
import { fileMeta, getpwuid } from "../system/libc.ts";
import { probePermissions, revokeUnneeded } from "../system/least_privilege.ts";
import { log } from "../system/log.ts";
import { dropPrivileges } from "../system/privileges.ts";
import { inspectChain, userLabel } from "../system/safe_fs.ts";
import { dirOf } from "../util/path.ts";

/** What the starting mode will do. */
export interface ConntrackStart {
  /** Reads local SQLite (a plain run, or a report without a fleet store). */
  local: boolean;
  /** Opens network connections (fleet store, report over TCP). */
  net: boolean;
  /** `conntrack report`: reads mysql.user through the report address. */
  report?: boolean;
  /** Files written besides the SQLite database (a report's --prom file). */
  writes?: string[];
  /** Test only: log which permissions are left. */
  probe?: boolean;
}

/**
 * As root with a local SQLite file: becomes the owner of its directory (see the module doc).
 * Returns the name of the account it dropped to, if any.
 */
export function becomeSqliteOwner(config: ConntrackConfig, file: string): string | undefined {
  if (Deno.uid() !== 0) return undefined;
  const dir = dirOf(config.sqlitePath);
  const info = fileMeta(dir);
  // No directory: SQLite cannot create the file there, and says so.
  if (!info) return undefined;
  const refuse = (problem: string, fix: string) =>
    new ConfigError(`SqlitePath=${config.sqlitePath}: ${problem}; ${fix}`, file);
  const fix = "give the directory to one account (e.g. chown mysql: it then runs as mysql), " +
    "or run conntrack as that account";
  if (info.uid === 0) {
    const chain = inspectChain(dir, []);
    if (chain.problem) {
      throw refuse(`${chain.problem}, so root must not write there`, fix);
    }
    return undefined;
  }
  const owner = getpwuid(info.uid);
  if (!owner) {
    throw refuse(
      `${dir} belongs to ${userLabel(info.uid)}, which has no user entry to run as`,
      "chown it to an existing account",
    );
  }
  const chain = inspectChain(dir, [info.uid]);
  if (chain.problem) throw refuse(chain.problem, fix);
  dropPrivileges(owner.name, { file });
  log("conntrack").info("running as {user}, the owner of {dir}", { user: owner.name, dir });
  return owner.name;
}

/** Revokes what the mode no longer needs (after {@link becomeSqliteOwner}). */
export async function revokeForConntrack(
  config: ConntrackConfig,
  start: ConntrackStart,
): Promise<void> {
  const addresses = [
    ...(start.report ? [config.report] : []),
    ...(config.store ? [config.store] : []),
  ];
  const sockets = addresses.flatMap((a) => a.socket ? [a.socket] : []);
  const secrets = addresses.flatMap((a) => a.passwordFile ? [a.passwordFile] : []);
  const writes = [...(start.local ? [config.sqlitePath] : []), ...(start.writes ?? [])];
  if (start.net || config.store) {
    // Load the driver while env is still readable: mysql2 reads NODE_DEBUG when loaded.
    await import("../conntrack/central.ts");
  }
  await revokeUnneeded({
    write: [...writes, ...sockets],
    read: [config.auditLogPath, config.sqlitePath, ...sockets, ...secrets],
    foreignRead: ["/etc/mysql_search", "/root/mysql_search", "/var/lib/mysql_monitor"],
    net: start.net,
  });
  if (start.probe) {
    for (const line of await probePermissions(writes, ["/etc/mysql_search"])) {
      log("conntrack").info("permission probe: {line}", { line });
    }
  }
}
