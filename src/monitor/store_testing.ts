/**
 * Helpers for tests of the state store's users (nothing in production imports this): a store in
 * a fresh temporary directory, the store's writes with some of them replaced (the seam a test
 * uses to fail a write as a full disk would), and one cycle's enforce and record steps on the
 * in-memory server.
 * @module
 */
import type { HardAction, HardGrace } from "../config/enforcement.ts";
import type { UserLimit } from "../config/search_user.ts";
import { parseVersion } from "../db/flavour.ts";
import { enforce } from "./cycle.ts";
import type { MemoryServer } from "./memory_server.ts";
import { record } from "./record.ts";
import { StateStore, type StateWrites } from "./store.ts";

/** Server id of {@link memoryCycle}. */
export const MEMORY_ID = "db1";

/** Settings of {@link memoryCycle} besides the users and their usage. */
export interface MemoryCycleOptions {
  /** Where the writes go (default the store itself). */
  writes?: StateWrites;
  /** The cycle's unix time (default 1000). */
  now?: number;
  grace?: HardGrace;
  action?: HardAction;
}

/**
 * One cycle's enforce and record steps on server {@link MEMORY_ID}, exactly as the monitor runs
 * them under the server's lock, at -d 2 with one shard; `usage` is bytes per user.
 */
export async function memoryCycle(
  target: MemoryServer,
  store: StateStore,
  users: UserLimit[],
  usage: Record<string, number>,
  options: MemoryCycleOptions = {},
) {
  const { ctx, outcome } = await enforce({
    id: MEMORY_ID,
    target,
    store,
    writes: options.writes ?? store,
    debug: 2,
    shard: 0,
    shards: 1,
    users,
    allUsers: users,
    protectedUsers: [],
    scan: {
      flavour: parseVersion(await target.version()),
      usage: new Map(Object.entries(usage).map(([u, bytes]) => [u, { bytes, incomplete: [] }])),
      incomplete: new Map(),
    },
    grace: options.grace,
    action: options.action,
    now: options.now ?? 1_000,
  });
  const recorded = await record(ctx, {
    shard: 0,
    users: outcome.users,
    flags: outcome.flags,
    lastSuccess: 1_000,
    lruSize: 100,
  });
  return { ctx, outcome, recorded };
}

/**
 * Runs `fn` with a fresh state directory; each call of `open` closes the stores opened before
 * and opens the store again from disk (as a restart would). Everything is removed afterwards.
 */
export async function withStore(
  fn: (open: () => Promise<StateStore>) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const opened: StateStore[] = [];
  try {
    await fn(async () => {
      opened.forEach((s) => s.close());
      const s = await StateStore.open(dir);
      opened.push(s);
      return s;
    });
  } finally {
    opened.forEach((s) => s.close());
    await Deno.remove(dir, { recursive: true });
  }
}

/** `store`'s writes, except those given in `replaced`. */
export function storeWrites(store: StateStore, replaced: Partial<StateWrites> = {}): StateWrites {
  return {
    begin: (s, shard) => store.begin(s, shard),
    intend: (s, a, v) => store.intend(s, a, v),
    confirm: (s, a, v) => store.confirm(s, a, v),
    abandon: (s, a, v) => store.abandon(s, a, v),
    forget: (s, a) => store.forget(s, a),
    record: (s, shard, c) => store.record(s, shard, c),
    countError: (s, shard) => store.countError(s, shard),
    intendBrake: (s, a, l, v, p) => store.intendBrake(s, a, l, v, p),
    confirmBrake: (s, a, l) => store.confirmBrake(s, a, l),
    abandonBrake: (s, a, l) => store.abandonBrake(s, a, l),
    forgetBrakes: (s, a) => store.forgetBrakes(s, a),
    ...replaced,
  };
}
