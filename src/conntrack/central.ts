/**
 * Fleet mode: account rows of many database hosts in one central MariaDB/MySQL database.
 *
 * Tables, keyed by the reporting server's `ServerName`:
 * - `conntrack_accounts(server, name, host, last_seen_ts, last_seen)`: the `Accounts` rows of
 *   each server; `last_seen_ts` is Unix seconds, `last_seen` the text as stored locally.
 * - `conntrack_events(server, kind, name, host, last_seen_ts, last_seen, last_retcode, count)`:
 *   failed logins and other connection events, `count` the total over all runs.
 *
 * Key columns are VARBINARY: compared byte for byte, so `root ` and `root` are two keys (a PAD
 * SPACE collation such as utf8mb4_bin would make them one). Tables made by earlier versions are
 * converted on the first run that may ALTER them.
 *
 * No host can write another host's rows: each host logs in with an account named like its
 * `ServerName`, and BEFORE INSERT/UPDATE triggers refuse a row whose `server` is not the
 * login's user name, a `last_seen_ts` beyond now + {@link FUTURE_SLACK_SEC}, and a `last_seen`
 * text that does not state the same instant (readers still trust the number over the text). Hosts need only SELECT, INSERT and UPDATE; the
 * tables and triggers are made by an administrator ({@link setupStatements}, docs/fleet.md) or
 * by a first run with CREATE and TRIGGER. Every run checks that the guard is in place (a probe
 * row for no host, rolled back) and writes nothing without it.
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
import { nameText as text } from "../db/accounts.ts";
import { connectAddress } from "../db/address.ts";
import type { Db } from "../db/connection.ts";
import { ConfigError, errorText as message, RuntimeError } from "../errors.ts";
import { quoteValue } from "../util/text.ts";
import { FAILED_LOGIN_EVENTS, type Recorded } from "../shared/recorded.ts";
import { parseStoredTime } from "../time/tz.ts";
import { type AccountRow, type EventRow, FUTURE_SLACK_MS } from "./store.ts";

/** Longest name and host the central tables hold (characters); longer rows are skipped. */
export const MAX_NAME_CHARS = 384;
/** Longest client host the central tables hold. */
export const MAX_HOST_CHARS = 255;
/** How far ahead of the central server's clock a `last_seen` may be, in seconds. */
export const FUTURE_SLACK_SEC = FUTURE_SLACK_MS / 1000;
/** What MariaDB's TO_SECONDS (seconds since year 0) says for 1970-01-01 00:00:00. */
const TO_SECONDS_AT_UNIX_EPOCH = 62_167_219_200;

/** Key columns (bytes: up to 4 per character). */
const KEYS: Record<string, number> = {
  server: 64 * 4,
  kind: 16,
  name: MAX_NAME_CHARS * 4,
  host: MAX_HOST_CHARS * 4,
};
const key = (column: string) => `${column} VARBINARY(${KEYS[column]}) NOT NULL`;
const TEXT = "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL";
const TABLES: Record<string, string> = {
  conntrack_accounts: `CREATE TABLE IF NOT EXISTS conntrack_accounts (
  ${key("server")},
  ${key("name")},
  ${key("host")},
  last_seen_ts BIGINT NOT NULL,
  last_seen    VARCHAR(64) ${TEXT},
  PRIMARY KEY (server, name, host)
) ENGINE=InnoDB`,
  conntrack_events: `CREATE TABLE IF NOT EXISTS conntrack_events (
  ${key("server")},
  ${key("kind")},
  ${key("name")},
  ${key("host")},
  last_seen_ts BIGINT NOT NULL,
  last_seen    VARCHAR(64) ${TEXT},
  last_retcode INT NOT NULL,
  count        BIGINT NOT NULL,
  PRIMARY KEY (server, kind, name, host)
) ENGINE=InnoDB`,
};

/** Start of the message of a row refused for belonging to another host. */
const NOT_YOURS = "conntrack: a host may only write the rows of its own ServerName";

/**
 * The body shared by the four guard triggers; `update` adds the check of the old row. The
 * accepted case costs one condition per row (a trigger runs for every row of every upsert); only
 * a refusal works out which message to give.
 */
