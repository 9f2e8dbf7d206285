/**
 * What the monitor remembers per server between cycles and restarts: each user's
 * {@link UserState}, the error counter, and the last known per-user figures (used to keep a
 * server's series when it cannot be scanned and prometheus_truncate=0). Stored as JSON in
 * state_dir, one file per server and shard, replaced atomically.
 *
 * User states live in an LRU bounded by lru_size; an entry that records a lock this tool
 * holds is never dropped (otherwise the account could never be unlocked), it moves to a
 * separate set instead.
 * @module
 */
import { writeFileAtomic } from "../system/atomic_file.ts";
import { EMPTY_STATE, type UserState } from "./decide.ts";
import { LruMap } from "./lru.ts";

/** Last reported figures of one user (for prometheus_truncate=0). */
export interface UserFigures {
  user: string;
  usage: number;
  soft?: number;
  hard: number;
  locked: boolean;
}

interface StateJson {
  version: 1;
  users: [string, UserState][];
  errorsTotal: number;
  lastSuccess?: number;
  lastUsers: UserFigures[];
}

function isEmpty(s: UserState): boolean {
  return !s.warned && !s.overHard && s.lockedByUs.length === 0;
}

/** The remembered state of one server (and shard). */
export class ServerState {
  #lru: LruMap<string, UserState>;
  #pinned = new Map<string, UserState>();
  /** Scan failures since the state file was created. */
  errorsTotal = 0;
  /** Unix time (s) of the last successful scan. */
  lastSuccess?: number;
  /** Figures of the last successful scan. */
  lastUsers: UserFigures[] = [];

  constructor(readonly path: string, lruSize: number) {
    this.#lru = new LruMap(lruSize);
  }

  /** The state of `user` (a fresh one when unknown); marks the user as recently seen. */
  get(user: string): UserState {
    return this.#pinned.get(user) ?? this.#lru.get(user) ?? EMPTY_STATE;
  }

  /** Records the state of `user`. */
  set(user: string, state: UserState): void {
    this.#pinned.delete(user);
    this.#lru.delete(user);
    if (isEmpty(state)) return;
    if (state.lockedByUs.length > 0) {
      this.#pinned.set(user, state);
      return;
    }
    this.#lru.set(user, state);
  }

  /** Users with a state, pinned ones first. */
  users(): string[] {
    return [...this.#pinned.keys(), ...this.#lru.entries().map(([k]) => k)];
  }

  /** Reads the state file; a missing file is an empty state. */
  static async load(path: string, lruSize: number): Promise<ServerState> {
    const state = new ServerState(path, lruSize);
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return state;
      throw err;
    }
    let json: StateJson;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`state file ${path} is not valid JSON; move it away to start afresh`);
    }
    for (const [user, s] of json.users ?? []) {
      state.set(user, {
        warned: !!s.warned,
        overHard: !!s.overHard,
        lockedByUs: Array.isArray(s.lockedByUs) ? s.lockedByUs.map(String) : [],
      });
    }
    state.errorsTotal = Number(json.errorsTotal) || 0;
    state.lastSuccess = typeof json.lastSuccess === "number" ? json.lastSuccess : undefined;
    state.lastUsers = Array.isArray(json.lastUsers) ? json.lastUsers : [];
    return state;
  }

  /** Writes the state file atomically (mode 0600: it names accounts). */
  async save(): Promise<void> {
    const json: StateJson = {
      version: 1,
      users: [...this.#pinned.entries(), ...this.#lru.entries()],
      errorsTotal: this.errorsTotal,
      lastSuccess: this.lastSuccess,
      lastUsers: this.lastUsers,
    };
    await writeFileAtomic(this.path, JSON.stringify(json) + "\n", 0o600);
  }
}
