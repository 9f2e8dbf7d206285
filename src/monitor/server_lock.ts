/**
 * The per-server enforcement lock: an exclusive `flock` on `<state_dir>/<server id>.lock`, held
 * from reading the accounts to recording the outcome. The daemon (every shard) and `--once` take
 * the same lock, so two processes never decide about, or change, the accounts of one server at
 * the same time; the kernel drops it when the holder dies, so a crash never blocks the next run.
 * Measuring usage happens before the lock is taken, so shards of one server mostly overlap.
 * @module
 */
import { errorText, RuntimeError } from "../errors.ts";
import { sleep } from "../db/connection.ts";

/** How long a process waits for another one's lock on a server by default, in milliseconds. */
export const LOCK_WAIT_MS = 5 * 60_000;

/** Options for {@link ServerLock.acquire}. */
export interface LockOptions {
  /** Give up when this aborts. */
  signal?: AbortSignal;
  /** Give up after this long; default {@link LOCK_WAIT_MS}. */
  waitMs?: number;
  /** Called once when the lock is found held by another process (before waiting for it). */
  onWait?: (path: string) => void;
  /** Owner for a newly created lock file (root preparing files for run_as). */
  owner?: { uid: number; gid: number };
}

/** A held per-server lock. */
export class ServerLock {
  #file: Deno.FsFile;
  #released = false;

  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /** Path of the lock file of `server` in `stateDir`. */
  static path(stateDir: string, server: string): string {
    return `${stateDir}/${server}.lock`;
  }

  /** Waits for and takes the lock of `server`; throws RuntimeError when it cannot. */
  static async acquire(
    stateDir: string,
    server: string,
    options: LockOptions = {},
  ): Promise<ServerLock> {
    const path = ServerLock.path(stateDir, server);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
    } catch (err) {
      throw new RuntimeError(`cannot open the lock file ${path}: ${errorText(err)}`, {
        cause: err,
      });
    }
    try {
      if (options.owner) await Deno.chown(path, options.owner.uid, options.owner.gid);
      const deadline = Date.now() + (options.waitMs ?? LOCK_WAIT_MS);
      let waited = false;
      while (!(await file.tryLock(true))) {
        if (!waited) options.onWait?.(path);
        waited = true;
        if (options.signal?.aborted) throw new RuntimeError("stopping");
        if (Date.now() >= deadline) {
          throw new RuntimeError(
            `another monitor process (a shard, the daemon or --once) is still acting on server ` +
              `${server} after ${Math.round((options.waitMs ?? LOCK_WAIT_MS) / 1000)} s ` +
              `(${path} is locked); no action taken`,
          );
        }
        await sleep(100, options.signal);
      }
    } catch (err) {
      file.close();
      throw err;
    }
    return new ServerLock(file);
  }

  /** Drops the lock (the file stays). Safe to call twice. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#file.close();
  }
}
