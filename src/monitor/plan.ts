/**
 * The plan step (pure): from the scan, the configuration and the state store's records, what to
 * do on one server. Entry: {@link plan} — a decision per user of this shard (decide.ts holds the
 * quota rules) and the locks and write-brakes to release on accounts no longer monitored. Before
 * it, at the start of the enforcement, {@link resolveIntents} says what to make of intents an
 * interrupted run left (the act step finishes them, then the records are read again for
 * {@link plan}); {@link resolveBrakes} does the same for the write-brake's intents.
 * @module
 */
import type { HardAction, HardGrace } from "../config/enforcement.ts";
import type { UserLimit } from "../config/search_user.ts";
import { accountKey } from "./accounts.ts";
import { type HeldPrivileges, sameLevel } from "./brake.ts";
import { type Account, decide, type Decision, type UserState } from "./decide.ts";
import type { UserUsage } from "./scan.ts";
import { shardOf } from "./shard.ts";
import type { BrakeRecord, LockRecord, PrivilegeLevel, UserFlags } from "./store.ts";

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

/** A write-brake intent left by an interrupted run, and what the server says now. */
export interface BrakeResolution {
  user: string;
  host: string;
  level: PrivilegeLevel;
  intent: "revoke" | "restore";
  /** The privileges of the intent. */
  privs: string[];
  /**
   * applied: the server shows the intent's outcome (none of the privileges held for a revoke,
   * all of them for a restore); not applied: it does not; gone: the account no longer exists.
   */
  now: "applied" | "not applied" | "gone";
}

/** The write-brake privileges held by each account, keyed by {@link accountKey}. */
export function privilegesByAccount(
  held: readonly HeldPrivileges[],
): Map<string, HeldPrivileges[]> {
  const out = new Map<string, HeldPrivileges[]>();
  for (const h of held) {
    const key = accountKey(h.user, h.host);
    out.set(key, [...(out.get(key) ?? []), h]);
  }
  return out;
}

/**
 * Matches every unconfirmed brake intent against the privileges the server shows now. A
 * REVOKE or GRANT is one statement, all or nothing: a revoke happened when none of its
 * privileges is held at that level any more, a restore when all of them are.
 */
export function resolveBrakes(
  records: readonly BrakeRecord[],
  held: readonly HeldPrivileges[],
  accounts: ReadonlyMap<string, readonly Account[]>,
): BrakeResolution[] {
  const byAccount = privilegesByAccount(held);
  return records.filter((r) => r.state !== "revoked").map((r) => {
    const base = {
      user: r.user,
      host: r.host,
      level: r.level,
      intent: r.state === "revoking" ? "revoke" as const : "restore" as const,
      privs: r.pending,
    };
    if (accountState(accounts, r.user, r.host) === "gone") return { ...base, now: "gone" };
    const at = (byAccount.get(accountKey(r.user, r.host)) ?? []).find((h) =>
      sameLevel(h.level, r.level)
    );
    const has = new Set(at?.privs ?? []);
    const applied = base.intent === "revoke"
      ? r.pending.every((p) => !has.has(p))
      : r.pending.every((p) => has.has(p));
    return { ...base, now: applied ? "applied" : "not applied" };
  });
}

/** An account in readonly by this tool that search_user no longer covers. */
export interface BrakeOrphan {
  user: string;
  host: string;
  /** restore: the account exists; forget: it was dropped. */
  kind: "restore" | "forget";
  /** The host search_user now names for this user; undefined: the user is no longer listed. */
  limitHost?: string;
}

/** What decides whether a recorded account is an orphan: search_user, the accounts, the shard. */
export interface Coverage {
  /** Every line of search_user (all shards). */
  limits: readonly UserLimit[];
  accounts: ReadonlyMap<string, readonly Account[]>;
  shard: number;
  shards: number;
}

/**
 * The accounts of `records` in `state` that no line of search_user covers any longer (the user
 * was removed, or `user@host` now names another host), once each, limited to the users this
 * shard owns so that each is handled by exactly one shard; `kindOf` tells from the account's
 * state on the server what to do with it.
 */
function uncovered<K extends string>(
  records: readonly { user: string; host: string; state: string }[],
  state: string,
  c: Coverage,
  kindOf: (now: ReturnType<typeof accountState>) => K,
): { user: string; host: string; kind: K; limitHost?: string }[] {
  const byUser = new Map(c.limits.map((l) => [l.user, l]));
  const seen = new Set<string>();
  const out: { user: string; host: string; kind: K; limitHost?: string }[] = [];
  for (const r of records) {
    const key = accountKey(r.user, r.host);
    if (r.state !== state || seen.has(key) || shardOf(r.user, c.shards) !== c.shard) continue;
    seen.add(key);
    const limit = byUser.get(r.user);
    if (limit && (limit.host === undefined || limit.host === r.host)) continue;
    const kind = kindOf(accountState(c.accounts, r.user, r.host));
    out.push({ user: r.user, host: r.host, kind, limitHost: limit?.host });
  }
  return out;
}

