/**
 * Pid files guarded by an exclusive lock, and finding the process that holds one.
 *
 * The lock, not the file's existence, says whether a daemon runs: the kernel drops it when the
 * process dies, so a pid file left by a crash never blocks the next start, and two instances of
 * the same shard can never both hold it.
 *
 * The daemon takes its pid file after dropping root, so the file belongs to `run_as` and its
 * content proves nothing to root. {@link daemonPid} therefore asks the kernel instead: the pid
 * that holds the lock on that very inode (/proc/locks), which must also be the pid written in
 * the file and a process running this program. Anything else is refused, never signalled.
 * @module
 */
import { RuntimeError } from "../errors.ts";
import { lstatInode, readLink, readSmallFile } from "./libc.ts";
import { readFileNoFollow } from "./safe_fs.ts";
import { baseOf } from "../util/path.ts";

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
   * Creates or takes over `path`, locks it and writes this process's pid. A link or anything
   * but a regular file at `path` is refused (never followed). Throws when another live process
   * holds it, naming that pid.
   */
  static async acquire(path: string): Promise<PidFile> {
    const file = await openNoFollow(path);
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
    } catch (err) {
      // Already gone, or not ours to remove: the lock is dropped either way.
      if (
        !(err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied ||
          err instanceof Deno.errors.NotCapable)
      ) throw err;
    }
    this.#file.close();
  }
}

/** Opens `path` read-write: created exclusively, or an existing regular file checked by handle. */
async function openNoFollow(path: string): Promise<Deno.FsFile> {
  const refuse = (what: string) =>
    new RuntimeError(`${path} is ${what}; refusing to use it as the pid file: remove it`);
  let named: Deno.FileInfo | undefined;
  try {
    named = await Deno.lstat(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  if (named === undefined) {
    try {
      return await Deno.open(path, { read: true, write: true, createNew: true, mode: 0o644 });
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
      named = await Deno.lstat(path);
    }
  }
  if (named.isSymlink) throw refuse("a symbolic link");
  if (!named.isFile) throw refuse("not a regular file");
  const file = await Deno.open(path, { read: true, write: true });
  const opened = await file.stat();
  if (opened.ino !== named.ino || opened.dev !== named.dev) {
    file.close();
    throw new RuntimeError(`${path} was replaced while being opened; try again`);
  }
  return file;
}

/**
 * The pid written in `path`, or undefined when absent, garbage, or not a regular file. Uses Deno
 * only (it runs after FFI is revoked); root uses {@link daemonPid} instead.
 */
export async function readPid(path: string): Promise<number | undefined> {
  try {
    if (!(await Deno.lstat(path)).isFile) return undefined;
    const text = (await Deno.readTextFile(path)).trim();
    return /^\d{1,10}$/.test(text) && Number(text) > 0 ? Number(text) : undefined;
  } catch (err) {
    if (
      err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied ||
      err instanceof Deno.errors.NotCapable
    ) return undefined;
    throw err;
  }
}

/**
 * The pid holding an flock write lock on the inode at `path` (from /proc/locks), or undefined
 * when the name is absent or nobody holds its lock. Throws when the name is not a regular file.
 */
export function lockHolder(path: string): number | undefined {
  const info = lstatInode(path);
  if (!info) return undefined;
  if (info.type !== "file") {
    throw new RuntimeError(
      `${path} is ${
        info.type === "symlink" ? "a symbolic link" : "not a regular file"
      }; refusing to trust it as a pid file`,
    );
  }
  const key = `${info.dev}:${info.ino}`;
  const locks = readSmallFile("/proc/locks", 1 << 22) ?? "";
  for (const line of locks.split("\n")) {
    // "1: FLOCK  ADVISORY  WRITE 1234 fe:00:2146693 0 EOF"; "1: -> FLOCK …" lines are waiters.
    const f = line.trim().split(/\s+/);
    if (f[1] === "FLOCK" && f[3] === "WRITE" && f[5] === key && /^\d+$/.test(f[4])) {
      return Number(f[4]);
    }
  }
  return undefined;
}

/** Path of the program a process runs, without the " (deleted)" of a replaced binary. */
function exeOf(pid: number | "self"): string | undefined {
  return readLink(`/proc/${pid}/exe`)?.replace(/ \(deleted\)$/, "");
}

function cmdlineOf(pid: number): string[] {
  return (readSmallFile(`/proc/${pid}/cmdline`) ?? "").split("\0").filter((a) => a !== "");
}

function realUid(pid: number): number | undefined {
  const m = (readSmallFile(`/proc/${pid}/status`) ?? "").match(/^Uid:\s*(\d+)/m);
  return m ? Number(m[1]) : undefined;
}

/**
 * Why process `pid` is not an instance of this program run by one of `uids`, or undefined
 * when it is. The program is the same executable as this process (/proc/PID/exe); run from
 * source, the deno binary must also be running this program's main module. When exe cannot be
 * read (a process that changed its credentials, seen by a non-root caller), argv[0] and the
 * main module in /proc/PID/cmdline stand in for it.
 */
export function notThisProgram(pid: number, uids: readonly number[]): string | undefined {
  const uid = realUid(pid);
  if (uid === undefined) return `no process ${pid}`;
  if (!uids.includes(uid)) return `pid ${pid} runs as uid ${uid}, not as root or run_as`;
  const own = exeOf("self");
  if (!own) return "cannot read /proc/self/exe";
  const argv = cmdlineOf(pid);
  const exe = exeOf(pid);
  if (exe !== undefined ? exe !== own : baseOf(argv[0] ?? "") !== baseOf(own)) {
    return `pid ${pid} runs ${exe ?? argv[0] ?? "an unknown program"}, not ${own}`;
  }
  if (/(^|\/)deno$/.test(own)) {
    const main = new URL(Deno.mainModule).pathname;
    if (!argv.includes(main)) return `pid ${pid} is deno, but not running ${main}`;
  }
  return undefined;
}

/**
 * The pid of the daemon that holds `path`, verified, or undefined when none holds it. The pid
 * written in the file must be the lock holder, and the holder a process of this program run by
 * one of `uids`; otherwise a RuntimeError says why and nothing should be signalled.
 */
export function daemonPid(path: string, uids: readonly number[]): number | undefined {
  const holder = lockHolder(path);
  if (holder === undefined) return undefined;
  const text = readFileNoFollow(path, 64)?.text.trim() ?? "";
  const written = /^\d{1,10}$/.test(text) ? Number(text) : undefined;
  if (written !== holder) {
    throw new RuntimeError(
      `${path} names ${
        written === undefined ? "no valid pid" : `pid ${written}`
      }, but pid ${holder} holds its lock; refusing to signal either (restart the monitor)`,
    );
  }
  const why = notThisProgram(holder, uids);
  if (why) {
    throw new RuntimeError(
      `${path} is held by a process that is not the monitor (${why}); refusing to signal it`,
    );
  }
  return holder;
}
