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
import { BRAKE_PRIVILEGES, type HeldPrivileges, type PrivilegeChange, sameLevel } from "./brake.ts";
import type { TableSize } from "./report.ts";
import type { Server } from "./server.ts";
import type { PrivilegeLevel } from "./store.ts";
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
  /** Write-brake privileges held, one entry per account and level. */
  readonly privileges: HeldPrivileges[] = [];
  /** Hooks around `revoke` and `grant` (the same points as {@link hooks}). */
  privilegeHooks: { before?: (verb: string) => void; after?: (verb: string) => void } = {};
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

  /** Gives `user`@`host` `privs` at `level` (a schema pattern, or undefined for `*.*`). */
  grantNow(user: string, host: string, db: string | undefined, privs: string[]): this {
    const level: PrivilegeLevel = db === undefined ? { global: true } : { global: false, db };
    const held = this.#held(user, host, level);
    const all = new Set([...(held?.privs ?? []), ...privs]);
    const ordered = BRAKE_PRIVILEGES.map((p) => p.name).filter((n) => all.has(n));
    if (held) held.privs = ordered;
    else this.privileges.push({ user, host, level, privs: ordered });
    return this;
  }

  /** The privileges `user`@`host` holds at schema `db` (undefined: `*.*`). */
  held(user: string, host: string, db?: string): string[] {
    const level: PrivilegeLevel = db === undefined ? { global: true } : { global: false, db };
    return this.#held(user, host, level)?.privs ?? [];
  }

  #held(user: string, host: string, level: PrivilegeLevel): HeldPrivileges | undefined {
    return this.privileges.find((p) =>
      p.user === user && p.host === host && sameLevel(p.level, level)
    );
  }

  brakePrivileges(_flavour: Flavour): Promise<HeldPrivileges[]> {
    return Promise.resolve(
      this.privileges.filter((p) => p.privs.length > 0).map((p) => ({ ...p, privs: [...p.privs] })),
    );
  }

  revoke(...[user, host, level, privs]: PrivilegeChange) {
    try {
      this.privilegeHooks.before?.("revoke");
      const held = this.#held(user, host, level);
      if (!held) throw refused("There is no such grant defined");
      held.privs = held.privs.filter((p) => !privs.includes(p));
      this.changes.push(`revoke ${privs.join(",")} ${user}@${host}`);
      this.privilegeHooks.after?.("revoke");
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  grant(_flavour: Flavour, ...[user, host, level, privs]: PrivilegeChange): Promise<void> {
    try {
      this.privilegeHooks.before?.("grant");
      if (!this.accountList.some((a) => a.user === user && a.host === host)) {
        throw refused("Can't find any matching row in the user table");
      }
      this.grantNow(user, host, level.global ? undefined : level.db, [...privs]);
      this.changes.push(`grant ${privs.join(",")} ${user}@${host}`);
      this.privilegeHooks.after?.("grant");
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
