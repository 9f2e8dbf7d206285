/**
 * What the report reads: the accounts of the server (`mysql.user`) and the recorded logins
 * from the local SQLite file.
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import type { Db } from "../db/connection.ts";
import { errorText, RuntimeError } from "../errors.ts";
import type { Recorded } from "../shared/recorded.ts";
import type { ServerAccount } from "./report.ts";

/** How long the report waits for a running conntrack to finish committing. */
export const READ_WAIT_MS = 30_000;

/**
 * Reads the SQLite file read-only in one short read transaction (a consistent snapshot that
 * never blocks a conntrack run for longer than the reads take). A file written by the Go tool
 * has no `conntrack_events` and its progress row is skipped.
 *
 * After a conntrack run was killed, the file has a hot rollback journal that a read-only
 * connection may not roll back (SQLITE_READONLY_ROLLBACK); then the same reads are made on a
 * read-write connection, which first lets SQLite roll the unfinished run back, exactly as the
 * next conntrack run would. Nothing is written either way.
 */
export function readLocal(path: string): Recorded {
  try {
    return readSnapshot(path, true);
  } catch (err) {
    if (!(err instanceof HotJournal)) throw err;
    return readSnapshot(path, false);
  }
}

class HotJournal extends Error {}

function readSnapshot(path: string, readOnly: boolean): Recorded {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { readOnly, timeout: READ_WAIT_MS });
  } catch (err) {
    throw new RuntimeError(
      `cannot open SQLite database ${path} (has conntrack run yet?): ${errorText(err)}`,
      { cause: err },
    );
  }
  try {
    db.exec("BEGIN");
    const tables = new Set(
      (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
        name: string;
      }[]).map((r) => r.name),
    );
    if (!tables.has("Accounts")) {
      throw new RuntimeError(`${path} has no Accounts table: not a conntrack database`);
    }
    const goTool = !tables.has("conntrack_meta");
    const seen = (db.prepare("SELECT name, host, last_seen FROM Accounts").all() as {
      name: unknown;
      host: unknown;
      last_seen: unknown;
    }[])
      .filter((r) => r.last_seen !== null)
      .filter((r) => !(goTool && r.name === "mysql" && r.host === "localhost"))
      .map((r) => ({ name: String(r.name), host: String(r.host), lastSeen: String(r.last_seen) }));
    const failed = tables.has("conntrack_events")
      ? (db.prepare(
        "SELECT name, host, count, last_seen FROM conntrack_events WHERE kind = 'failed' OR (kind = 'multiline' AND last_retcode <> 0)",
      ).all() as { name: string; host: string; count: number; last_seen: string }[])
        .map((r) => ({
          name: r.name,
          host: r.host,
          count: Number(r.count),
          lastSeen: r.last_seen,
        }))
      : [];
    db.exec("COMMIT");
    return { seen, failed };
  } catch (err) {
    if (err instanceof RuntimeError) throw err;
    if (readOnly && /readonly database/i.test(String(err))) throw new HotJournal();
    throw new RuntimeError(
      `cannot read SQLite database ${path}: ${errorText(err)}`,
      { cause: err },
    );
  } finally {
    db.close();
  }
}

/**
 * Accounts of the server, roles left out. MariaDB ≥ 10.4 keeps the lock in
 * `mysql.global_priv`, MySQL in `mysql.user.account_locked`; where neither is readable the
 * lock is unknown (null).
 */
export async function readServerAccounts(db: Db): Promise<ServerAccount[]> {
  const columns = new Set(
    (await db.query<{ Field: string }>("SHOW COLUMNS FROM mysql.user")).map((r) => r.Field),
  );
  const notRole = columns.has("is_role") ? "WHERE is_role <> 'Y'" : "";
  const rows = await db.query<{ User: unknown; Host: unknown; locked: unknown }>(
    columns.has("account_locked")
      ? `SELECT User, Host, account_locked = 'Y' AS locked FROM mysql.user ${notRole}`
      : `SELECT User, Host, NULL AS locked FROM mysql.user ${notRole}`,
  );
  let lockedFromPriv: Map<string, boolean> | undefined;
  if (!columns.has("account_locked")) {
    try {
      const priv = await db.query<{ User: unknown; Host: unknown; locked: unknown }>(
        "SELECT User, Host, JSON_VALUE(Priv, '$.account_locked') AS locked FROM mysql.global_priv",
      );
      lockedFromPriv = new Map(
        priv.map((
          r,
        ) => [`${text(r.User)}\u0000${text(r.Host)}`, ["1", "true"].includes(String(r.locked))]),
      );
    } catch { /* not MariaDB ≥ 10.4, or no SELECT on global_priv: lock unknown */ }
  }
  return rows.map((r) => {
    const user = text(r.User);
    const host = text(r.Host);
    const locked = lockedFromPriv
      ? lockedFromPriv.get(`${user}\u0000${host}`) ?? false
      : r.locked === null
      ? null
      : Number(r.locked) === 1;
    return { user, host, locked };
  });
}

function text(value: unknown): string {
  return value instanceof Uint8Array ? new TextDecoder().decode(value) : String(value);
}
