/**
 * The plan step (pure): from the scan, the configuration and the state store's records, what to
 * do on one server. Entry: {@link plan} — a decision per user of this shard (decide.ts holds the
 * quota rules) and the locks to clean up after accounts no longer monitored. Before it, at the
 * start of the enforcement, {@link resolveIntents} says what to make of intents an interrupted
 * run left (the act step finishes them, then the records are read again for {@link plan}).
 * @module
 */
import type { UserLimit } from "../config/search_user.ts";
import { type Account, decide, type Decision, type UserState } from "./decide.ts";
import type { UserUsage } from "./scan.ts";
import { shardOf } from "./shard.ts";
import type { LockRecord, UserFlags } from "./store.ts";

/** An intent left by an interrupted run, and what the server says now. */
export interface Resolution {
  user: string;
  host: string;
  intent: "lock" | "unlock";
  /** The account's lock flag now ("gone": the account no longer exists). */
  now: "locked" | "unlocked" | "gone";
}

function accountState(
  accounts: ReadonlyMap<string, readonly Account[]>,
  user: string,
  host: string,
): "locked" | "unlocked" | "gone" {
  const a = accounts.get(user)?.find((x) => x.host === host);
  return a === undefined ? "gone" : a.locked ? "locked" : "unlocked";
}

/** Matches every unconfirmed intent in `records` against the accounts as the server has them. */
export function resolveIntents(
  records: readonly LockRecord[],
  accounts: ReadonlyMap<string, readonly Account[]>,
): Resolution[] {
  return records.filter((r) => r.state !== "locked").map((r) => ({
    user: r.user,
    host: r.host,
    intent: r.state === "locking" ? "lock" : "unlock",
    now: accountState(accounts, r.user, r.host),
  }));
}

/** A lock this tool holds on an account that search_user no longer covers. */
export interface Orphan {
  user: string;
  host: string;
  /** unlock: still locked; forget: unlocked or dropped by someone else. */
  kind: "unlock" | "forget";
  /** The host search_user now names for this user; undefined: the user is no longer listed. */
  limitHost?: string;
}

/**
 * Locks recorded as this tool's whose account no longer matches any line of search_user (the
 * user was removed, or `user@host` now names another host), limited to the users this shard owns
 * so that every such lock is handled by exactly one shard.
 */
export function orphanLocks(
  records: readonly LockRecord[],
  limits: readonly UserLimit[],
  accounts: ReadonlyMap<string, readonly Account[]>,
  shard: number,
  shards: number,
): Orphan[] {
  const byUser = new Map(limits.map((l) => [l.user, l]));
  const out: Orphan[] = [];
  for (const r of records) {
    if (r.state !== "locked" || shardOf(r.user, shards) !== shard) continue;
    const limit = byUser.get(r.user);
    if (limit && (limit.host === undefined || limit.host === r.host)) continue;
    const locked = accountState(accounts, r.user, r.host) === "locked";
    out.push({
      user: r.user,
      host: r.host,
      kind: locked ? "unlock" : "forget",
      limitHost: limit?.host,
    });
  }
  return out;
}

/** Everything {@link planUser} needs about one user. */
interface UserInput {
  limit: UserLimit;
  usage: number;
  incomplete: boolean;
  protected: boolean;
  /** The user name's accounts that the limit covers. */
  accounts: readonly Account[];
  flags: UserFlags | undefined;
  /** Hosts recorded as locked by this tool (confirmed locks only). */
  lockedByUs: readonly string[];
}

/** The decision for one user, from its figures, flags and lock records. */
function planUser(input: UserInput): Decision {
  const state: UserState = {
    warned: input.flags?.warned ?? false,
    overHard: input.flags?.overHard ?? false,
    lockedByUs: [...input.lockedByUs].sort(),
  };
  return decide({
    usage: input.usage,
    soft: input.limit.soft,
    hard: input.limit.hard,
    protected: input.protected,
    accounts: input.accounts,
    state,
    incomplete: input.incomplete,
  });
}

/** What {@link plan} needs about one server. */
export interface PlanInput {
  /** This shard's lines of search_user. */
  users: readonly UserLimit[];
  /** Every line of search_user (a lock is an orphan only when no line covers it). */
  allUsers: readonly UserLimit[];
  /** Usage of every monitored user that has an account (from the scan). */
  usage: ReadonlyMap<string, UserUsage>;
  /** Accounts by user name with their lock flags, as read under the server's lock. */
  accounts: ReadonlyMap<string, readonly Account[]>;
  /** Lock records of the server, read after the interrupted intents were finished. */
  records: readonly LockRecord[];
  flags: ReadonlyMap<string, UserFlags>;
  protectedUsers: readonly string[];
  shard: number;
  shards: number;
}

/** A listed user with no (matching) account on the server: reported, not measured. */
export interface AbsentUser {
  kind: "no account";
  limit: UserLimit;
}

/** A measured user and what to do about it. */
export interface PlannedUser {
  kind: "planned";
  limit: UserLimit;
  usage: number;
  /** The accounts the limit covers, with their lock flags. */
  covered: readonly Account[];
  /** Hosts of every account of the user name (sessions of the others are never ended). */
  hosts: readonly string[];
  decision: Decision;
}

/** The plan of one server's cycle. */
export interface Plan {
  users: (AbsentUser | PlannedUser)[];
  orphans: Orphan[];
}

/** The plan step: decisions for every user of this shard, and orphaned locks to release. */
export function plan(input: PlanInput): Plan {
  const ours = new Map<string, string[]>();
  for (const r of input.records) {
    if (r.state === "locked") ours.set(r.user, [...(ours.get(r.user) ?? []), r.host]);
  }
  const users = input.users.map((limit): AbsentUser | PlannedUser => {
    const all = input.accounts.get(limit.user) ?? [];
    const covered = (host: string) => limit.host === undefined || host === limit.host;
    const accounts = all.filter((a) => covered(a.host));
    const usage = input.usage.get(limit.user);
    if (!usage || accounts.length === 0) return { kind: "no account", limit };
    return {
      kind: "planned",
      limit,
      usage: usage.bytes,
      covered: accounts,
      hosts: all.map((a) => a.host),
      decision: planUser({
        limit,
        usage: usage.bytes,
        incomplete: usage.incomplete.length > 0,
        protected: input.protectedUsers.includes(limit.user),
        accounts,
        flags: input.flags.get(limit.user),
        lockedByUs: (ours.get(limit.user) ?? []).filter(covered),
      }),
    };
  });
  return {
    users,
    orphans: orphanLocks(input.records, input.allUsers, input.accounts, input.shard, input.shards),
  };
}
