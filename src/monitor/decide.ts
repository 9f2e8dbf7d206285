/**
 * The quota rules, the pure core of the plan step (plan.ts calls {@link decide} per user): usage,
 * limits, the user's accounts as the server reports them, and what this tool remembers → actions.
 *
 * Rules:
 * - Soft limit: one warning when usage goes above it, one notice when it is back at or below.
 * - Hard limit: usage above it locks every matching account that is not locked yet.
 * - Unlock: when usage is below the soft limit (or below 90 % of the hard limit when there is
 *   no separate soft limit), accounts this tool locked are unlocked. Accounts locked by
 *   anybody else are never unlocked, and never recorded as ours.
 * - Protected users are never locked; crossing the hard limit gives a warning about the
 *   configuration instead.
 * - An account recorded as locked by us that is now unlocked or gone was changed by an
 *   administrator: the record is dropped (and it is locked again if still above the limit).
 * - Incomplete usage (a size could not be read) is a lower bound: it can still warn and lock,
 *   but never unlocks nor clears a warning.
 * - Grace (`hard_grace`): the hard action waits until the user has been above the hard limit
 *   without a break for the grace's duration (counted from the first scan that saw it above) or
 *   for that many consecutive scans; meanwhile the decision says when it is due ({@link
 *   Decision.pending}). A grace of 0 acts at the first scan above, as before.
 * - Write-brake (`hard_action=readonly`): instead of locking, every covered account that still
 *   holds a data-growing privilege is braked (its privileges revoked, see brake.ts); braked
 *   accounts are restored below the same threshold as an unlock. A braked account that is gone
 *   is forgotten.
 * @module
 */
import type { HardAction, HardGrace } from "../config/enforcement.ts";

/** An account of the user as found in the server's account table. */
export interface Account {
  host: string;
  locked: boolean;
  /** The account holds a privilege the write-brake revokes (only read when it can matter). */
  writable?: boolean;
}

/** What the tool remembers about one user on one server. */
export interface UserState {
  /** A soft-limit warning was given and usage has not gone back under since. */
  warned: boolean;
  /** Usage was above the hard limit at the last scan. */
  overHard: boolean;
  /** Hosts of the accounts this tool locked and has not unlocked yet. */
  lockedByUs: string[];
  /** Hosts of the accounts this tool put into readonly and has not restored yet. */
  brakedByUs?: string[];
  /** Unix time (s) of the first scan of the current stretch above the hard limit. */
  overSince?: number;
  /** Consecutive scans above the hard limit, this one included. */
  overScans?: number;
}

/** A fresh state for a user never seen before. */
export const EMPTY_STATE: UserState = Object.freeze({
  warned: false,
  overHard: false,
  lockedByUs: [] as string[],
}) as UserState;

/** Everything the decision needs. */
export interface DecisionInput {
  usage: number;
  soft?: number;
  hard: number;
  protected: boolean;
  /** Accounts the limit applies to (all of the user's, or the one named in search_user). */
  accounts: readonly Account[];
  state: UserState;
  /** Usage is only a lower bound: some size could not be read. */
  incomplete?: boolean;
  /** How long to wait above the hard limit before acting (default: not at all). */
  grace?: HardGrace;
  /** What to do above the hard limit (default lock). */
  action?: HardAction;
  /** Unix time (s) of this scan, for the grace. */
  now?: number;
}

/** Something to do or to report. */
export type Action =
  | { kind: "soft_exceeded"; limit: number }
  | { kind: "soft_cleared"; limit: number }
  | { kind: "lock"; host: string; limit: number }
  | { kind: "unlock"; host: string; limit: number }
  | { kind: "protected"; limit: number }
  | { kind: "forget"; host: string }
  | { kind: "revoke"; host: string; limit: number }
  | { kind: "restore"; host: string; limit: number }
  | { kind: "forget_brake"; host: string }
  | { kind: "grace_started"; limit: number; due: string }
  | { kind: "grace_ended"; limit: number; outcome: "enforced" | "back under" };

/** Summary for tables and metrics. */
export type Status =
  | "ok"
  | "over soft"
  | "over hard"
  | "locked"
  | "readonly"
  | "admin-locked"
  | "protected";

