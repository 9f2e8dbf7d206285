/**
 * The unused-accounts report, as data: every account of the server with its last successful
 * login, failed logins and a status, plus the recorded logins that belong to no account.
 *
 * Pure: the caller reads `mysql.user` and the conntrack data; {@link buildReport} attributes
 * each recorded (name, client host) to the most specific account of that user whose host
 * pattern matches ({@link bestAccount}), as the server itself would have done at login.
 * @module
 */
import { accountKey } from "../db/accounts.ts";
import type { FailedRecord, SeenRecord } from "../shared/recorded.ts";
import { parseStoredTime } from "../time/tz.ts";
import { bestAccount } from "./host_match.ts";

/** One row of `mysql.user`. */
export interface ServerAccount {
  user: string;
  host: string;
  /** `ACCOUNT LOCK` in effect; null when the server does not say. */
  locked: boolean | null;
}

/** Where a login came from and when, as stored. */
export interface ClientSeen {
  host: string;
  lastSeen: string;
}

/** "never seen", "unused" (no login for at least the threshold) or "active". */
export type AccountStatus = "never seen" | "unused" | "active";

/** One account in the report. */
export interface AccountLine {
  user: string;
  host: string;
  locked: boolean | null;
  status: AccountStatus;
  /** Latest successful login over all client hosts attributed to the account, as stored. */
  lastSeen: string | null;
  /** Seconds since the Unix epoch of `lastSeen`. */
  lastSeenEpoch: number | null;
  /** Whole days from `lastSeen` to the report time. */
  idleDays: number | null;
  /** Client hosts attributed to this account, latest login first. */
  clients: ClientSeen[];
  failedCount: number;
  failedLast: string | null;
}

/** Why a record belongs to no account. */
export type UnmatchedReason = "no account of this user" | "no host pattern of this user matches";

/** Recorded logins (successful or failed) of a (name, client host) that matches no account. */
export interface UnmatchedLine {
  name: string;
  host: string;
  reason: UnmatchedReason;
  lastSeen: string | null;
  failedCount: number;
  failedLast: string | null;
}

/** The whole report. */
export interface Report {
  /** When the report was made (ms since the epoch). */
  now: number;
  unusedDays: number;
  accounts: AccountLine[];
  unmatched: UnmatchedLine[];
}

const DAY_MS = 86_400_000;

/** Instant of a stored time; unreadable text sorts as oldest. */
function instantOf(text: string): number {
  return parseStoredTime(text) ?? -Infinity;
}

function later(a: string | null, b: string): string {
  return a === null || instantOf(b) > instantOf(a) ? b : a;
}

/** The line of an account before any record is attributed to it. */
function neverSeen(a: ServerAccount): AccountLine {
  return {
    user: a.user,
    host: a.host,
    locked: a.locked,
    status: "never seen",
    lastSeen: null,
    lastSeenEpoch: null,
    idleDays: null,
    clients: [],
    failedCount: 0,
    failedLast: null,
  };
}

/**
 * Completes an account's line once every record is attributed: clients latest first, and from
 * the latest login the idle days and the status.
 */
function settleLine(line: AccountLine, options: { now: number; unusedDays: number }): void {
  line.clients.sort((a, b) => instantOf(b.lastSeen) - instantOf(a.lastSeen));
  if (line.lastSeen === null) return;
  const at = parseStoredTime(line.lastSeen);
  if (at === undefined) {
    line.status = "active"; // unreadable time: shown as stored, never called unused
    return;
  }
  line.lastSeenEpoch = Math.floor(at / 1000);
  line.idleDays = Math.max(0, Math.floor((options.now - at) / DAY_MS));
  line.status = options.now - at >= options.unusedDays * DAY_MS ? "unused" : "active";
}

/** Builds the report for `accounts` from the recorded logins; `now` in ms. */
export function buildReport(
  accounts: readonly ServerAccount[],
  seen: readonly SeenRecord[],
  failed: readonly FailedRecord[],
  options: { now: number; unusedDays: number },
): Report {
  const hostsOf = new Map<string, string[]>();
  const lines = new Map<string, AccountLine>();
  for (const a of accounts) {
    const list = hostsOf.get(a.user) ?? [];
    list.push(a.host);
    hostsOf.set(a.user, list);
    lines.set(accountKey(a.user, a.host), neverSeen(a));
  }
  const unmatched = new Map<string, UnmatchedLine>();
  const target = (name: string, host: string): AccountLine | UnmatchedLine => {
    const patterns = hostsOf.get(name);
    const pattern = patterns ? bestAccount(patterns, host) : undefined;
    if (pattern !== undefined) return lines.get(accountKey(name, pattern))!;
    const k = accountKey(name, host);
    let u = unmatched.get(k);
    if (!u) {
      u = {
        name,
        host,
        reason: patterns ? "no host pattern of this user matches" : "no account of this user",
        lastSeen: null,
        failedCount: 0,
        failedLast: null,
      };
      unmatched.set(k, u);
    }
    return u;
  };
  for (const s of seen) {
    const t = target(s.name, s.host);
    t.lastSeen = later(t.lastSeen, s.lastSeen);
    if ("clients" in t) t.clients.push({ host: s.host, lastSeen: s.lastSeen });
  }
  for (const f of failed) {
    const t = target(f.name, f.host);
    t.failedCount += f.count;
    t.failedLast = later(t.failedLast, f.lastSeen);
  }
  for (const line of lines.values()) settleLine(line, options);
  const byName = <T extends { host: string }>(name: (x: T) => string) => (a: T, b: T) =>
    compare(name(a), name(b)) || compare(a.host, b.host);
  return {
    now: options.now,
    unusedDays: options.unusedDays,
    accounts: [...lines.values()].sort(byName((a) => a.user)),
    unmatched: [...unmatched.values()].sort(byName((u) => u.name)),
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