function guardBody(update: boolean): string {
  // USER() is the login's user@client-host (inside a trigger CURRENT_USER() is the definer);
  // the user name is everything before the last "@".
  const who =
    "CAST(LEFT(USER(), CHAR_LENGTH(USER()) - CHAR_LENGTH(SUBSTRING_INDEX(USER(), '@', -1)) - 1) AS BINARY)";
  const own = update
    ? `NEW.server <=> OLD.server AND NEW.server <=> ${who}`
    : `NEW.server <=> ${who}`;
  const onTime = `NEW.last_seen_ts <= UNIX_TIMESTAMP() + ${FUTURE_SLACK_SEC}`;
  // The instant the text states: wall time (TO_SECONDS counts from year 0) minus its offset.
  const sameTime =
    `NEW.last_seen_ts <=> TO_SECONDS(LEFT(NEW.last_seen, 19)) - ${TO_SECONDS_AT_UNIX_EPOCH}` +
    " - IF(SUBSTRING(NEW.last_seen, 20, 1) = '-', -1, 1)" +
    " * (SUBSTRING(NEW.last_seen, 21, 2) * 3600 + SUBSTRING(NEW.last_seen, 24, 2) * 60)";
  // An update that keeps the time (an upsert bringing nothing newer) was checked when written.
  const timeOk = update
    ? `((NEW.last_seen_ts <=> OLD.last_seen_ts AND NEW.last_seen <=> OLD.last_seen) OR (${onTime} AND ${sameTime}))`
    : `${onTime} AND ${sameTime}`;
  const signal = (text: string) => `SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '${text}'`;
  return `BEGIN
  IF NOT (${own} AND ${timeOk}) THEN
    IF NOT (${own}) THEN
      ${signal(NOT_YOURS)};
    ELSEIF NOT (${onTime}) THEN
      ${signal("conntrack: last_seen is in the future")};
    ELSE
      ${signal("conntrack: last_seen and last_seen_ts do not state the same time")};
    END IF;
  END IF;
END`;
}

/**
 * Statements that create the tables and (re)create the guard triggers, in order. Idempotent:
 * an administrator runs them once (docs/fleet.md prints them), or a run with CREATE and
 * TRIGGER privileges does when the tables are missing.
 */
export function setupStatements(): string[] {
  const out = Object.values(TABLES);
  for (const table of Object.keys(TABLES)) {
    for (const [when, update] of [["INSERT", false], ["UPDATE", true]] as const) {
      const name = `${table}_${when.toLowerCase()}_guard`;
      out.push(`DROP TRIGGER IF EXISTS ${name}`);
      out.push(
        `CREATE TRIGGER ${name} BEFORE ${when} ON ${table} FOR EACH ROW\n${guardBody(update)}`,
      );
    }
  }
  return out;
}

