/**
 * The server's accounts, roles and schema grants, and every change this tool makes to accounts.
 * This is the one place that builds account-changing SQL: names and hosts always travel as
 * placeholders (mysql2 quotes them as string literals; the connection sets a sql_mode without
 * NO_BACKSLASH_ESCAPES, so `o'brien` is safe whatever the server's global mode), and names read
 * back are compared byte for byte, never with a server collation.
 * @module
 */
import { accountKey, readAccountRows } from "../db/accounts.ts";
import type { Db } from "../db/connection.ts";
import type { Flavour } from "../db/flavour.ts";
import type { Account } from "./decide.ts";
import type { Session } from "./sessions.ts";
import { TimeSlicer } from "./slice.ts";

/** Global privileges that let an account grow any schema: INSERT, CREATE, ALTER. */
export const GROWTH_ACCESS_BITS = 2n | 16n | 8192n;

/** What the account tables say: accounts by user name, roles, global growth privileges. */
export interface AccountTable {
  /** Accounts (roles excluded) by user name, with their lock flag. */
  accounts: Map<string, Account[]>;
  /** Roles, as {@link accountKey} of name and host ("" on MariaDB). */
  roles: Set<string>;
  /** Keys `user\0host` (roles: `role\0`) that hold INSERT, CREATE or ALTER on `*.*`. */
  globalGrowth: Set<string>;
}

/** Key of an account or role in {@link AccountTable.globalGrowth} and grant maps. */
export { accountKey };

/** Reads every account and role with its lock flag and whether it has global growth grants. */
export async function listAccounts(db: Db, flavour: Flavour): Promise<AccountTable> {
  const accounts = new Map<string, Account[]>();
  const roles = new Set<string>();
  const globalGrowth = new Set<string>();
  const slicer = new TimeSlicer();
  for (const row of await readAccountRows(db, flavour)) {
    await slicer.pause();
    const { user, host } = row;
    if ((row.access & GROWTH_ACCESS_BITS) !== 0n) globalGrowth.add(accountKey(user, host));
    if (row.role) {
      roles.add(accountKey(user, host));
      continue;
    }
    const list = accounts.get(user) ?? [];
    list.push({ host, locked: row.locked === true });
    accounts.set(user, list);
  }
  return { accounts, roles, globalGrowth };
}

/** One schema-level grant row that lets its holder grow the data. */
export interface GrowthGrant {
  /** Account user name, or role name. */
  user: string;
  /** Account host; "" for a role. */
  host: string;
  /** Database pattern as stored (`_`/`%` wildcards, `\` escapes). */
  db: string;
}

/**
 * Schema-level grants that charge a schema: INSERT, CREATE or ALTER (ALL includes them).
 * SELECT, UPDATE, DELETE and the rest never do (see docs/schema_mapping.md).
 */
export async function readGrowthGrants(db: Db): Promise<GrowthGrant[]> {
  const rows = await db.queryArrays(
    `SELECT User, Host, Db FROM mysql.db
      WHERE Insert_priv = 'Y' OR Create_priv = 'Y' OR Alter_priv = 'Y'`,
  );
  return rows.map(([user, host, db]) => ({
    user: String(user),
    host: String(host),
    db: String(db),
  }));
}

/** One granted role: the grantee (an account, or a role) and the role, each as name and host. */
export interface RoleGrant {
  user: string;
  host: string;
  role: string;
  /** "" on MariaDB (roles have no host); the role's host on MySQL. */
  roleHost: string;
}

/** Every role grant (MariaDB mysql.roles_mapping; MySQL mysql.role_edges). */
export function readRoleGrants(db: Db, flavour: Flavour): Promise<RoleGrant[]> {
  return flavour.kind === "mariadb"
    ? db.query<RoleGrant>(
      "SELECT User AS user, Host AS host, Role AS role, '' AS roleHost FROM mysql.roles_mapping",
    )
    : db.query<RoleGrant>(
      `SELECT TO_USER AS user, TO_HOST AS host, FROM_USER AS role, FROM_HOST AS roleHost
         FROM mysql.role_edges`,
    );
}

/** Locks or unlocks one account. */
export async function setAccountLocked(
  db: Db,
  user: string,
  host: string,
  locked: boolean,
): Promise<void> {
  await db.query(locked ? "ALTER USER ?@? ACCOUNT LOCK" : "ALTER USER ?@? ACCOUNT UNLOCK", [
    user,
    host,
  ]);
}

/**
 * The open sessions whose user name is byte for byte `user` (the process list names the user,
 * not the account), except the monitor's own and those already being killed.
 */
export async function listSessions(db: Db, user: string): Promise<Session[]> {
  const rows = await db.query<{ id: string | number; user: string; host: string | null }>(
    `SELECT ID AS id, USER AS user, HOST AS host FROM information_schema.PROCESSLIST
      WHERE CAST(USER AS BINARY) = CAST(? AS BINARY)
        AND ID <> CONNECTION_ID() AND COMMAND <> 'Killed'`,
    [user],
  );
  return rows.filter((r) => String(r.user) === user).map((r) => ({
    id: Number(r.id),
    host: String(r.host ?? ""),
  }));
}

/** `KILL CONNECTION id`; false when the session was already gone. */
export async function killSession(db: Db, id: number): Promise<boolean> {
  try {
    await db.query("KILL CONNECTION ?", [id]);
    return true;
  } catch (err) {
    // Already gone between the listing and the kill.
    if ((err as { errno?: number }).errno === 1094) return false;
    throw err;
  }
}
