/**
 * An in-memory {@link Server} for unit tests of the act and record steps: accounts with lock
 * flags, open sessions and schema sizes held in plain maps, a log of every statement that
 * changed something, and hooks that fail a call before or after it takes effect — a lost answer,
 * a refused statement, a crash between two steps — which a real server cannot be made to do on
 * cue. The real-server tests cover {@link MysqlServer}; nothing in production uses this one.
 * @module
 */
import type { Flavour } from "../db/flavour.ts";
import { accountKey, type AccountTable } from "./accounts.ts";
import type { TableSize } from "./report.ts";
import type { Server } from "./server.ts";
import { largest } from "./top_tables.ts";
import type { Session } from "./sessions.ts";
import type { Usage } from "./usage.ts";

/** One account of a {@link MemoryServer}. */
export interface MemoryAccount {
  user: string;
  host: string;
  locked: boolean;
}

/** A session of a {@link MemoryServer}. */
export interface MemorySession extends Session {
  user: string;
}

/** Hooks around `setLocked`; each may throw to fail the call at that point. */
export interface AlterHooks {
  /** Before the account changes (a throw: the statement never took effect). */
  before?: (user: string, host: string, locked: boolean) => void;
  /** After the account changed (a throw: the statement took effect, its answer is lost). */
  after?: (user: string, host: string, locked: boolean) => void;
}

/** A server error with an SQL state: the statement certainly did not happen. */
export function refused(message: string): Error {
  return Object.assign(new Error(message), { sqlState: "HY000", errno: 1396 });
}

/** A connection error: the answer was lost, the outcome is unknown. */
export function answerLost(message = "Connection lost: The server closed the connection."): Error {
  return Object.assign(new Error(message), { code: "PROTOCOL_CONNECTION_LOST", fatal: true });
}

/** The in-memory server. */
export class MemoryServer implements Server {
  /** The accounts, in creation order. */
  readonly accountList: MemoryAccount[] = [];
  /** Open sessions. */
  readonly sessionList: MemorySession[] = [];
  /** Schema sizes in bytes. */
  readonly sizes = new Map<string, number>();
  /** Tables, for {@link largestTables}. */
  readonly tableList: TableSize[] = [];
  /** Every change, in order: `lock user@host`, `unlock user@host`, `kill id`. */
  readonly changes: string[] = [];
  /** Hooks around `setLocked`. */
  hooks: AlterHooks = {};
  #nextSession = 100;

  /** Adds an account (unlocked unless said). */
  addAccount(user: string, host: string, locked = false): this {
    this.accountList.push({ user, host, locked });
    return this;
  }

  /** Opens a session of `user` from `host` (as the process list shows it); returns its id. */
  openSession(user: string, host: string): number {
    const id = this.#nextSession++;
    this.sessionList.push({ id, user, host });
    return id;
  }

  /** The lock flag of `user`@`host`; undefined when there is no such account. */
  isLocked(user: string, host: string): boolean | undefined {
    return this.accountList.find((a) => a.user === user && a.host === host)?.locked;
  }

  version(): Promise<string> {
    return Promise.resolve("10.11.6-MariaDB");
  }

  accounts(_flavour: Flavour): Promise<AccountTable> {
    const accounts = new Map<string, { host: string; locked: boolean }[]>();
    for (const a of this.accountList) {
      accounts.set(a.user, [...(accounts.get(a.user) ?? []), { host: a.host, locked: a.locked }]);
    }
    return Promise.resolve({ accounts, roles: new Set<string>(), globalGrowth: new Set() });
  }

  growthGrants(): Promise<[]> {
    return Promise.resolve([]);
  }

  roleGrants(_flavour: Flavour): Promise<[]> {
    return Promise.resolve([]);
  }

  schemas(): Promise<string[]> {
    return Promise.resolve([...this.sizes.keys()]);
  }

  usageOfEverySchema(): Promise<Usage> {
    return this.usageOf([...this.sizes.keys()], this.sizes.size);
  }

  usageOf(schemas: readonly string[], _total: number): Promise<Usage> {
    const usage: Usage = new Map();
    for (const s of schemas) usage.set(s, { bytes: this.sizes.get(s) ?? 0 });
    return Promise.resolve(usage);
  }

  datadir(): Promise<string> {
    return Promise.reject(new Error("an in-memory server has no datadir"));
  }

  largestTables(schemas: readonly string[], limit: number): Promise<TableSize[]> {
    return Promise.resolve(
      largest(this.tableList.filter((t) => schemas.includes(t.schema)), limit),
    );
  }

  setLocked(user: string, host: string, locked: boolean): Promise<void> {
    try {
      this.hooks.before?.(user, host, locked);
      const account = this.accountList.find((a) => a.user === user && a.host === host);
      if (!account) throw refused(`Operation ALTER USER failed for ${accountKey(user, host)}`);
      account.locked = locked;
      this.changes.push(`${locked ? "lock" : "unlock"} ${user}@${host}`);
      this.hooks.after?.(user, host, locked);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  sessions(user: string): Promise<Session[]> {
    return Promise.resolve(
      this.sessionList.filter((s) => s.user === user).map(({ id, host }) => ({ id, host })),
    );
  }

  kill(id: number): Promise<boolean> {
    const i = this.sessionList.findIndex((s) => s.id === id);
    if (i < 0) return Promise.resolve(false);
    this.sessionList.splice(i, 1);
    this.changes.push(`kill ${id}`);
    return Promise.resolve(true);
  }
}
