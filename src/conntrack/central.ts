/**
 * Fleet mode: account rows of many database hosts in one central MariaDB/MySQL database.
 *
 * Tables (created when missing), keyed by the reporting server's `ServerName`:
 * - `conntrack_accounts(server, name, host, last_seen_ts, last_seen)`: the `Accounts` rows of
 *   each server; `last_seen_ts` is Unix seconds, `last_seen` the text as stored locally.
 * - `conntrack_events(server, kind, name, host, last_seen_ts, last_seen, last_retcode, count)`:
 *   failed logins and other connection events, `count` the total over all runs.
 *
 * Every write is an upsert that can be replayed: `last_seen_ts` only moves forward
 * (GREATEST) and `count` is the local file's running total, not an increment. The run writes
 * here first and commits its local SQLite transaction (checkpoints included) afterwards, so a
 * run killed in between is replayed by the next run with the same or later values, which
 * changes nothing. The assignments are written so that they give the same result whether the
 * server applies them left to right (the default) or simultaneously.
 * @module
 */
import type { CentralStore } from "../config/conntrack_ini.ts";
import { connectAddress } from "../db/address.ts";
import type { Db } from "../db/connection.ts";
import { RuntimeError } from "../errors.ts";
import type { FailedRecord, SeenRecord } from "../report/report.ts";
import { parseStoredTime } from "./tz.ts";
import type { AccountRow, EventRow } from "./store.ts";

/** Longest name and host the central tables hold (characters); longer rows are skipped. */
export const MAX_NAME_CHARS = 384;
/** Longest client host the central tables hold. */
export const MAX_HOST_CHARS = 255;

const TEXT = "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL";
const TABLES: Record<string, string> = {
  conntrack_accounts: `CREATE TABLE IF NOT EXISTS conntrack_accounts (
    server       VARCHAR(64) ${TEXT},
    name         VARCHAR(${MAX_NAME_CHARS}) ${TEXT},
    host         VARCHAR(${MAX_HOST_CHARS}) ${TEXT},
    last_seen_ts BIGINT NOT NULL,
    last_seen    VARCHAR(64) ${TEXT},
    PRIMARY KEY (server, name, host)
  ) ENGINE=InnoDB`,
  conntrack_events: `CREATE TABLE IF NOT EXISTS conntrack_events (
    server       VARCHAR(64) ${TEXT},
    kind         VARCHAR(16) ${TEXT},
    name         VARCHAR(${MAX_NAME_CHARS}) ${TEXT},
    host         VARCHAR(${MAX_HOST_CHARS}) ${TEXT},
    last_seen_ts BIGINT NOT NULL,
    last_seen    VARCHAR(64) ${TEXT},
    last_retcode INT NOT NULL,
    count        BIGINT NOT NULL,
    PRIMARY KEY (server, kind, name, host)
  ) ENGINE=InnoDB`,
};

/** Rows per INSERT statement. */
const BATCH = 500;

/** An open connection to the central database. */
export class Central {
  #db: Db;
  #store: CentralStore;

  private constructor(db: Db, store: CentralStore) {
    this.#db = db;
    this.#store = store;
  }

  /** Connects to the central database named by `Store`. */
  static async open(store: CentralStore): Promise<Central> {
    const db = await connectAddress({ ...store }, `central store ${store.display}`, "Store");
    try {
      await db.query(`USE \`${store.database}\``);
    } catch (err) {
      await db.close();
      throw new RuntimeError(`central store ${store.display}: ${message(err)}`);
    }
    return new Central(db, store);
  }

