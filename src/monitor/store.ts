/**
 * The monitor's durable state: one SQLite file per state_dir (`monitor.sqlite`), shared by every
 * shard, by the daemon and by `--once`, keyed by server id and account.
 *
 * - `locks(server, user, host, state)`: accounts this tool locked (`locked`), and intents not yet
 *   confirmed (`locking`: `ACCOUNT LOCK` is about to be or was sent; `unlocking`: the same for
 *   `ACCOUNT UNLOCK`). An intent is committed before the statement goes to the server, and
 *   confirmed after it answered, so a crash at any point leaves a row that the next run resolves
 *   against the server (see plan.ts `resolveIntents`).
 * - `brakes(server, user, host, level, db, …)`: privileges this tool revoked from an account
 *   (`hard_action=readonly`), per object level (`global` = `*.*`, or `db` = the schema pattern
 *   exactly as mysql.db stores it): `privs` were revoked and confirmed; `pending` are those of an
 *   intent not yet confirmed (`revoking`: a REVOKE is about to be or was sent; `restoring`: a
 *   GRANT of `privs` is). Resolved against the server like the lock intents (brake.ts).
 * - `user_flags(server, user)`: the soft-limit warning flag and whether usage was above the hard
 *   limit, per user, with the start of the current stretch above it (`over_since`, unix time)
 *   and its length in scans (`over_scans`), which the grace counts; bounded by lru_size per
 *   server (least recently seen dropped first).
 * - `user_figures(server, user)`: the last reported figures (for prometheus_truncate=0).
 * - `server_status(server, shard)`: failed scans and the last successful scan.
 * - `usage_history(server, user, at, bytes)`: usage samples for the forecast (history.ts).
 *
 * Every write is its own transaction, committed with `synchronous=FULL` in WAL mode, so it is on
 * disk (fsync) when the call returns. All calls are synchronous: no other code of this process
 * runs inside a transaction.
 *
 * The JSON state files of earlier versions (`<id>.json`, `<id>_shard<N>.json`) are imported on
 * first open and renamed to `….json.migrated`.
 * @module
 */
import { DatabaseSync, type SQLOutputValue } from "node:sqlite";
import { errorText, RuntimeError } from "../errors.ts";
import { dirOf } from "../util/path.ts";
import type { UsageSample } from "./forecast.ts";
import { HISTORY_DDL, type HistoryStore, pruneHistory } from "./history.ts";
import type { UserFigures } from "./report.ts";

/** File name of the store inside state_dir. */
export const STORE_FILE = "monitor.sqlite";

/** How long a write waits for another process's write transaction, in milliseconds. */
export const BUSY_TIMEOUT_MS = 10_000;

/** Where a lock record stands. */
export type LockState = "locking" | "locked" | "unlocking";

/** One row of `locks`. */
export interface LockRecord {
  user: string;
  host: string;
  state: LockState;
}

/** What the tool remembers about one user's limits. */
export interface UserFlags {
  /** A soft-limit warning was given and usage has not gone back under since. */
  warned: boolean;
  /** Usage was above the hard limit at the last scan. */
  overHard: boolean;
  /** Unix time (s) of the first scan of the current stretch above the hard limit. */
  overSince?: number;
  /** Consecutive scans above the hard limit. */
  overScans?: number;
}

/** Where a brake record stands (see the module comment). */
export type BrakeState = "revoking" | "revoked" | "restoring";

/** An object level of privileges: `*.*`, or one mysql.db row's schema pattern. */
export type PrivilegeLevel = { global: true } | { global: false; db: string };

/** One row of `brakes`. */
export interface BrakeRecord {
  user: string;
  host: string;
  level: PrivilegeLevel;
  /** Privileges revoked by this tool and confirmed. */
  privs: string[];
  /** Privileges of the unconfirmed intent (empty when `state` is `revoked`). */
  pending: string[];
  state: BrakeState;
}

/** An account: user name and host, both compared byte for byte. */
export interface AccountKey {
  user: string;
  host: string;
}

/**
 * What {@link StateWrites.record} stores at the end of a successful scan. A large cycle is
 * recorded in several parts; the last one carries `lastSuccess`.
 */
