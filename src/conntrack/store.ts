/**
 * The SQLite database: the Go tool's `Accounts` table plus this program's own tables.
 *
 * - `Accounts(name, host, last_seen)`: last successful login per account, `last_seen` as
 *   `YYYY-MM-DD HH:MM:SS+HH:MM` in TimeLocation, exactly what the Go tool's users query, in a
 *   table declared exactly as the Go tool declares it. Names and hosts are TEXT holding exactly
 *   the logged bytes (see names.ts): written with `CAST(? AS TEXT)`, compared as such, read back
 *   with `CAST(… AS BLOB)`.
 * - `conntrack_files`: one checkpoint per audit file, keyed by inode.
 * - `conntrack_events`: failed logins, CHANGEUSER, PROXY_CONNECT and logins whose username
 *   spans lines, latest per (kind, name, host), with a count.
 * - `conntrack_meta`: schema version. Its absence next to an existing `Accounts` table marks a
 *   database written by the Go tool, whose progress marker row (`mysql`@`localhost`) is removed
 *   on adoption.
 *
 * A run holds one write transaction (`BEGIN IMMEDIATE`) from reading the checkpoints to the
 * commit, so a second run waits for the first, and a killed run leaves the database unchanged.
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { createIfAbsent } from "../system/safe_fs.ts";
import { errorText as message, RuntimeError } from "../errors.ts";
import { nameFromSql, sqlName } from "./names.ts";
import type { OtherEvent } from "./scan.ts";
import { parseStoredTime, type Zone } from "../time/tz.ts";

/** Progress in one audit file. */
export interface Checkpoint {
  ino: number;
  path: string;
  /** Bytes consumed (always a line start). */
  offset: number;
  /** File size when last seen. */
  size: number;
  /** Hex of the file's first bytes (up to {@link FINGERPRINT_BYTES}). */
  fingerprint: string;
  serverHost: string | null;
  lastInstant: number | null;
  /** The file was the live log (not a rotation) when last seen. */
  live: boolean;
}

/** An `Accounts` row as stored. */
export interface AccountRow {
  name: string;
  host: string;
  lastSeen: string;
}

/** A `conntrack_events` row as stored (count = total over all runs). */
export interface EventRow {
  kind: string;
  name: string;
  host: string;
  lastSeen: string;
  lastRetcode: number;
  count: number;
}

/**
 * How far past the clock of the run a login time may lie (ms). A later time is refused when it
 * would be written (here and in the central store): it can only come from a wrong clock or
 * TimeLocation, and with `last_seen` only moving forward it would stick.
 */
export const FUTURE_SLACK_MS = 3_600_000;

/** How many leading bytes identify a file's content. */
export const FINGERPRINT_BYTES = 64;

const SCHEMA_VERSION = "1";

/**
 * The Go tool's `Accounts` table, byte for byte as its database.go (v1.1.14) sends it, so that
 * whatever reads the schema (`sqlite3 .schema`, `sqlite_master`, ORMs) sees the same table
 * whichever program created the file. SQLite keeps the text from `CREATE` to the closing
 * parenthesis, without `IF NOT EXISTS`. Databases created by earlier versions of this program
 * declare `last_seen TEXT`; both hold the same text values and are read alike.
 */
export const GO_ACCOUNTS_DDL = "\n\tCREATE TABLE IF NOT EXISTS Accounts (\n\t\tname      TEXT,\n" +
  "\t\thost      TEXT,\n\t\tlast_seen TIMESTAMP,\n\t\tPRIMARY KEY (name, host)\n\t);\n\t";

/** How long a run waits for another run's lock, in milliseconds. */
export const LOCK_WAIT_MS = 10 * 60_000;

