/**
 * The plan step (pure): from the scan, the configuration and the state store's records, what to
 * do on one server — finish interrupted intents, decide per user, and clean up after accounts
 * this tool locked that are no longer monitored.
 * @module
 */
import type { UserLimit } from "../config/search_user.ts";
import { type Account, decide, type Decision, type UserState } from "./decide.ts";
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
export interface UserInput {
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
export function planUser(input: UserInput): Decision {
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
