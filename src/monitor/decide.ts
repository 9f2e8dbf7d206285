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
 * @module
 */

/** An account of the user as found in the server's account table. */
export interface Account {
  host: string;
  locked: boolean;
}

/** What the tool remembers about one user on one server. */
export interface UserState {
  /** A soft-limit warning was given and usage has not gone back under since. */
  warned: boolean;
  /** Usage was above the hard limit at the last scan. */
  overHard: boolean;
  /** Hosts of the accounts this tool locked and has not unlocked yet. */
  lockedByUs: string[];
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
}

/** Something to do or to report. */
export type Action =
  | { kind: "soft_exceeded"; limit: number }
  | { kind: "soft_cleared"; limit: number }
  | { kind: "lock"; host: string; limit: number }
  | { kind: "unlock"; host: string; limit: number }
  | { kind: "protected"; limit: number }
  | { kind: "forget"; host: string };

/** Summary for tables and metrics. */
export type Status = "ok" | "over soft" | "over hard" | "locked" | "admin-locked" | "protected";

/** Result of {@link decide}. */
export interface Decision {
  actions: Action[];
  /** State after the warnings; lock records are updated by {@link settle}. */
  state: UserState;
  status: Status;
}

/** Without a soft limit (or with one not below hard), the unlock threshold as a part of hard. */
export const UNLOCK_FRACTION_OF_HARD = 0.9;

/** Usage below which accounts locked by the tool are unlocked. */
export function unlockThreshold(soft: number | undefined, hard: number): number {
  return soft !== undefined && soft < hard ? soft : Math.floor(hard * UNLOCK_FRACTION_OF_HARD);
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

  const byHost = new Map(accounts.map((a) => [a.host, a]));
  const ours = new Set<string>();
  for (const host of state.lockedByUs) {
    const account = byHost.get(host);
    if (account?.locked) ours.add(host);
    else actions.push({ kind: "forget", host });
  }

  if (overHard) {
    if (input.protected) {
      if (!state.overHard) actions.push({ kind: "protected", limit: hard });
    } else {
      for (const a of accounts) {
        if (!a.locked) actions.push({ kind: "lock", host: a.host, limit: hard });
      }
    }
  } else if (usage < unlockBelow && !input.incomplete) {
    for (const host of ours) actions.push({ kind: "unlock", host, limit: unlockBelow });
  }

  let status: Status = "ok";
  const anyLocked = accounts.some((a) => a.locked);
  if (ours.size > 0 && !actions.some((a) => a.kind === "unlock")) status = "locked";
  else if (anyLocked && ours.size === 0) status = "admin-locked";
  else if (overHard) status = input.protected ? "protected" : "over hard";
  else if (overSoft) status = "over soft";
  return {
    actions,
    state: { warned, overHard, lockedByUs: [...state.lockedByUs] },
    status,
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
  let warned = state.warned;
  for (const a of actions) {
    if (a.kind === "soft_exceeded" && !done.has(a)) warned = false;
    if (a.kind === "soft_cleared" && !done.has(a)) warned = true;
    if (a.kind === "forget") hosts.delete(a.host);
    else if (a.kind === "lock" && done.has(a)) hosts.add(a.host);
    else if (a.kind === "unlock" && done.has(a)) hosts.delete(a.host);
  }
  return { ...state, warned, lockedByUs: [...hosts].sort() };
}