/** An open database inside the run's transaction. */
export class Store {
  #db: DatabaseSync;
  /** True when this run adopted a database written by the Go tool. */
  adopted = false;
  /** `Accounts` keys (name, host) inserted or moved forward in this transaction. */
  readonly changedLogins: [string, string][] = [];
  /** `conntrack_events` keys (kind, name, host) touched in this transaction. */
  readonly changedEvents: [string, string, string][] = [];
  /** True once this run wrote something worth committing. */
  #changed = false;
  /** The checkpoints as read, to tell whether they changed. */
  #stored: Checkpoint[] = [];
  /** Events not written because they lie beyond now + {@link FUTURE_SLACK_MS}. */
  refusedFuture = 0;

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** Opens (creating if needed) the database and takes the run's write lock. */
  static open(path: string, lockWaitMs = LOCK_WAIT_MS): Store {
    let db: DatabaseSync;
    try {
      // It holds failed-login names: private from the start. SQLite gives its -journal, -wal
      // and -shm files the mode of the database file.
      createIfAbsent(path, 0o600);
      db = new DatabaseSync(path, { timeout: lockWaitMs });
    } catch (err) {
      throw new RuntimeError(`cannot open SQLite database ${path}: ${message(err)}`);
    }
    const store = new Store(db);
    try {
      db.exec("BEGIN IMMEDIATE");
    } catch (err) {
      db.close();
      const busy = /locked|busy/i.test(message(err));
      throw new RuntimeError(
        busy
          ? `another conntrack run still holds ${path} after ${
            lockWaitMs / 1000
          } s; try again later`
          : `cannot lock SQLite database ${path}: ${message(err)}`,
      );
    }
    try {
      store.#prepareSchema();
    } catch (err) {
      store.rollback();
      throw new RuntimeError(`SQLite database ${path}: ${message(err)}`);
    }
    return store;
  }

