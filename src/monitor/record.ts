/**
 * The record step: after the act step, stores what the cycle learnt in the state store — each
 * user's flags (soft warning given, above the hard limit) and figures, and the time of the
 * successful scan. The intents and confirmations of locks are not written here: the act step
 * commits each before and after its statement (record before act). A large cycle is written in
 * parts so that no transaction holds the event loop long; a failed write is counted on the
 * context like any other state write failure.
 * @module
 */
import type { MonitorConfig } from "../config/config.ts";
import { log } from "../system/log.ts";
import { type ActContext, tryWrite } from "./act.ts";
import type { UserReport } from "./report.ts";
import { yieldNow } from "./slice.ts";
import { prepareStateDir, StateStore, type UserFlags } from "./store.ts";

const logger = log("monitor");

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

/**
 * The state store of one process, shared by all its servers: opened (its directory created)
 * at the first scan — after the daemon dropped root — and opened again when state_dir changes.
 */
export class SharedStore {
  #open?: { dir: string; store: Promise<StateStore> };
  readonly #owner?: { uid: number; gid: number };

  /** `owner`: for files this process creates (root preparing them for run_as). */
  constructor(owner?: { uid: number; gid: number }) {
    this.#owner = owner;
  }

  /** The store of `config.stateDir`; a failed open is tried again at the next call. */
  open(config: MonitorConfig): Promise<StateStore> {
    if (this.#open?.dir !== config.stateDir) {
      const previous = this.#open;
      const owner = this.#owner;
      const store = (async () => {
        if (previous) (await previous.store.catch(() => undefined))?.close();
        await prepareStateDir(config.stateDir, owner);
        return await StateStore.open(config.stateDir, {
          servers: config.servers.map((s) => s.id),
          owner,
          onMigrated: (file, locks) =>
            logger
              .info`imported the old state file ${file} (${locks} lock record(s)) into the state store; renamed it to ${file}.migrated`,
        });
      })();
      this.#open = { dir: config.stateDir, store };
      store.catch(() => {
        if (this.#open?.store === store) this.#open = undefined;
      });
    }
    return this.#open!.store;
  }

  /** Closes the store (never throws). */
  async close(): Promise<void> {
    const open = this.#open;
    this.#open = undefined;
    if (open) (await open.store.catch(() => undefined))?.close();
  }
}