/** Statements converting tables of earlier versions (utf8mb4_bin keys) to VARBINARY keys. */
export function migrationStatements(): string[] {
  return Object.keys(TABLES).map((table) => {
    const columns = Object.keys(KEYS).filter((c) => table === "conntrack_events" || c !== "kind");
    return `ALTER TABLE ${table} ${columns.map((c) => `MODIFY ${key(c)}`).join(", ")}`;
  });
}

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

  /**
   * Makes the tables ready for the rows of `server` (this host's ServerName, which must be the
   * Store account's user name), or throws saying what the administrator must do: creates missing tables with their guard triggers (needs CREATE and TRIGGER), converts
   * PAD SPACE key columns of earlier versions to VARBINARY (needs ALTER), then checks that the
   * guard refuses a row that is not this host's.
   */
  async ensureSchema(server: string): Promise<void> {
    if (this.#store.user !== server) {
      throw new ConfigError(
        `fleet mode: the Store account ${quoteValue(this.#store.user)} must be named like ` +
          `ServerName ${quoteValue(server)}: the central store takes from each host only the ` +
          `rows of the ServerName it logs in as (see docs/fleet.md)`,
      );
    }
    const columns = await this.#db.query<{ t: unknown; c: unknown; type: unknown }>(
      "SELECT TABLE_NAME AS t, COLUMN_NAME AS c, DATA_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()",
    );
    const present = new Set(columns.map((r) => String(r.t)));
    const missing = Object.keys(TABLES).filter((t) => !present.has(t));
    if (missing.length > 0) {
      await this.#admin(
        setupStatements(),
        `create ${missing.join(" and ")} with its guard`,
        "Setting up the central store",
      );
    }
    const old = columns.some((r) =>
      String(r.t) in TABLES && String(r.c) in KEYS && String(r.type).toLowerCase() !== "varbinary"
    );
    if (old) {
      await this.#admin(
        migrationStatements(),
        "convert the key columns to VARBINARY",
        "Upgrading a central store made by an earlier version",
      );
    }
    await this.#checkGuard();
  }

  /** Runs administrator statements; a refusal says which and where to find them. */
  async #admin(statements: string[], what: string, section: string): Promise<void> {
    try {
      for (const sql of statements) await this.#db.query(sql);
    } catch (err) {
      throw new RuntimeError(
        `central store ${this.#store.display}: cannot ${what} (${message(err)}); an ` +
          `administrator must run the statements of docs/fleet.md ("${section}") on the ` +
          `central server`,
      );
    }
  }

  /**
   * Writes a row for no host in a transaction that is rolled back: the guard must refuse it.
   * A store without the guard would let any host overwrite the others' rows.
   */
  async #checkGuard(): Promise<void> {
    let refused = false;
    try {
      await this.#db.query("BEGIN");
      await this.#db.query(
        "INSERT INTO conntrack_accounts (server, name, host, last_seen_ts, last_seen) VALUES ('', '', '', 0, '1970-01-01 00:00:00+00:00')",
      );
    } catch (err) {
      refused = message(err).includes(NOT_YOURS);
      if (!refused) throw new RuntimeError(`central store ${this.#store.display}: ${message(err)}`);
    } finally {
      await this.#db.query("ROLLBACK").catch(() => {});
    }
    if (!refused) {
      throw new RuntimeError(
        `central store ${this.#store.display}: the tables have no guard, so any host could ` +
          `overwrite the others' rows; nothing was sent. An administrator must add the triggers ` +
          `of docs/fleet.md ("Setting up the central store" or, for tables of an earlier ` +
          `version, "Upgrading a central store made by an earlier version")`,
      );
    }
  }

  /**
   * Upserts `rows` for `server`; returns how many were skipped: too long for the table (only
   * names no real account can have: MariaDB user names are at most 128 characters), or with a
   * `last_seen` that is unreadable or beyond now + the slack (the guard would refuse them).
   */
  async pushAccounts(server: string, rows: AccountRow[]): Promise<number> {
    const fit = sendable(rows);
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
    const fit = sendable(rows);
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
  async recorded(server: string): Promise<Recorded> {
    const seen = await this.#rows<
      { name: unknown; host: unknown; last_seen: string; last_seen_ts: unknown }
    >(
      "SELECT name, host, last_seen, last_seen_ts FROM conntrack_accounts WHERE server = ?",
      [server],
    );
    const failed = await this.#rows<
      { name: unknown; host: unknown; count: unknown; last_seen: string; last_seen_ts: unknown }
    >(
      `SELECT name, host, count, last_seen, last_seen_ts FROM conntrack_events
        WHERE server = ? AND ${FAILED_LOGIN_EVENTS}`,
      [server],
    );
    return {
      seen: seen.map((r) => ({
        name: text(r.name),
        host: text(r.host),
        lastSeen: shownTime(r.last_seen, r.last_seen_ts),
      })),
      failed: failed.map((r) => ({
        name: text(r.name),
        host: text(r.host),
        count: Number(r.count),
        lastSeen: shownTime(r.last_seen, r.last_seen_ts),
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

/** The rows the central tables can hold and the guard accepts. */
function sendable<T extends { name: string; host: string; lastSeen: string }>(rows: T[]): T[] {
  const latest = Date.now() + FUTURE_SLACK_MS;
  return rows.filter((r) => {
    const at = STORED.test(r.lastSeen) ? parseStoredTime(r.lastSeen) : undefined;
    return [...r.name].length <= MAX_NAME_CHARS && [...r.host].length <= MAX_HOST_CHARS &&
      at !== undefined && at <= latest;
  });
}

/** The layouts of `last_seen` the guard accepts (this program's and the Go tool's). */
const STORED = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d( [A-Za-z0-9+-]+)?$/;

function epoch(stored: string): number {
  return Math.floor(parseStoredTime(stored)! / 1000);
}

/**
 * The time to show for a central row: its text when that states `last_seen_ts` exactly, else
 * `last_seen_ts` itself in UTC. The number is what the guard bounds; a text the server parsed
 * leniently must not make an account look active forever.
 */
function shownTime(stored: string, ts: unknown): string {
  const seconds = Number(ts);
  if (STORED.test(stored) && parseStoredTime(stored) === seconds * 1000) return stored;
  return new Date(seconds * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, "+00:00");
}