export interface CycleRecord {
  /** Flags of the users this process decided about. */
  flags: ReadonlyMap<string, UserFlags>;
  figures: readonly UserFigures[];
  /** Set on the last part: the scan's time, and the flags are then pruned to `lruSize`. */
  lastSuccess?: number;
  /** user_flags rows kept per server. */
  lruSize: number;
}

/**
 * Every write of the act and record steps. This is the seam a test wraps to fail a write (a
 * full disk) or to stop between two steps; {@link StateStore} is the real one.
 */
export interface StateWrites {
  /** Proves the store is writable before any action of the cycle (updates server_status). */
  begin(server: string, shard: number): void;
  /** Commits the intent to lock or unlock `account`; called before the statement is sent. */
  intend(server: string, account: AccountKey, verb: "lock" | "unlock"): void;
  /**
   * The server carried the statements out: `lock` records the accounts as locked by this tool,
   * `unlock` removes their records. One transaction.
   */
  confirm(server: string, accounts: readonly AccountKey[], verb: "lock" | "unlock"): void;
  /** The server refused: a lock intent is dropped, an unlock intent goes back to `locked`. */
  abandon(server: string, account: AccountKey, verb: "lock" | "unlock"): void;
  /** Drops the record of `account` (unlocked or dropped by someone else). */
  forget(server: string, account: AccountKey): void;
  /**
   * Commits the intent to revoke `privs` at `level` from `account` (added to those already
   * revoked there), or to grant back everything revoked there (`restore`; `privs` ignored).
   */
  intendBrake(
    server: string,
    account: AccountKey,
    level: PrivilegeLevel,
    verb: "revoke" | "restore",
    privs: readonly string[],
  ): void;
  /** The server carried the intent out: revoked privileges are recorded, restored ones dropped. */
  confirmBrake(server: string, account: AccountKey, level: PrivilegeLevel): void;
  /** The statement did not happen: the intent is dropped, what was confirmed before stays. */
  abandonBrake(server: string, account: AccountKey, level: PrivilegeLevel): void;
  /** Drops every brake record of `account` (it is gone). */
  forgetBrakes(server: string, account: AccountKey): void;
  /** Stores the flags, figures and success time of a finished scan. */
  record(server: string, shard: number, cycle: CycleRecord): void;
  /** Counts a failed scan; returns the new total. */
  countError(server: string, shard: number): number;
}

/** Counter and time kept per server and shard. */
export interface ServerStatus {
  errorsTotal: number;
  lastSuccess?: number;
}

/** Options for {@link StateStore.open}. */
export interface OpenOptions {
  /** Server ids of the configuration, to tell `<id>_shard<N>.json` from an id with `_shard`. */
  servers?: readonly string[];
  /** Owner for a newly created database file (root preparing files for run_as). */
  owner?: { uid: number; gid: number };
  /** Called for each imported JSON state file. */
  onMigrated?: (file: string, locks: number) => void;
  busyTimeoutMs?: number;
}

const SCHEMA_VERSION = "1";

/** The SQLite state store. */
export class StateStore implements StateWrites, HistoryStore {
  #db: DatabaseSync;
  /** Path of the database file. */
  readonly path: string;

  private constructor(db: DatabaseSync, path: string) {
    this.#db = db;
    this.path = path;
  }

