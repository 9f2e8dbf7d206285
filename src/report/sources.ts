/**
 * What the report reads: the accounts of the server (`mysql.user`) and the recorded logins
 * from the local SQLite file.
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { nameText, readAccountRows } from "../db/accounts.ts";
import type { Db } from "../db/connection.ts";
import { parseVersion } from "../db/flavour.ts";
import { errorText, RuntimeError } from "../errors.ts";
import { FAILED_LOGIN_EVENTS, type Recorded } from "../shared/recorded.ts";
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
        `SELECT name, host, count, last_seen FROM conntrack_events WHERE ${FAILED_LOGIN_EVENTS}`,
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
 * Accounts of the server, roles left out, read the way the monitor reads them
 * (db/accounts.ts). Where the lock flag cannot be read (MariaDB without SELECT on
 * `mysql.global_priv`), the lock is unknown (null).
 */
export async function readServerAccounts(db: Db): Promise<ServerAccount[]> {
  const [{ v }] = await db.query<{ v: unknown }>("SELECT VERSION() AS v");
  const rows = await readAccountRows(db, parseVersion(nameText(v)), { lockOptional: true });
  return rows.filter((r) => !r.role).map(({ user, host, locked }) => ({ user, host, locked }));
}
