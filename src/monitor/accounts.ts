/**
 * The server's accounts and every change this tool makes to them. This is the one place
 * that builds account-changing SQL: names and hosts always travel as placeholders, which
 * mysql2 quotes as string literals, so a name like `o'brien` is safe.
 * @module
 */
import type { Db } from "../db/connection.ts";
import type { Flavour } from "../db/flavour.ts";
import type { Account } from "./decide.ts";

/** All accounts (roles excluded), grouped by user name, with their lock state. */
export async function listAccounts(db: Db, flavour: Flavour): Promise<Map<string, Account[]>> {
  // MariaDB ≥ 10.4 keeps the lock flag in mysql.global_priv's JSON; MySQL in mysql.user.
  const rows = flavour.kind === "mariadb"
    ? await db.query<{ user: string; host: string; locked: string | null; role: string | null }>(
      `SELECT User AS user, Host AS host,
              JSON_VALUE(Priv, '$.account_locked') AS locked,
              JSON_VALUE(Priv, '$.is_role') AS role
         FROM mysql.global_priv`,
    )
    : await db.query<{ user: string; host: string; locked: string | null; role: null }>(
      "SELECT User AS user, Host AS host, account_locked AS locked, NULL AS role FROM mysql.user",
    );
  const truthy = (v: string | null) => v !== null && ["1", "true", "y"].includes(v.toLowerCase());
  const out = new Map<string, Account[]>();
  for (const r of rows) {
    if (truthy(r.role)) continue;
    const list = out.get(r.user) ?? [];
    list.push({ host: r.host, locked: truthy(r.locked) });
    out.set(r.user, list);
  }
  return out;
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
 * Ends the open sessions of `user` (ACCOUNT LOCK only refuses new ones), except the
 * monitor's own. The process list shows user names, not accounts, so this ends every
 * session of that user name. Returns how many were ended.
 */
export async function killSessions(db: Db, user: string): Promise<number> {
  const rows = await db.query<{ id: number }>(
    "SELECT ID AS id FROM information_schema.PROCESSLIST " +
      "WHERE USER = ? AND ID <> CONNECTION_ID() AND COMMAND <> 'Killed'",
    [user],
  );
  let killed = 0;
  for (const { id } of rows) {
    try {
      await db.query("KILL CONNECTION ?", [Number(id)]);
      killed++;
    } catch (err) {
      // Already gone between the listing and the kill.
      if ((err as { errno?: number }).errno !== 1094) throw err;
    }
  }
  return killed;
}
