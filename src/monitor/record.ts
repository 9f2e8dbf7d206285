/**
 * The record step: after the act step, stores what the cycle learnt in the state store — each
 * user's flags (soft warning given, above the hard limit) and figures, and the time of the
 * successful scan. The intents and confirmations of locks are not written here: the act step
 * commits each before and after its statement (record before act). A large cycle is written in
 * parts so that no transaction holds the event loop long; a failed write is counted on the
 * context like any other state write failure.
 * @module
 */
import { type ActContext, tryWrite } from "./act.ts";
import type { UserReport } from "./report.ts";
import { yieldNow } from "./slice.ts";
import type { UserFlags } from "./store.ts";

/** Users recorded per state store transaction. */
export const RECORD_PART = 500;

/** What {@link record} stores for one server's cycle. */
export interface RecordInput {
  shard: number;
  /** The users' reports from the act step ("no account" users have no figures). */
  users: readonly UserReport[];
  /** The users' flags after the act step. */
  flags: ReadonlyMap<string, UserFlags>;
  /** Unix time (s) of this successful scan. */
  lastSuccess: number;
  /** user_flags rows kept per server. */
  lruSize: number;
}

/**
 * The record step. Returns false when a write failed (then `ctx.stateError` says why, and the
 * parts after it are not written).
 */
export async function record(ctx: ActContext, input: RecordInput): Promise<boolean> {
  const figures = input.users.filter((u) => u.status !== "no account");
  for (let i = 0; i < figures.length || i === 0; i += RECORD_PART) {
    const part = figures.slice(i, i + RECORD_PART);
    const last = i + RECORD_PART >= figures.length;
    const flags = new Map(part.flatMap((u) => {
      const f = input.flags.get(u.user);
      return f ? [[u.user, f] as const] : [];
    }));
    const ok = tryWrite(ctx, () =>
      ctx.writes.record(ctx.server, input.shard, {
        flags,
        figures: part,
        lastSuccess: last ? input.lastSuccess : undefined,
        lruSize: input.lruSize,
      }));
    if (!ok) return false;
    if (last) return true;
    await yieldNow();
  }
  return true;
}