/** Like {@link orphanLocks}, for accounts this tool put into readonly. */
export function orphanBrakes(records: readonly BrakeRecord[], c: Coverage): BrakeOrphan[] {
  return uncovered(records, "revoked", c, (now) => now === "gone" ? "forget" : "restore");
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
export function orphanLocks(records: readonly LockRecord[], c: Coverage): Orphan[] {
  return uncovered(records, "locked", c, (now) => now === "locked" ? "unlock" : "forget");
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
  /** Hosts recorded as in readonly by this tool (confirmed only). */
  brakedByUs: readonly string[];
  grace: HardGrace;
  action: HardAction;
  now: number;
}

/** The decision for one user, from its figures, flags and lock records. */
function planUser(input: UserInput): Decision {
  const state: UserState = {
    warned: input.flags?.warned ?? false,
    overHard: input.flags?.overHard ?? false,
    lockedByUs: [...input.lockedByUs].sort(),
    brakedByUs: [...input.brakedByUs].sort(),
    overSince: input.flags?.overSince,
    overScans: input.flags?.overScans,
  };
  return decide({
    usage: input.usage,
    soft: input.limit.soft,
    hard: input.limit.hard,
    protected: input.protected,
    accounts: input.accounts,
    state,
    incomplete: input.incomplete,
    grace: input.grace,
    action: input.action,
    now: input.now,
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
  /** Brake records of the server, read after the interrupted intents were finished. */
  brakes: readonly BrakeRecord[];
  /**
   * Write-brake privileges of every account, when they were read (any user with
   * hard_action=readonly, or brake records to restore); undefined: nobody is writable.
   */
  privileges?: readonly HeldPrivileges[];
  /** The server's hard_grace. */
  grace: HardGrace;
  /** The server's hard_action (a search_user line may override it). */
  action: HardAction;
  /** Unix time (s) of this cycle, for the grace. */
  now: number;
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
  /** The hard action that applies to this user. */
  action: HardAction;
  decision: Decision;
}

/** The plan of one server's cycle. */
export interface Plan {
  users: (AbsentUser | PlannedUser)[];
  orphans: Orphan[];
  /** Accounts in readonly by this tool that search_user no longer covers. */
  brakeOrphans: BrakeOrphan[];
}

/** The plan step: decisions for every user of this shard, and orphaned locks to release. */
export function plan(input: PlanInput): Plan {
  const ours = new Map<string, string[]>();
  for (const r of input.records) {
    if (r.state === "locked") ours.set(r.user, [...(ours.get(r.user) ?? []), r.host]);
  }
  const braked = new Map<string, Set<string>>();
  for (const r of input.brakes) {
    if (r.state === "revoked") braked.set(r.user, (braked.get(r.user) ?? new Set()).add(r.host));
  }
  const held = privilegesByAccount(input.privileges ?? []);
  const users = input.users.map((limit): AbsentUser | PlannedUser => {
    const all = input.accounts.get(limit.user) ?? [];
    const covered = (host: string) => limit.host === undefined || host === limit.host;
    const accounts = all.filter((a) => covered(a.host)).map((a) => ({
      ...a,
      writable: (held.get(accountKey(limit.user, a.host)) ?? []).some((h) => h.privs.length > 0),
    }));
    const usage = input.usage.get(limit.user);
    if (!usage || accounts.length === 0) return { kind: "no account", limit };
    const action = limit.action ?? input.action;
    return {
      kind: "planned",
      limit,
      usage: usage.bytes,
      covered: accounts,
      hosts: all.map((a) => a.host),
      action,
      decision: planUser({
        limit,
        usage: usage.bytes,
        incomplete: usage.incomplete.length > 0,
        protected: input.protectedUsers.includes(limit.user),
        accounts,
        flags: input.flags.get(limit.user),
        lockedByUs: (ours.get(limit.user) ?? []).filter(covered),
        brakedByUs: [...(braked.get(limit.user) ?? [])].filter(covered),
        grace: input.grace,
        action,
        now: input.now,
      }),
    };
  });
  const { allUsers: limits, accounts, shard, shards } = input;
  const coverage = { limits, accounts, shard, shards };
  return {
    users,
    orphans: orphanLocks(input.records, coverage),
    brakeOrphans: orphanBrakes(input.brakes, coverage),
  };
}