  /** Creates the tables that are missing (so CREATE is only needed on the first run). */
  async ensureSchema(): Promise<void> {
    const present = new Set(
      (await this.#db.query<{ name: string }>(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()",
      )).map((r) => String(r.name)),
    );
    for (const [name, ddl] of Object.entries(TABLES)) {
      if (!present.has(name)) await this.#run(ddl);
    }
  }

  /**
   * Upserts `rows` for `server`; returns how many were too long for the table and skipped
   * (only names no real account can have: MariaDB user names are at most 128 characters).
   */
  async pushAccounts(server: string, rows: AccountRow[]): Promise<number> {
    const fit = rows.filter(fits);
    for (let i = 0; i < fit.length; i += BATCH) {
      const part = fit.slice(i, i + BATCH);
      await this.#run(
        `INSERT INTO conntrack_accounts (server, name, host, last_seen_ts, last_seen) VALUES ${
          part.map(() => "(?, ?, ?, ?, ?)").join(", ")
        } ON DUPLICATE KEY UPDATE
          last_seen = IF(VALUES(last_seen_ts) >= last_seen_ts, VALUES(last_seen), last_seen),
          last_seen_ts = GREATEST(last_seen_ts, VALUES(last_seen_ts))`,
        part.flatMap((r) => [server, r.name, r.host, epoch(r.lastSeen), r.lastSeen]),
      );
    }
    return rows.length - fit.length;
  }

  /** Upserts event rows (counts are totals) for `server`; returns how many were skipped. */
  async pushEvents(server: string, rows: EventRow[]): Promise<number> {
    const fit = rows.filter(fits);
    for (let i = 0; i < fit.length; i += BATCH) {
      const part = fit.slice(i, i + BATCH);
      await this.#run(
        `INSERT INTO conntrack_events
          (server, kind, name, host, last_seen_ts, last_seen, last_retcode, count) VALUES ${
          part.map(() => "(?, ?, ?, ?, ?, ?, ?, ?)").join(", ")
        } ON DUPLICATE KEY UPDATE
          last_seen = IF(VALUES(last_seen_ts) >= last_seen_ts, VALUES(last_seen), last_seen),
          last_retcode = IF(VALUES(last_seen_ts) >= last_seen_ts, VALUES(last_retcode), last_retcode),
          count = GREATEST(count, VALUES(count)),
          last_seen_ts = GREATEST(last_seen_ts, VALUES(last_seen_ts))`,
        part.flatMap((r) => [
          server,
          r.kind,
          r.name,
          r.host,
          epoch(r.lastSeen),
          r.lastSeen,
          r.lastRetcode,
          r.count,
        ]),
      );
    }
    return rows.length - fit.length;
  }

  /** What `server` reported: successful logins and failed ones, for the report. */
  async recorded(server: string): Promise<{ seen: SeenRecord[]; failed: FailedRecord[] }> {
    const seen = await this.#rows<{ name: string; host: string; last_seen: string }>(
      "SELECT name, host, last_seen FROM conntrack_accounts WHERE server = ?",
      [server],
    );
    const failed = await this.#rows<
      { name: string; host: string; count: unknown; last_seen: string }
    >(
      "SELECT name, host, count, last_seen FROM conntrack_events WHERE server = ? AND (kind = 'failed' OR (kind = 'multiline' AND last_retcode <> 0))",
      [server],
    );
    return {
      seen: seen.map((r) => ({ name: r.name, host: r.host, lastSeen: r.last_seen })),
      failed: failed.map((r) => ({
        name: r.name,
        host: r.host,
        count: Number(r.count),
        lastSeen: r.last_seen,
      })),
    };
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return this.#db.close();
  }

  async #run(sql: string, values: unknown[] = []): Promise<void> {
    await this.#rows(sql, values);
  }

  async #rows<T>(sql: string, values: unknown[] = []): Promise<T[]> {
    try {
      return await this.#db.query<T>(sql, values);
    } catch (err) {
      throw new RuntimeError(`central store ${this.#store.display}: ${message(err)}`);
    }
  }
}

function fits(r: { name: string; host: string }): boolean {
  return [...r.name].length <= MAX_NAME_CHARS && [...r.host].length <= MAX_HOST_CHARS;
}

function epoch(stored: string): number {
  const at = parseStoredTime(stored);
  return at === undefined ? 0 : Math.floor(at / 1000);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