/** Result of {@link decide}. */
export interface Decision {
  actions: Action[];
  /** State after the warnings; lock records are updated by {@link settle}. */
  state: UserState;
  status: Status;
  /** Above the hard limit, within the grace: when the hard action is due ("locking in 25m"). */
  pending?: string;
}

/** A duration in seconds as people read it: `25m`, `2h 5m`, `3d 4h`, `40s`. */
export function durationText(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.ceil(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

/** Where the grace of a user above the hard limit stands. */
function graceState(
  grace: HardGrace,
  since: number,
  scans: number,
  now: number,
): { elapsed: boolean; due: string } {
  if (grace.value === 0) return { elapsed: true, due: "now" };
  if (grace.unit === "seconds") {
    const left = since + grace.value - now;
    return { elapsed: left <= 0, due: `in ${durationText(left)}` };
  }
  const left = grace.value - scans;
  return { elapsed: left <= 0, due: `after ${left} more scan${left === 1 ? "" : "s"}` };
}

/** Without a soft limit (or with one not below hard), the unlock threshold as a part of hard. */
export const UNLOCK_FRACTION_OF_HARD = 0.9;

/** Usage below which accounts locked by the tool are unlocked. */
export function unlockThreshold(soft: number | undefined, hard: number): number {
  return soft !== undefined && soft < hard ? soft : Math.floor(hard * UNLOCK_FRACTION_OF_HARD);
}

/**
 * The hosts this tool locked (`ours`) or put in readonly (`braked`) that still are; a forget
 * action is added to `actions` for each one someone else unlocked or dropped.
 */
function stillOurs(
  state: DecisionInput["state"],
  accounts: DecisionInput["accounts"],
  actions: Action[],
): { ours: Set<string>; braked: Set<string> } {
  const byHost = new Map(accounts.map((a) => [a.host, a]));
  const ours = new Set<string>();
  for (const host of state.lockedByUs) {
    const account = byHost.get(host);
    if (account?.locked) ours.add(host);
    else actions.push({ kind: "forget", host });
  }
  const braked = new Set<string>();
  for (const host of state.brakedByUs ?? []) {
    if (byHost.has(host)) braked.add(host);
    else actions.push({ kind: "forget_brake", host });
  }
  return { ours, braked };
}

/**
 * The grace clock: runs while above the hard limit; a lower-bound figure (an incomplete scan)
 * below it neither stops nor advances it.
 */
function graceClock(
  input: DecisionInput,
  overHard: boolean,
  now: number,
): { overSince?: number; overScans?: number; overHardAfter: boolean } {
  const { state } = input;
  if (overHard) {
    const continued = state.overHard && state.overSince !== undefined;
    return {
      overSince: continued ? state.overSince : now,
      overScans: continued ? (state.overScans ?? 0) + 1 : 1,
      overHardAfter: true,
    };
  }
  if (input.incomplete && state.overHard) {
    return { overSince: state.overSince, overScans: state.overScans, overHardAfter: true };
  }
  return { overHardAfter: false };
}

/** The user's status once `actions` are done. */
function statusOf(
  actions: readonly Action[],
  accounts: DecisionInput["accounts"],
  user: {
    ours: ReadonlySet<string>;
    braked: ReadonlySet<string>;
    overHard: boolean;
    overSoft: boolean;
    protected: boolean;
  },
): Status {
  const { ours, braked, overHard, overSoft } = user;
  const anyLocked = accounts.some((a) => a.locked);
  if (ours.size > 0 && !actions.some((a) => a.kind === "unlock")) return "locked";
  if (braked.size > 0 && !actions.some((a) => a.kind === "restore")) return "readonly";
  if (anyLocked && ours.size === 0) return "admin-locked";
  if (overHard) return user.protected ? "protected" : "over hard";
  if (overSoft) return "over soft";
  return "ok";
}

/**
 * Over the hard limit and not protected: once the grace is over, the hard action for every
 * account not yet under it; while the grace runs, what is pending.
 */
function hardActions(
  input: DecisionInput,
  clock: { grace: HardGrace; since: number; scans: number; now: number },
  actions: Action[],
): string | undefined {
  const { accounts, hard } = input;
  const { grace, since, scans, now } = clock;
  const readonly = input.action === "readonly";
  const due = accounts.filter((a) => readonly ? a.writable : !a.locked);
  if (due.length === 0) return undefined;
  const g = graceState(grace, since, scans, now);
  if (!g.elapsed) {
    if (scans === 1) actions.push({ kind: "grace_started", limit: hard, due: g.due });
    return `${readonly ? "readonly" : "locking"} ${g.due}`;
  }
  if (grace.value > 0) {
    actions.push({ kind: "grace_ended", limit: hard, outcome: "enforced" });
  }
  for (const a of due) {
    actions.push({ kind: readonly ? "revoke" : "lock", host: a.host, limit: hard });
  }
  return undefined;
}

/** Decides what to do for one user; never performs I/O. */
export function decide(input: DecisionInput): Decision {
  const { usage, soft, hard, accounts, state } = input;
  const actions: Action[] = [];
  const overSoft = soft !== undefined && usage > soft;
  const overHard = usage > hard;
  const unlockBelow = unlockThreshold(soft, hard);
  let warned = state.warned;
  if (overSoft && !warned) {
    actions.push({ kind: "soft_exceeded", limit: soft });
    warned = true;
  } else if (!overSoft && warned && !input.incomplete) {
    actions.push({ kind: "soft_cleared", limit: soft ?? hard });
    warned = false;
  }

  const { ours, braked } = stillOurs(state, accounts, actions);
  const grace = input.grace ?? { unit: "seconds", value: 0 };
  const now = input.now ?? 0;
  const { overSince, overScans, overHardAfter } = graceClock(input, overHard, now);

  let pending: string | undefined;
  if (overHard) {
    if (input.protected) {
      if (!state.overHard) actions.push({ kind: "protected", limit: hard });
    } else {
      pending = hardActions(input, { grace, since: overSince!, scans: overScans!, now }, actions);
    }
  } else if (usage < unlockBelow && !input.incomplete) {
    for (const host of ours) actions.push({ kind: "unlock", host, limit: unlockBelow });
    for (const host of braked) actions.push({ kind: "restore", host, limit: unlockBelow });
  }
  if (
    !overHardAfter && state.overHard && grace.value > 0 && !input.protected &&
    ours.size === 0 && braked.size === 0 && !accounts.some((a) => a.locked)
  ) {
    actions.push({ kind: "grace_ended", limit: hard, outcome: "back under" });
  }

  const status = statusOf(actions, accounts, {
    ours,
    braked,
    overHard,
    overSoft,
    protected: input.protected,
  });
  return {
    actions,
    state: {
      warned,
      overHard: overHardAfter,
      lockedByUs: [...state.lockedByUs],
      brakedByUs: [...(state.brakedByUs ?? [])],
      overSince,
      overScans,
    },
    status,
    pending,
  };
}

/**
 * The state after the actions ran: `done` holds the actions that really happened (a dry run
 * neither warns nor locks, so the warning is still due when enforcement is switched on);
 * `forget` actions always apply.
 */
export function settle(
  state: UserState,
  actions: readonly Action[],
  done: ReadonlySet<Action>,
): UserState {
  const hosts = new Set(state.lockedByUs);
  const braked = new Set(state.brakedByUs ?? []);
  let warned = state.warned;
  for (const a of actions) {
    if (a.kind === "soft_exceeded" && !done.has(a)) warned = false;
    if (a.kind === "soft_cleared" && !done.has(a)) warned = true;
    if (a.kind === "forget") hosts.delete(a.host);
    else if (a.kind === "lock" && done.has(a)) hosts.add(a.host);
    else if (a.kind === "unlock" && done.has(a)) hosts.delete(a.host);
    else if (a.kind === "forget_brake") braked.delete(a.host);
    else if (a.kind === "revoke" && done.has(a)) braked.add(a.host);
    else if (a.kind === "restore" && done.has(a)) braked.delete(a.host);
  }
  return { ...state, warned, lockedByUs: [...hosts].sort(), brakedByUs: [...braked].sort() };
}