  /**
   * Opens (creating if needed, mode 0600) `<dir>/monitor.sqlite` and imports old JSON state
   * files. The directory must exist (see {@link prepareStateDir}). Throws RuntimeError.
   */
  static async open(dir: string, options: OpenOptions = {}): Promise<StateStore> {
    const path = `${dir}/${STORE_FILE}`;
    try {
      const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
      file.close();
      if (options.owner) await Deno.chown(path, options.owner.uid, options.owner.gid);
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) {
        throw new RuntimeError(`cannot create the state store ${path}: ${errorText(err)}`);
      }
    }
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path, { timeout: options.busyTimeoutMs ?? BUSY_TIMEOUT_MS });
    } catch (err) {
      throw new RuntimeError(`cannot open the state store ${path}: ${errorText(err)}`);
    }
    const store = new StateStore(db, path);
    try {
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = FULL");
      store.#transaction(() => store.#createSchema());
      await store.#migrate(dir, options);
    } catch (err) {
      db.close();
      throw new RuntimeError(`state store ${path}: ${errorText(err)}`);
    }
    return store;
  }

  /** Closes the database (never throws). */
  close(): void {
    try {
      this.#db.close();
    } catch { /* already closed */ }
  }

  #createSchema(): void {
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS monitor_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS locks (
        server TEXT NOT NULL,
        user   TEXT NOT NULL,
        host   TEXT NOT NULL,
        state  TEXT NOT NULL CHECK (state IN ('locking', 'locked', 'unlocking')),
        since  INTEGER NOT NULL,
        PRIMARY KEY (server, user, host)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS user_flags (
        server    TEXT NOT NULL,
        user      TEXT NOT NULL,
        warned    INTEGER NOT NULL,
        over_hard INTEGER NOT NULL,
        seen      INTEGER NOT NULL,
        PRIMARY KEY (server, user)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS user_figures (
        server TEXT NOT NULL,
        user   TEXT NOT NULL,
        usage  INTEGER NOT NULL,
        soft   INTEGER,
        hard   INTEGER NOT NULL,
        locked INTEGER NOT NULL,
        PRIMARY KEY (server, user)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS server_status (
        server       TEXT NOT NULL,
        shard        INTEGER NOT NULL,
        errors_total INTEGER NOT NULL DEFAULT 0,
        last_success INTEGER,
        last_begin   INTEGER,
        PRIMARY KEY (server, shard)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS migrated_files (file TEXT PRIMARY KEY, at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS brakes (
        server  TEXT NOT NULL,
        user    TEXT NOT NULL,
        host    TEXT NOT NULL,
        level   TEXT NOT NULL CHECK (level IN ('global', 'db')),
        db      TEXT NOT NULL,
        privs   TEXT NOT NULL,
        pending TEXT NOT NULL,
        state   TEXT NOT NULL CHECK (state IN ('revoking', 'revoked', 'restoring')),
        since   INTEGER NOT NULL,
        PRIMARY KEY (server, user, host, level, db)
      ) WITHOUT ROWID;
    `);
    const columns = new Set(
      (this.#db.prepare("PRAGMA table_info(user_flags)").all() as { name: string }[]).map((c) =>
        String(c.name)
      ),
    );
    if (!columns.has("over_since")) {
      this.#db.exec("ALTER TABLE user_flags ADD COLUMN over_since INTEGER");
    }
    if (!columns.has("over_scans")) {
      this.#db.exec("ALTER TABLE user_flags ADD COLUMN over_scans INTEGER");
    }
    this.#db.exec(HISTORY_DDL);
    this.#db.prepare("INSERT OR IGNORE INTO monitor_meta (key, value) VALUES ('schema', ?)")
      .run(SCHEMA_VERSION);
  }

  /** Runs `fn` in one write transaction (BEGIN IMMEDIATE … COMMIT, fsynced). */
  #transaction<T>(fn: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    let result: T;
    try {
      result = fn();
    } catch (err) {
      try {
        this.#db.exec("ROLLBACK");
      } catch { /* the transaction is already gone */ }
      throw err;
    }
    try {
      this.#db.exec("COMMIT");
    } catch (err) {
      try {
        this.#db.exec("ROLLBACK");
      } catch { /* the transaction is already gone */ }
      throw err;
    }
    return result;
  }

  /** Lock records and open intents of `server`. */
  locks(server: string): LockRecord[] {
    return (this.#db.prepare("SELECT user, host, state FROM locks WHERE server = ?").all(
      server,
    ) as { user: string; host: string; state: LockState }[]).map((r) => ({
      user: String(r.user),
      host: String(r.host),
      state: r.state,
    }));
  }

  /** Flags of `server`'s users. */
  flags(server: string): Map<string, UserFlags> {
    const rows = this.#db.prepare(
      "SELECT user, warned, over_hard, over_since, over_scans FROM user_flags WHERE server = ?",
    ).all(server);
    return new Map(
      rows.map((r) => [String(r.user), {
        warned: !!r.warned,
        overHard: !!r.over_hard,
        ...(r.over_since === null ? {} : { overSince: Number(r.over_since) }),
        ...(r.over_scans === null ? {} : { overScans: Number(r.over_scans) }),
      }]),
    );
  }

  /** Brake records and open brake intents of `server`. */
  brakes(server: string): BrakeRecord[] {
    const rows = this.#db.prepare(
      "SELECT user, host, level, db, privs, pending, state FROM brakes WHERE server = ?",
    ).all(server);
    const list = (text: SQLOutputValue) => text === "" ? [] : String(text).split(",");
    return rows.map((r) => ({
      user: String(r.user),
      host: String(r.host),
      level: r.level === "global" ? { global: true } : { global: false, db: String(r.db) },
      privs: list(r.privs),
      pending: list(r.pending),
      state: r.state as BrakeState,
    }));
  }

  /** Last stored figures of the users in `users` on `server`, in the order of `users`. */
  figures(server: string, users: readonly string[]): UserFigures[] {
    const rows = this.#db.prepare(
      "SELECT user, usage, soft, hard, locked FROM user_figures WHERE server = ?",
    ).all(server) as {
      user: string;
      usage: number;
      soft: number | null;
      hard: number;
      locked: number;
    }[];
    const byUser = new Map(rows.map((r) => [String(r.user), r]));
    return users.flatMap((user) => {
      const r = byUser.get(user);
      return r
        ? [{
          user,
          usage: Number(r.usage),
          soft: r.soft === null ? undefined : Number(r.soft),
          hard: Number(r.hard),
          locked: !!r.locked,
        }]
        : [];
    });
  }

  /** Error counter and last success of `server` as seen by `shard`. */
  status(server: string, shard: number): ServerStatus {
    const row = this.#db.prepare(
      "SELECT errors_total, last_success FROM server_status WHERE server = ? AND shard = ?",
    ).get(server, shard) as { errors_total: number; last_success: number | null } | undefined;
    return {
      errorsTotal: Number(row?.errors_total ?? 0),
      lastSuccess: row?.last_success == null ? undefined : Number(row.last_success),
    };
  }

  #now(): number {
    return Math.floor(Date.now() / 1000);
  }

  begin(server: string, shard: number): void {
    this.#transaction(() =>
      this.#db.prepare(
        `INSERT INTO server_status (server, shard, last_begin) VALUES (?, ?, ?)
         ON CONFLICT (server, shard) DO UPDATE SET last_begin = excluded.last_begin`,
      ).run(server, shard, this.#now())
    );
  }

  intend(server: string, account: AccountKey, verb: "lock" | "unlock"): void {
    this.#transaction(() =>
      this.#db.prepare(
        `INSERT INTO locks (server, user, host, state, since) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (server, user, host) DO UPDATE SET state = excluded.state, since = excluded.since`,
      ).run(
        server,
        account.user,
        account.host,
        verb === "lock" ? "locking" : "unlocking",
        this.#now(),
      )
    );
  }

  confirm(server: string, accounts: readonly AccountKey[], verb: "lock" | "unlock"): void {
    if (accounts.length === 0) return;
    this.#transaction(() => {
      const stmt = verb === "lock"
        ? this.#db.prepare(
          `INSERT INTO locks (server, user, host, state, since) VALUES (?, ?, ?, 'locked', ?)
           ON CONFLICT (server, user, host) DO UPDATE SET state = 'locked', since = excluded.since`,
        )
        : this.#db.prepare("DELETE FROM locks WHERE server = ? AND user = ? AND host = ?");
      for (const a of accounts) {
        if (verb === "lock") stmt.run(server, a.user, a.host, this.#now());
        else stmt.run(server, a.user, a.host);
      }
    });
  }

  abandon(server: string, account: AccountKey, verb: "lock" | "unlock"): void {
    this.#transaction(() => {
      if (verb === "lock") {
        this.#db.prepare(
          "DELETE FROM locks WHERE server = ? AND user = ? AND host = ? AND state = 'locking'",
        ).run(server, account.user, account.host);
      } else {
        this.#db.prepare(
          "UPDATE locks SET state = 'locked' WHERE server = ? AND user = ? AND host = ?",
        ).run(server, account.user, account.host);
      }
    });
  }

  forget(server: string, account: AccountKey): void {
    this.#dropAccount("locks", server, account);
  }

  /** Deletes every row of `account` on `server` from `table`, in a transaction. */
  #dropAccount(table: "locks" | "brakes", server: string, account: AccountKey): void {
    this.#transaction(() =>
      this.#db.prepare(`DELETE FROM ${table} WHERE server = ? AND user = ? AND host = ?`).run(
        server,
        account.user,
        account.host,
      )
    );
  }

  /** The key columns of a brake row: server, user, host, level, db. */
  #brakeKey(server: string, account: AccountKey, level: PrivilegeLevel): string[] {
    return [server, account.user, account.host, level.global ? "global" : "db", levelDb(level)];
  }

  intendBrake(
    ...[server, account, level, verb, privs]: Parameters<StateWrites["intendBrake"]>
  ): void {
    const key = this.#brakeKey(server, account, level);
    this.#transaction(() => {
      if (verb === "revoke") {
        this.#db.prepare(
          `INSERT INTO brakes (server, user, host, level, db, privs, pending, state, since)
           VALUES (?, ?, ?, ?, ?, '', ?, 'revoking', ?)
           ON CONFLICT (server, user, host, level, db) DO UPDATE SET pending = excluded.pending,
             state = 'revoking'`,
        ).run(...key, privs.join(","), this.#now());
      } else {
        const changed = this.#db.prepare(
          `UPDATE brakes SET pending = privs, state = 'restoring'
            WHERE server = ? AND user = ? AND host = ? AND level = ? AND db = ?`,
        ).run(...key);
        if (Number(changed.changes) !== 1) throw new RuntimeError("no such brake record");
      }
    });
  }

  confirmBrake(server: string, account: AccountKey, level: PrivilegeLevel): void {
    const key = this.#brakeKey(server, account, level);
    this.#transaction(() => {
      const row = this.#db.prepare(
        `SELECT privs, pending, state FROM brakes
          WHERE server = ? AND user = ? AND host = ? AND level = ? AND db = ?`,
      ).get(...key) as { privs: string; pending: string; state: BrakeState } | undefined;
      if (!row) return;
      if (row.state === "restoring") {
        this.#db.prepare(
          "DELETE FROM brakes WHERE server = ? AND user = ? AND host = ? AND level = ? AND db = ?",
        ).run(...key);
        return;
      }
      const privs = new Set([row.privs, row.pending].flatMap((t) => t === "" ? [] : t.split(",")));
      this.#db.prepare(
        `UPDATE brakes SET privs = ?, pending = '', state = 'revoked'
          WHERE server = ? AND user = ? AND host = ? AND level = ? AND db = ?`,
      ).run([...privs].join(","), ...key);
    });
  }

  abandonBrake(server: string, account: AccountKey, level: PrivilegeLevel): void {
    const key = this.#brakeKey(server, account, level);
    this.#transaction(() => {
      this.#db.prepare(
        `DELETE FROM brakes WHERE server = ? AND user = ? AND host = ? AND level = ? AND db = ?
           AND privs = ''`,
      ).run(...key);
      this.#db.prepare(
        `UPDATE brakes SET pending = '', state = 'revoked'
          WHERE server = ? AND user = ? AND host = ? AND level = ? AND db = ?`,
      ).run(...key);
    });
  }

  forgetBrakes(server: string, account: AccountKey): void {
    this.#dropAccount("brakes", server, account);
  }

  record(server: string, shard: number, cycle: CycleRecord): void {
    const seen = Date.now();
    this.#transaction(() => {
      const db = this.#db;
      const setFlags = db.prepare(
        `INSERT INTO user_flags (server, user, warned, over_hard, seen, over_since, over_scans)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (server, user) DO UPDATE SET warned = excluded.warned,
           over_hard = excluded.over_hard, seen = excluded.seen,
           over_since = excluded.over_since, over_scans = excluded.over_scans`,
      );
      const dropFlags = db.prepare("DELETE FROM user_flags WHERE server = ? AND user = ?");
      for (const [user, f] of cycle.flags) {
        if (f.warned || f.overHard) {
          setFlags.run(
            server,
            user,
            +f.warned,
            +f.overHard,
            seen,
            f.overHard ? f.overSince ?? null : null,
            f.overHard ? f.overScans ?? null : null,
          );
        } else dropFlags.run(server, user);
      }
      const setFigures = db.prepare(
        `INSERT INTO user_figures (server, user, usage, soft, hard, locked) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (server, user) DO UPDATE SET usage = excluded.usage, soft = excluded.soft,
           hard = excluded.hard, locked = excluded.locked`,
      );
      for (const u of cycle.figures) {
        setFigures.run(server, u.user, u.usage, u.soft ?? null, u.hard, +u.locked);
      }
      if (cycle.lastSuccess === undefined) return;
      db.prepare(
        `DELETE FROM user_flags WHERE server = ? AND user NOT IN (
           SELECT user FROM user_flags WHERE server = ? ORDER BY seen DESC LIMIT ?)`,
      ).run(server, server, cycle.lruSize);
      db.prepare(
        `INSERT INTO server_status (server, shard, last_success) VALUES (?, ?, ?)
         ON CONFLICT (server, shard) DO UPDATE SET last_success = excluded.last_success`,
      ).run(server, shard, cycle.lastSuccess);
    });
  }

  countError(server: string, shard: number): number {
    return this.#transaction(() => {
      this.#db.prepare(
        `INSERT INTO server_status (server, shard, errors_total) VALUES (?, ?, 1)
         ON CONFLICT (server, shard) DO UPDATE SET errors_total = errors_total + 1`,
      ).run(server, shard);
      return this.status(server, shard).errorsTotal;
    });
  }

  /** Usage samples of `users` on `server` taken at or after `since` (ms), oldest first. */
  history(server: string, users: readonly string[], since: number): Map<string, UsageSample[]> {
    const stmt = this.#db.prepare(
      "SELECT at, bytes FROM usage_history WHERE server = ? AND user = ? AND at >= ? ORDER BY at",
    );
    const out = new Map<string, UsageSample[]>();
    for (const user of users) {
      const rows = stmt.all(server, user, since) as { at: number; bytes: number }[];
      out.set(user, rows.map((r) => ({ at: Number(r.at), bytes: Number(r.bytes) })));
    }
    return out;
  }

  addHistory(server: string, samples: ReadonlyMap<string, UsageSample>, now: number): void {
    this.#transaction(() => {
      const add = this.#db.prepare(
        "INSERT OR REPLACE INTO usage_history (server, user, at, bytes) VALUES (?, ?, ?, ?)",
      );
      for (const [user, s] of samples) add.run(server, user, s.at, s.bytes);
      pruneHistory(this.#db, server, [...samples.keys()], now);
    });
  }

  /** Imports `<id>.json` / `<id>_shard<N>.json` state files once, then renames them. */
  async #migrate(dir: string, options: OpenOptions): Promise<void> {
    const files: string[] = [];
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.endsWith(".json")) files.push(entry.name);
    }
    files.sort();
    const known = new Set(options.servers ?? []);
    for (const name of files) {
      const parsed = parseStateFileName(name, known);
      if (!parsed) continue;
      const path = `${dir}/${name}`;
      const text = await Deno.readTextFile(path);
      let json: OldState;
      try {
        json = JSON.parse(text);
      } catch (err) {
        if (!(err instanceof SyntaxError)) throw err;
        throw new RuntimeError(
          `old state file ${path} is not valid JSON; move it away to start afresh`,
          { cause: err },
        );
      }
      const locks = this.#transaction(() => {
        const done = this.#db.prepare("SELECT 1 FROM migrated_files WHERE file = ?").get(name);
        if (done) return -1;
        const n = this.#importOld(parsed.server, parsed.shard, json);
        this.#db.prepare("INSERT INTO migrated_files (file, at) VALUES (?, ?)").run(
          name,
          this.#now(),
        );
        return n;
      });
      await Deno.rename(path, `${path}.migrated`);
      if (locks >= 0) options.onMigrated?.(path, locks);
    }
  }

  #importOld(server: string, shard: number, json: OldState): number {
    const db = this.#db;
    let locks = 0;
    const lock = db.prepare(
      `INSERT OR IGNORE INTO locks (server, user, host, state, since) VALUES (?, ?, ?, 'locked', ?)`,
    );
    const flag = db.prepare(
      `INSERT OR IGNORE INTO user_flags (server, user, warned, over_hard, seen) VALUES (?, ?, ?, ?, ?)`,
    );
    for (const entry of Array.isArray(json.users) ? json.users : []) {
      if (!Array.isArray(entry) || typeof entry[0] !== "string") continue;
      const [user, s] = entry as [string, OldUserState];
      for (const host of Array.isArray(s?.lockedByUs) ? s.lockedByUs : []) {
        lock.run(server, user, String(host), this.#now());
        locks++;
      }
      if (s?.warned || s?.overHard) flag.run(server, user, +!!s.warned, +!!s.overHard, 0);
    }
    db.prepare(
      `INSERT INTO server_status (server, shard, errors_total, last_success) VALUES (?, ?, ?, ?)
       ON CONFLICT (server, shard) DO UPDATE SET errors_total = errors_total + excluded.errors_total,
         last_success = COALESCE(last_success, excluded.last_success)`,
    ).run(
      server,
      shard,
      Number(json.errorsTotal) || 0,
      typeof json.lastSuccess === "number" ? json.lastSuccess : null,
    );
    const figure = db.prepare(
      `INSERT OR IGNORE INTO user_figures (server, user, usage, soft, hard, locked) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    for (const u of Array.isArray(json.lastUsers) ? json.lastUsers : []) {
      if (typeof u?.user !== "string" || !Number.isFinite(u.usage) || !Number.isFinite(u.hard)) {
        continue;
      }
      figure.run(
        server,
        u.user,
        Number(u.usage),
        Number.isFinite(u.soft) ? Number(u.soft) : null,
        Number(u.hard),
        +!!u.locked,
      );
    }
    return locks;
  }
}

/** The `db` column of a brake row: the schema pattern, or "" for `*.*`. */
function levelDb(level: PrivilegeLevel): string {
  return level.global ? "" : level.db;
}

interface OldUserState {
  warned?: boolean;
  overHard?: boolean;
  lockedByUs?: unknown[];
}

interface OldState {
  users?: unknown[];
  errorsTotal?: unknown;
  lastSuccess?: unknown;
  lastUsers?: (Partial<UserFigures> | undefined)[];
}

/**
 * Server id and shard of an old state file name: `<id>.json` (shard 0) or
 * `<id>_shard<N>.json`. A name whose stem is a configured server id is that server's, even when
 * the id itself ends in `_shard<N>`. Undefined for names that are no state file.
 */
export function parseStateFileName(
  name: string,
  servers: ReadonlySet<string>,
): { server: string; shard: number } | undefined {
  const m = /^([A-Za-z0-9_.:-]+)\.json$/.exec(name);
  if (!m) return undefined;
  const stem = m[1];
  if (servers.has(stem)) return { server: stem, shard: 0 };
  const sharded = /^(.+)_shard(\d{1,5})$/.exec(stem);
  if (sharded) return { server: sharded[1], shard: Number(sharded[2]) };
  return { server: stem, shard: 0 };
}

/**
 * Creates state_dir when missing — parents 0755, the directory itself 0700 — and, when `owner`
 * is given (root preparing it for run_as), gives the new directories to that owner. The one
 * place the monitor creates its state directory (the daemon and `--once` both call it).
 */
export async function prepareStateDir(
  dir: string,
  owner?: { uid: number; gid: number },
): Promise<void> {
  const missing: string[] = [];
  for (let d = dir; d !== "/" && d !== "."; d = dirOf(d)) {
    try {
      await Deno.lstat(d);
      break;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      missing.unshift(d);
    }
  }
  for (const d of missing) {
    await Deno.mkdir(d, { mode: d === dir ? 0o700 : 0o755 });
    if (owner) await Deno.chown(d, owner.uid, owner.gid);
  }
}
