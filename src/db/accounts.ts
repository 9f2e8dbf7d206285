/**
 * The one reader of the server's account tables, for the monitor (which accounts to lock, and
 * which hold global growth privileges) and for `conntrack report` (which accounts exist, and
 * whether they are locked).
 *
 * MariaDB ≥ 10.4 keeps the lock flag, the role flag and the global privileges in
 * `mysql.global_priv`'s JSON; MySQL in `mysql.user` (a role is an account that appears as
 * `FROM_USER` in `mysql.role_edges`). Names are returned as the server stores them, decoded
 * from UTF-8 when the driver hands over bytes, and never compared with a server collation.
 * @module
 */
import type { Db } from "./connection.ts";
import type { Flavour } from "./flavour.ts";

/** Key of an account (or role) by name and host, for maps and sets: `user\0host`. */
export function accountKey(user: string, host: string): string {
  return `${user}\u0000${host}`;
}

/** One row of the account tables: an account or a role. */
export interface AccountRow {
  user: string;
  host: string;
  /** `ACCOUNT LOCK` in effect; null when the server does not say (see {@link AccountReadOptions}). */
  locked: boolean | null;
  role: boolean;
  /** Global privilege bits (MariaDB's `access` number; on MySQL only INSERT, CREATE, ALTER). */
  access: bigint;
}

/** Options of {@link readAccountRows}. */
export interface AccountReadOptions {
  /**
   * On MariaDB, when `mysql.global_priv` cannot be read (no SELECT on it, or a server before
   * 10.4), read the names from `mysql.user` and report every lock as unknown (null) instead
   * of failing.
   */
  lockOptional?: boolean;
}

// ER_TABLEACCESS_DENIED_ERROR, ER_COLUMNACCESS_DENIED_ERROR, ER_NO_SUCH_TABLE.
const NO_PRIV_TABLE = new Set([1142, 1143, 1146]);

const truthy = (v: unknown) =>
  v !== null && v !== undefined && ["1", "true", "y"].includes(String(v).toLowerCase());

/** A name column as text: bytes are decoded as UTF-8, anything else taken as it is. */
export function nameText(value: unknown): string {
  return value instanceof Uint8Array ? new TextDecoder().decode(value) : String(value);
}

/** Every account and role with its lock flag, role flag and global privileges. */
export async function readAccountRows(
  db: Db,
  flavour: Flavour,
  options: AccountReadOptions = {},
): Promise<AccountRow[]> {
  // Columns: user, host, locked, role, access.
  let rows: unknown[][];
  let lockKnown = true;
  if (flavour.kind === "mariadb") {
    try {
      rows = await db.queryArrays(
        `SELECT User, Host,
                JSON_VALUE(Priv, '$.account_locked'),
                JSON_VALUE(Priv, '$.is_role'),
                COALESCE(JSON_VALUE(Priv, '$.access'), '0')
           FROM mysql.global_priv`,
      );
    } catch (err) {
      const code = (err as { errno?: number }).errno;
      if (!options.lockOptional || code === undefined || !NO_PRIV_TABLE.has(code)) throw err;
      lockKnown = false;
      rows = await db.queryArrays(
        "SELECT User, Host, NULL, is_role = 'Y', '0' FROM mysql.user",
      );
    }
  } else {
    rows = await db.queryArrays(
      `SELECT u.User, u.Host, u.account_locked = 'Y',
              EXISTS (SELECT 1 FROM mysql.role_edges e
                       WHERE e.FROM_USER = u.User AND e.FROM_HOST = u.Host),
              (u.Insert_priv = 'Y') * 2 + (u.Create_priv = 'Y') * 16 + (u.Alter_priv = 'Y') * 8192
         FROM mysql.user u`,
    );
  }
  return rows.map(([user, host, locked, role, access]) => ({
    user: nameText(user),
    host: nameText(host),
    locked: lockKnown ? truthy(locked) : null,
    role: truthy(role),
    access: accessBits(access),
  }));
}

/** The privilege number; anything that is not one means no privilege. */
function accessBits(value: unknown): bigint {
  const text = String(value);
  return /^\d+$/.test(text) ? BigInt(text) : 0n;
}
