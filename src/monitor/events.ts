/**
 * The state changes of one server's cycle as webhook events (src/notify/webhook.ts), pure: from
 * the cycle's audit entries (what was done, and its result) and the users' flags before and
 * after it. The publish step queues them.
 *
 * | event           | when                                                                      |
 * | --------------- | ------------------------------------------------------------------------- |
 * | `soft_exceeded` | the soft-limit warning was given (audit `soft_exceeded`, `warned`)        |
 * | `soft_cleared`  | usage went back under it (audit `soft_cleared`, `notified`)               |
 * | `hard_exceeded` | the user's "over the hard limit" flag went from unset to set              |
 * | `locked`        | an `ACCOUNT LOCK` of the user succeeded (audit `lock`, `ok`)              |
 * | `readonly`      | the write privileges were revoked (audit `revoke`, `ok…`)                 |
 * | `released`      | a lock was lifted or privileges restored (audit `unlock`/`restore`, `ok…`) |
 * | `action_failed` | a lock, unlock, revoke or restore failed or was not sent                  |
 *
 * At most one event of each kind per user and cycle (a user with two accounts locked gets one
 * `locked`). A dry run (`-d 0`) sends nothing; `-d 1` sends the soft-limit events and
 * `hard_exceeded` (nothing is locked at that level). A released lock of a user no longer in
 * search_user has no limits: its sizes are 0.
 * @module
 */
import type { HardAction } from "../config/config.ts";
import type { UserLimit } from "../config/search_user.ts";
import type { NotifyEvent, NotifyEventKind } from "../notify/webhook.ts";
import type { AuditEntry } from "./audit_log.ts";
import type { UserReport } from "./report.ts";
import type { UserFlags } from "./store.ts";

/** Audit actions that change an account, and the event their success is. */
const DONE: Readonly<Record<string, NotifyEventKind>> = {
  lock: "locked",
  revoke: "readonly",
  unlock: "released",
  restore: "released",
};

/** What {@link stateChanges} looks at. */
export interface ChangesInput {
  server: string;
  debug: 0 | 1 | 2;
  /** This shard's lines of search_user. */
  limits: readonly UserLimit[];
  /** The server's `hard_action` (for lines without their own). */
  hardAction: HardAction;
  /** The users' reports of this cycle. */
  users: readonly UserReport[];
  /** Flags as they were before the cycle, and after it. */
  before: ReadonlyMap<string, UserFlags>;
  after: ReadonlyMap<string, UserFlags>;
  /** The cycle's audit entries, in order. */
  audits: readonly AuditEntry[];
  /** When the usage was measured, ms since the epoch. */
  time: number;
}

/** The cycle's state changes, in the order they happened (hard_exceeded before the action). */
export function stateChanges(input: ChangesInput): NotifyEvent[] {
  if (input.debug === 0) return [];
  const limits = new Map(input.limits.map((l) => [l.user, l]));
  const reports = new Map(input.users.map((u) => [u.user, u]));
  const seen = new Set<string>();
  const events: NotifyEvent[] = [];
  const add = (kind: NotifyEventKind, user: string) => {
    const key = `${kind}\u0000${user}`;
    if (seen.has(key)) return;
    seen.add(key);
    const limit = limits.get(user);
    const report = reports.get(user);
    events.push({
      event: kind,
      server: input.server,
      user,
      ...(limit?.host === undefined ? {} : { host: limit.host }),
      usageBytes: report?.usage ?? 0,
      ...(limit?.soft === undefined ? {} : { softBytes: limit.soft }),
      hardBytes: limit?.hard ?? 0,
      action: limit?.action ?? input.hardAction,
      time: input.time,
    });
  };
  const crossed = new Set<string>();
  for (const [user, flags] of input.after) {
    if (flags.overHard && !input.before.get(user)?.overHard && limits.has(user)) crossed.add(user);
  }
  for (const a of input.audits) {
    if (crossed.has(a.user) && (a.action === "lock" || a.action === "revoke")) {
      crossed.delete(a.user);
      add("hard_exceeded", a.user);
    }
    if (a.action === "soft_exceeded" && a.result === "warned") add("soft_exceeded", a.user);
    else if (a.action === "soft_cleared" && a.result === "notified") add("soft_cleared", a.user);
    else if (a.action in DONE) {
      // "ok", or "ok: revoked …" / "ok: granted …" for the write-brake.
      if (/^ok\b/.test(a.result)) add(DONE[a.action], a.user);
      else if (/^(failed|not sent)\b/.test(a.result)) add("action_failed", a.user);
    }
  }
  for (const user of crossed) add("hard_exceeded", user);
  return events;
}
