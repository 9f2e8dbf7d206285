/**
 * The write-brake's SQL (`hard_action=readonly`): which data-growing privileges an account holds,
 * at which object level, and the REVOKE / GRANT that take them away and give them back. The
 * list of privileges and the reasons are in docs/write-brake.md.
 *
 * Levels: global (`*.*`, from mysql.global_priv on MariaDB, mysql.user on MySQL) and schema
 * (each mysql.db row of the account). A schema row's `Db` is a pattern (`_`/`%` wildcards, `\`
 * escapes): it is written back into the statement exactly as stored, inside backquotes, so the
 * statement names that row and no other; its `_` and `%` stay data. Names and hosts are compared
 * byte for byte in code, never by a server collation. Table- and column-level grants and
 * privileges reached through roles are not touched (see the docs' limits).
 *
 * Statements are built as text rather than with placeholders: the driver would also replace a
 * `?` inside a quoted schema name. Values are quoted here with backslash escapes, which the
 * session's sql_mode (set by db/connection.ts, without NO_BACKSLASH_ESCAPES) reads as meant.
 * @module
 */
import type { Db } from "../db/connection.ts";
import type { Flavour } from "../db/flavour.ts";
import { TimeSlicer } from "./slice.ts";
import type { PrivilegeLevel } from "./store.ts";

/**
 * The privileges the write-brake revokes, with their bit in MariaDB's global `access` and
 * their column in mysql.db / mysql.user. Everything else (SELECT, DELETE, DROP, LOCK TABLES,
 * CREATE TEMPORARY TABLES, …) stays.
 */
export const BRAKE_PRIVILEGES: readonly { name: string; bit: bigint; column: string }[] = [
  { name: "INSERT", bit: 2n, column: "Insert_priv" },
  { name: "UPDATE", bit: 4n, column: "Update_priv" },
  { name: "CREATE", bit: 16n, column: "Create_priv" },
  { name: "INDEX", bit: 4096n, column: "Index_priv" },
  { name: "ALTER", bit: 8192n, column: "Alter_priv" },
];

const NAMES = new Set(BRAKE_PRIVILEGES.map((p) => p.name));

/** Brake privileges an account holds at one level. */
export interface HeldPrivileges {
  user: string;
  host: string;
  level: PrivilegeLevel;
  /** Names from {@link BRAKE_PRIVILEGES}, in its order. */
  privs: string[];
}

const yes = (v: unknown) => String(v).toUpperCase() === "Y";

/** Every account's brake privileges, global and per schema (roles included; callers pick). */
export async function readBrakePrivileges(db: Db, flavour: Flavour): Promise<HeldPrivileges[]> {
  const out: HeldPrivileges[] = [];
  const slicer = new TimeSlicer();
  const globalRows = flavour.kind === "mariadb"
    ? await db.queryArrays(
      "SELECT User, Host, COALESCE(JSON_VALUE(Priv, '$.access'), '0') FROM mysql.global_priv",
    )
    : await db.queryArrays(
      `SELECT User, Host, ${
        BRAKE_PRIVILEGES.map((p) => `(${p.column} = 'Y') * ${p.bit}`).join(" + ")
      } FROM mysql.user`,
    );
  for (const [u, h, accessText] of globalRows) {
    await slicer.pause();
    let access = 0n;
    try {
      access = BigInt(String(accessText));
    } catch { /* not a number: no privilege */ }
    const privs = BRAKE_PRIVILEGES.filter((p) => (access & p.bit) !== 0n).map((p) => p.name);
    if (privs.length) {
      out.push({ user: String(u), host: String(h), level: { global: true }, privs });
    }
  }
  const columns = BRAKE_PRIVILEGES.map((p) => p.column);
  const dbRows = await db.queryArrays(
    `SELECT User, Host, Db, ${columns.join(", ")} FROM mysql.db
      WHERE ${columns.map((c) => `${c} = 'Y'`).join(" OR ")}`,
  );
  for (const [u, h, d, ...flags] of dbRows) {
    await slicer.pause();
    const privs = BRAKE_PRIVILEGES.filter((_, i) => yes(flags[i])).map((p) => p.name);
    if (privs.length) {
      out.push({
        user: String(u),
        host: String(h),
        level: { global: false, db: String(d) },
        privs,
      });
    }
  }
  return out;
}

/** A string literal with backslash escapes (see the module comment on the sql_mode). */
function literal(text: string): string {
  const escapes: Record<string, string> = {
    "\\": "\\\\",
    "'": "\\'",
    "\0": "\\0",
    "\n": "\\n",
    "\r": "\\r",
    "\x1a": "\\Z",
  };
  let out = "";
  for (const c of text) out += escapes[c] ?? c;
  return `'${out}'`;
}

/** `*.*` or `` `pattern`.* `` with the pattern exactly as mysql.db stores it. */
export function levelSql(level: PrivilegeLevel): string {
  if (level.global) return "*.*";
  if (level.db.includes("\0")) throw new TypeError("a schema name with a NUL byte");
  return `\`${level.db.replaceAll("`", "``")}\`.*`;
}

/** The privilege list of a statement; refuses any name that is not a brake privilege. */
function privilegeList(privs: readonly string[]): string {
  if (privs.length === 0 || privs.some((p) => !NAMES.has(p))) {
    throw new TypeError(`not a write-brake privilege list: ${privs.join(",")}`);
  }
  return privs.join(", ");
}

/** The account as `'user'@'host'`. */
function accountSql(user: string, host: string): string {
  return `${literal(user)}@${literal(host)}`;
}

/** The arguments of a REVOKE or a GRANT: which privileges of `user`@`host` at `level`. */
export type PrivilegeChange = [
  user: string,
  host: string,
  level: PrivilegeLevel,
  privs: readonly string[],
];

/** `REVOKE privs ON level FROM user@host`. */
export async function revokePrivileges(
  db: Db,
  ...[user, host, level, privs]: PrivilegeChange
): Promise<void> {
  await db.query(
    `REVOKE ${privilegeList(privs)} ON ${levelSql(level)} FROM ${accountSql(user, host)}`,
  );
}

/**
 * `GRANT privs ON level TO user@host`. On MariaDB the statement runs with NO_AUTO_CREATE_USER,
 * so an account dropped in the meantime is never created again by it (MySQL 8 never creates
 * accounts in GRANT).
 */
export async function grantPrivileges(
  db: Db,
  flavour: Flavour,
  ...[user, host, level, privs]: PrivilegeChange
): Promise<void> {
  const grant = `GRANT ${privilegeList(privs)} ON ${levelSql(level)} TO ${accountSql(user, host)}`;
  await db.query(
    flavour.kind === "mariadb"
      ? `SET STATEMENT sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_CREATE_USER' FOR ${grant}`
      : grant,
  );
}

/** True when `a` and `b` name the same level. */
export function sameLevel(a: PrivilegeLevel, b: PrivilegeLevel): boolean {
  return a.global ? b.global : !b.global && a.db === b.db;
}