  #prepareSchema(): void {
    const db = this.#db;
    const tables = new Set(
      (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
        name: string;
      }[])
        .map((r) => r.name),
    );
    const ours = ["Accounts", "conntrack_meta", "conntrack_files", "conntrack_events"];
    if (!ours.every((t) => tables.has(t))) this.#changed = true;
    if (tables.has("Accounts") && !tables.has("conntrack_meta")) {
      // Written by the Go tool: its progress marker is not an account.
      db.prepare("DELETE FROM Accounts WHERE name = 'mysql' AND host = 'localhost'").run();
      this.adopted = true;
    }
    db.exec(GO_ACCOUNTS_DDL);
    db.exec(`
      CREATE TABLE IF NOT EXISTS conntrack_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS conntrack_files (
        ino          INTEGER PRIMARY KEY,
        path         TEXT NOT NULL,
        offset       INTEGER NOT NULL,
        size         INTEGER NOT NULL,
        fingerprint  TEXT NOT NULL,
        server_host  TEXT,
        last_instant INTEGER,
        live         INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS conntrack_events (
        kind         TEXT NOT NULL,
        name         TEXT NOT NULL,
        host         TEXT NOT NULL,
        last_seen    TEXT NOT NULL,
        last_retcode INTEGER NOT NULL,
        count        INTEGER NOT NULL,
        PRIMARY KEY (kind, name, host)
      );
    `);
    db.prepare("INSERT OR REPLACE INTO conntrack_meta (key, value) VALUES ('schema', ?)").run(
      SCHEMA_VERSION,
    );
  }

  /** Checkpoints by inode. */
  checkpoints(): Map<number, Checkpoint> {
    const rows = this.#db.prepare("SELECT * FROM conntrack_files").all() as Record<
      string,
      unknown
    >[];
    this.#stored = rows.map((r) => ({
      ino: Number(r.ino),
      path: String(r.path),
      offset: Number(r.offset),
      size: Number(r.size),
      fingerprint: String(r.fingerprint),
      serverHost: r.server_host === null ? null : String(r.server_host),
      lastInstant: r.last_instant === null ? null : Number(r.last_instant),
      live: Number(r.live) === 1,
    }));
    return new Map(this.#stored.map((c) => [c.ino, c]));
  }

  /** Replaces all checkpoints with `list` (nothing is written when they are the same). */
  saveCheckpoints(list: Checkpoint[]): void {
    // One checkpoint as the values of a conntrack_files row, in column order.
    const row = (c: Checkpoint) =>
      [
        c.ino,
        c.path,
        c.offset,
        c.size,
        c.fingerprint,
        c.serverHost,
        c.lastInstant,
        c.live ? 1 : 0,
      ] as const;
    const key = (c: Checkpoint) => JSON.stringify(row(c));
    const before = new Set(this.#stored.map(key));
    if (list.length === before.size && list.every((c) => before.has(key(c)))) return;
    this.#changed = true;
    this.#db.exec("DELETE FROM conntrack_files");
    const insert = this.#db.prepare(
      "INSERT INTO conntrack_files (ino, path, offset, size, fingerprint, server_host, last_instant, live) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    for (const c of list) insert.run(...row(c));
  }

  /**
   * Moves `last_seen` forward for each login; compares instants (so a DST change cannot make
   * an older time win). Returns how many rows were inserted and updated.
   */
  mergeLogins(
    logins: Iterable<[string, string, number]>,
    zone: Zone,
  ): { inserted: number; updated: number } {
    const { get, insert, update } = this.#prepare({
      get: "SELECT last_seen FROM Accounts WHERE name = CAST(? AS TEXT) AND host = CAST(? AS TEXT)",
      insert:
        "INSERT INTO Accounts (name, host, last_seen) VALUES (CAST(? AS TEXT), CAST(? AS TEXT), ?)",
      update:
        "UPDATE Accounts SET last_seen = ? WHERE name = CAST(? AS TEXT) AND host = CAST(? AS TEXT)",
    });
    let inserted = 0;
    let updated = 0;
    // A first run fills an empty table: nothing to look up before each insert.
    const empty = this.#db.prepare("SELECT 1 FROM Accounts LIMIT 1").get() === undefined;
    this.#mergeEach(
      logins,
      (login) => login,
      (name, host) => empty ? undefined : get.get(name, host),
      ([user, client, instant], name, host, stored) => {
        if (stored === null) {
          insert.run(name, host, zone.format(instant));
          inserted++;
        } else if (stored === undefined || instant > stored) {
          update.run(zone.format(instant), name, host);
          updated++;
        } else return;
        this.changedLogins.push([user, client]);
      },
    );
    if (inserted + updated > 0) this.#changed = true;
    return { inserted, updated };
  }

  /** Each statement of `sql` prepared on this database, under the same key. */
  #prepare<K extends string>(sql: Record<K, string>): Record<K, StatementSync> {
    const out = {} as Record<K, StatementSync>;
    for (const key of Object.keys(sql) as K[]) out[key] = this.#db.prepare(sql[key]);
    return out;
  }

  /**
   * The merge loop of both tables. An item dated more than {@link FUTURE_SLACK_MS} after now
   * is refused (counted in {@link refusedFuture}); for every other one, `find` looks up its
   * row (by name and host as bound, see `sqlName`) and `write` gets the row's `last_seen` as
   * an instant: null when there is no row, undefined when the row has no readable time.
   */
  #mergeEach<T>(
    items: Iterable<T>,
    key: (item: T) => readonly [user: string, host: string, instant: number],
    find: (name: string | Uint8Array, host: string | Uint8Array, item: T) => unknown,
    write: (
      item: T,
      name: string | Uint8Array,
      host: string | Uint8Array,
      stored: number | null | undefined,
    ) => void,
  ): void {
    const latest = Date.now() + FUTURE_SLACK_MS;
    for (const item of items) {
      const [user, client, instant] = key(item);
      if (instant > latest) {
        this.refusedFuture++;
        continue;
      }
      const name = sqlName(user);
      const host = sqlName(client);
      const row = find(name, host, item) as { last_seen: unknown } | undefined;
      write(
        item,
        name,
        host,
        !row ? null : row.last_seen === null ? undefined : parseStoredTime(String(row.last_seen)),
      );
    }
  }

  /** Adds failed logins and other connection events. */
  mergeOthers(events: Iterable<OtherEvent>, zone: Zone): void {
    const { get, insert, update } = this.#prepare({
      get:
        "SELECT last_seen FROM conntrack_events WHERE kind = ? AND name = CAST(? AS TEXT) AND host = CAST(? AS TEXT)",
      insert:
        "INSERT INTO conntrack_events (kind, name, host, last_seen, last_retcode, count) VALUES (?, CAST(? AS TEXT), CAST(? AS TEXT), ?, ?, ?)",
      update:
        "UPDATE conntrack_events SET count = count + ?, last_seen = CASE WHEN ? THEN ? ELSE last_seen END, last_retcode = CASE WHEN ? THEN ? ELSE last_retcode END WHERE kind = ? AND name = CAST(? AS TEXT) AND host = CAST(? AS TEXT)",
    });
    this.#mergeEach(
      events,
      (e) => [e.user, e.host, e.instant],
      (name, host, e) => get.get(e.kind, name, host),
      (e, name, host, stored) => {
        this.#changed = true;
        this.changedEvents.push([e.kind, e.user, e.host]);
        const text = zone.format(e.instant);
        if (stored === null) {
          insert.run(e.kind, name, host, text, e.retcode, e.count);
          return;
        }
        // The latest time wins and brings its return code; the counts add up.
        const newer = e.instant >= (stored ?? -Infinity) ? 1 : 0;
        update.run(e.count, newer, text, newer, e.retcode, e.kind, name, host);
      },
    );
  }

  /**
   * `Accounts` rows as they stand in this transaction: all of them, or only the keys in
   * {@link changedLogins}.
   */
  accountRows(all: boolean): AccountRow[] {
    const map = (r: Record<string, unknown>): AccountRow => ({
      name: nameFromSql(r.name),
      host: nameFromSql(r.host),
      lastSeen: String(r.last_seen),
    });
    const columns = "CAST(name AS BLOB) AS name, CAST(host AS BLOB) AS host, last_seen";
    if (all) {
      return (this.#db.prepare(
        `SELECT ${columns} FROM Accounts WHERE last_seen IS NOT NULL`,
      ).all() as Record<string, unknown>[]).map(map);
    }
    const get = this.#db.prepare(
      `SELECT ${columns} FROM Accounts WHERE name = CAST(? AS TEXT) AND host = CAST(? AS TEXT)`,
    );
    return this.changedLogins.map(([n, h]) =>
      map(get.get(sqlName(n), sqlName(h)) as Record<string, unknown>)
    );
  }

  /** `conntrack_events` rows: all, or only the keys in {@link changedEvents}. */
  eventRows(all: boolean): EventRow[] {
    const map = (r: Record<string, unknown>): EventRow => ({
      kind: String(r.kind),
      name: nameFromSql(r.name),
      host: nameFromSql(r.host),
      lastSeen: String(r.last_seen),
      lastRetcode: Number(r.last_retcode),
      count: Number(r.count),
    });
    const columns =
      "kind, CAST(name AS BLOB) AS name, CAST(host AS BLOB) AS host, last_seen, last_retcode, count";
    if (all) {
      return (this.#db.prepare(`SELECT ${columns} FROM conntrack_events`).all() as Record<
        string,
        unknown
      >[]).map(map);
    }
    const get = this.#db.prepare(
      `SELECT ${columns} FROM conntrack_events WHERE kind = ? AND name = CAST(? AS TEXT) AND host = CAST(? AS TEXT)`,
    );
    return this.changedEvents.map(([k, n, h]) =>
      map(get.get(k, sqlName(n), sqlName(h)) as Record<string, unknown>)
    );
  }

  /** A value of `conntrack_meta`, or undefined. */
  meta(key: string): string | undefined {
    const row = this.#db.prepare("SELECT value FROM conntrack_meta WHERE key = ?").get(key) as
      | { value: string }
      | undefined;
    return row?.value;
  }

  /** Sets a value of `conntrack_meta` (inside the run's transaction). */
  setMeta(key: string, value: string): void {
    this.#changed = true;
    this.#db.prepare("INSERT OR REPLACE INTO conntrack_meta (key, value) VALUES (?, ?)").run(
      key,
      value,
    );
  }

  /**
   * Commits the run and closes the database; a run that changed nothing ends without writing
   * (no journal, no fsync).
   */
  commit(): void {
    // A run that found nothing new leaves the file alone: no journal, no fsync.
    this.#db.exec(this.#changed ? "COMMIT" : "ROLLBACK");
    this.#db.close();
  }

  /** Rolls back and closes (on any failure). */
  rollback(): void {
    try {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
    } finally {
      this.#db.close();
    }
  }
}
