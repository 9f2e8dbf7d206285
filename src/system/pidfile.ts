/**
 * Pid files guarded by an exclusive lock.
 *
 * The lock, not the file's existence, says whether a daemon runs: the kernel drops it when the
 * process dies, so a pid file left by a crash never blocks the next start, and two instances of
 * the same shard can never both hold it.
 * @module
 */
import { RuntimeError } from "../errors.ts";

/** A pid file this process holds; {@link PidFile.release} removes it. */
export class PidFile {
  readonly path: string;
  #file: Deno.FsFile;
  #released = false;

  private constructor(path: string, file: Deno.FsFile) {
    this.path = path;
    this.#file = file;
  }

  /**
   * Creates or takes over `path`, locks it and writes this process's pid. Throws when another
   * live process holds it, naming that pid.
   */
  static async acquire(path: string): Promise<PidFile> {
    const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o644 });
    let locked = false;
    try {
      locked = await file.tryLock(true);
    } catch (err) {
      file.close();
      throw err;
    }
    if (!locked) {
      file.close();
      const other = await readPid(path);
      throw new RuntimeError(
        `another instance is running${other ? ` (pid ${other})` : ""}: ${path} is locked; ` +
          `stop it first or use another shard`,
      );
    }
    await file.truncate(0);
    await file.seek(0, Deno.SeekMode.Start);
    await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
    await file.syncData();
    return new PidFile(path, file);
  }

  /** Removes the file and drops the lock. Safe to call twice. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    try {
      Deno.removeSync(this.path);
    } catch { /* already gone or not ours to remove */ }
    this.#file.close();
  }
}

/** The pid written in `path`, or undefined when absent or garbage. */
export async function readPid(path: string): Promise<number | undefined> {
  try {
    const text = (await Deno.readTextFile(path)).trim();
    return /^\d{1,10}$/.test(text) && Number(text) > 0 ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The pid of the live process holding `path`'s lock, or undefined when nobody holds it (no
 * file, or a stale file from a crash).
 */
export async function runningPid(path: string): Promise<number | undefined> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: true });
  } catch {
    return undefined;
  }
  try {
    if (await file.tryLock(true)) {
      await file.unlock();
      return undefined;
    }
  } finally {
    file.close();
  }
  return await readPid(path);
}
