/**
 * File primitives for a process that may be root while other accounts can write some of the
 * directories it works in. Every write through here follows the same rules:
 *
 * - a name is created with `O_CREAT | O_EXCL` (Deno's `createNew`), which never follows a link,
 *   and anything else is opened with `O_NOFOLLOW` and checked with `fstat` on the handle;
 * - whole-file replacement writes an unpredictable temporary name in the target directory
 *   (random suffix, exclusive create, retried), flushes it, then renames it into place;
 * - ownership and mode are changed on the handle (`fchown`, `fchmod`), never through a path;
 * - directories are created with `mkdir` and checked on the handle; a directory chain in which
 *   an account other than root (and, where allowed, `run_as`) could move or plant entries is
 *   refused with a ConfigError naming the directory and who can write it.
 *
 * Metadata and the handle-level calls go through libc (see libc.ts), so they work before the
 * FFI permission is revoked; {@link writeFileAtomic} uses Deno only and works at any time.
 * @module
 */
import { ConfigError, RuntimeError } from "../errors.ts";
import { baseOf, dirOf } from "../util/path.ts";
import {
  closeFd,
  Errno,
  errorMessage,
  fchmod,
  fchown,
  fstatInode,
  getpwuid,
  groupName,
  type Inode,
  lstatInode,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_RDONLY,
  O_WRONLY,
  openFd,
  readFd,
  readLink,
} from "./libc.ts";

const STICKY = 0o1000;

/** "mysql (uid 107)" or "uid 4242" when the uid has no name. */
export function userLabel(uid: number): string {
  const name = getpwuid(uid)?.name;
  return name ? `${name} (uid ${uid})` : `uid ${uid}`;
}

function groupLabel(gid: number): string {
  const name = groupName(gid);
  return name ? `${name} (gid ${gid})` : `gid ${gid}`;
}

/**
 * Why an account other than root and `trusted` could change the entries of directory `info`
 * at `path`, or undefined when none can. `ancestor`: the directory only leads to what is
 * checked next, so a sticky bit (entries can be moved only by their owner) makes world- or
 * group-write harmless there.
 */
function foreignWriter(
  path: string,
  info: Inode,
  trusted: readonly number[],
  ancestor: boolean,
): string | undefined {
  if (info.uid !== 0 && !trusted.includes(info.uid)) {
    return `${path} belongs to ${userLabel(info.uid)}`;
  }
  if (ancestor && (info.mode & STICKY) !== 0) return undefined;
  if ((info.mode & 0o020) !== 0 && info.gid !== 0) {
    return `${path} is writable by group ${groupLabel(info.gid)}`;
  }
  if ((info.mode & 0o002) !== 0) return `${path} is writable by everyone`;
  return undefined;
}

/** Where a directory chain stands: see {@link inspectChain}. */
export interface Chain {
  /** The path with every symbolic link resolved (missing components appended as given). */
  real: string;
  /** Deepest directory of `real` that exists. */
  existing: string;
  /** Its metadata. */
  existingInfo: Inode;
  /** Components below `existing` that do not exist yet. */
  missing: string[];
  /** Why the chain is not safe, or undefined when it is. */
  problem?: string;
  /**
   * Some directory on the way belongs to a trusted account other than root: it could swap
   * what lies below at any moment, so root must create nothing there.
   */
  steerable: boolean;
}

/**
 * Walks `path` from "/" without following anything blindly: each component is looked at with
 * lstat; a symbolic link is followed only when its directory passed the checks and the link
 * itself belongs to root. Every directory must belong to root or `trusted` and
 * be writable by no other account (sticky ancestors excepted); `path` itself, when it exists,
 * must be a directory.
 */
export function inspectChain(path: string, trusted: readonly number[] = []): Chain {
  let hops = 0;
  let steerable = false;
  let todo = path.split("/").filter((p) => p !== "" && p !== ".");
  const fail = (problem: string, cur: string, info: Inode): Chain => ({
    real: path,
    existing: cur,
    existingInfo: info,
    missing: [],
    problem,
    steerable,
  });
  if (!path.startsWith("/")) {
    return fail(`${path} is not an absolute path`, "/", lstatInode("/")!);
  }
  let cur = "/";
  let info = lstatInode("/")!;
  while (true) {
    if (info.uid !== 0) steerable = true;
    if (todo.length === 0) {
      const problem = foreignWriter(cur, info, trusted, false);
      return { real: cur, existing: cur, existingInfo: info, missing: [], problem, steerable };
    }
    const ancestorProblem = foreignWriter(cur, info, trusted, true);
    if (ancestorProblem) return fail(ancestorProblem, cur, info);
    const [name, ...rest] = todo;
    if (name === "..") return fail(`${path}: ".." is not allowed in this path`, cur, info);
    const next = cur === "/" ? `/${name}` : `${cur}/${name}`;
    const entry = lstatInode(next);
    if (!entry) {
      const real = [cur === "/" ? "" : cur, ...todo].join("/");
      // The deepest existing directory receives new entries: no sticky excuse there.
      const problem = foreignWriter(cur, info, trusted, false);
      return { real, existing: cur, existingInfo: info, missing: todo, problem, steerable };
    }
    if (entry.type === "symlink") {
      // Only root's own links are followed: anyone else's could point anywhere, any time.
      if (entry.uid !== 0) {
        return fail(`${next} is a link that belongs to ${userLabel(entry.uid)}`, cur, info);
      }
      const target = readLink(next);
      if (target === undefined || ++hops > 32) {
        return fail(`${next}: cannot resolve this link`, cur, info);
      }
      todo = [...target.split("/").filter((p) => p !== "" && p !== "."), ...rest];
      if (target.startsWith("/")) {
        cur = "/";
        info = lstatInode("/")!;
      }
      continue;
    }
    if (entry.type !== "directory") return fail(`${next} is not a directory`, cur, info);
    cur = next;
    info = entry;
    todo = rest;
  }
}

/** Who may own what {@link prepareDirectory} creates. */
export interface Owner {
  uid: number;
  gid: number;
}

/** What {@link prepareDirectory} did. */
export type Prepared = "existed" | "created" | "left to owner";

/**
 * Makes sure `dir` exists for `owner` (root's own when undefined) without root ever acting
 * in a directory another account controls:
 *
 * - the chain must be safe (root and `owner` only), else ConfigError naming `key`;
 * - an existing `dir` is left as it is (its owner and mode are the caller's to check);
 * - missing directories are created by root only below root's own directories: each `mkdir`
 *   is checked on its handle (a directory, root's), the last one gets `mode` and is handed to
 *   `owner` with fchown; directories in between stay root's, mode 0755;
 * - below a directory `owner` already holds nothing is created: "left to owner" means the
 *   caller creates the rest after dropping to `owner`.
 */
export function prepareDirectory(
  dir: string,
  mode: number,
  owner: Owner | undefined,
  key: string,
  file?: string,
): Prepared {
  const trusted = owner ? [owner.uid] : [];
  const chain = inspectChain(dir, trusted);
  const refuse = (problem: string) =>
    new ConfigError(
      `${key}=${dir}: ${problem}; root does not write where another account can steer it: ` +
        `fix the ownership or mode, or choose another path`,
      file,
    );
  if (chain.problem) throw refuse(chain.problem);
  if (chain.missing.length === 0) return "existed";
  if (chain.steerable) return "left to owner";
  let cur = chain.existing;
  chain.missing.forEach((name, i) => {
    const last = i === chain.missing.length - 1;
    cur = cur === "/" ? `/${name}` : `${cur}/${name}`;
    try {
      // Private until checked: the final mode is set on the handle.
      Deno.mkdirSync(cur, { mode: 0o700 });
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
    const fd = openFd(cur, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) throw refuse(`${cur} cannot be opened as a directory: ${errorMessage(-fd)}`);
    try {
      const info = fstatInode(fd);
      if (info.type !== "directory" || info.uid !== 0) {
        throw refuse(`${cur} appeared meanwhile and belongs to ${userLabel(info.uid)}`);
      }
      fchmod(fd, last ? mode : 0o755, cur);
      if (last && owner) fchown(fd, owner.uid, owner.gid, cur);
    } finally {
      closeFd(fd);
    }
  });
  return "created";
}

/**
 * Creates the empty file `path` with exactly `mode` (and hands it to `owner` when given), all
 * on the handle of an `O_CREAT | O_EXCL | O_NOFOLLOW` open: a name that exists, even as a
 * dangling link, is left alone. Returns false when `path` already existed.
 */
export function createFileExclusive(path: string, mode: number, owner?: Owner): boolean {
  const fd = openFd(
    path,
    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
    mode & 0o600,
  );
  if (fd === -Errno.EEXIST) return false;
  if (fd < 0) throw new RuntimeError(`cannot create ${path}: ${errorMessage(-fd)}`);
  try {
    const info = fstatInode(fd);
    if (info.type !== "file" || info.nlink !== 1) {
      throw new RuntimeError(`${path}: the new file is not a plain file`);
    }
    if (owner) fchown(fd, owner.uid, owner.gid, path);
    fchmod(fd, mode, path);
  } finally {
    closeFd(fd);
  }
  return true;
}

/**
 * Reads a small regular file without following a link at its name and without blocking on a
 * FIFO or device planted there. Undefined when absent; throws when the name is a link or not
 * a regular file, or when the file is larger than `max` bytes.
 */
export function readFileNoFollow(
  path: string,
  max = 65536,
): { text: string; info: Inode } | undefined {
  const fd = openFd(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd === -Errno.ENOENT) return undefined;
  if (fd === -Errno.ELOOP) {
    throw new RuntimeError(`${path} is a symbolic link; refusing to follow it`);
  }
  if (fd < 0) throw new RuntimeError(`cannot read ${path}: ${errorMessage(-fd)}`);
  try {
    const info = fstatInode(fd);
    if (info.type !== "file") throw new RuntimeError(`${path} is not a regular file`);
    const bytes = readFd(fd, max + 1);
    if (bytes.length > max) throw new RuntimeError(`${path} is larger than ${max} bytes`);
    return { text: new TextDecoder().decode(bytes), info };
  } finally {
    closeFd(fd);
  }
}

function randomSuffix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Replaces `path` with `text` so that readers see the old file or the new one, never a mix:
 * a temporary file `.<name>.<24 random hex>.tmp` is created exclusively in the same directory
 * (a new name is drawn when one exists), written, flushed with fsync, and renamed over `path`.
 * The rename replaces a link at `path` rather than following it. `mode` is applied at
 * creation, so the process umask may remove bits from it. `text` may come in pieces (a large
 * file is then never held whole in memory); the pieces are read once, after the temporary file
 * exists, and an error while producing them removes it and leaves `path` as it was.
 */
export async function writeFileAtomic(
  path: string,
  text: string | Iterable<string> | AsyncIterable<string>,
  mode = 0o644,
): Promise<void> {
  const dir = dirOf(path);
  const name = baseOf(path);
  const encoder = new TextEncoder();
  for (let attempt = 0;; attempt++) {
    const tmp = `${dir}/.${name}.${randomSuffix()}.tmp`;
    let file: Deno.FsFile;
    try {
      file = await Deno.open(tmp, { write: true, createNew: true, mode });
    } catch (err) {
      if (err instanceof Deno.errors.AlreadyExists && attempt < 8) continue;
      throw err;
    }
    try {
      try {
        const write = async (bytes: Uint8Array) => {
          let written = 0;
          while (written < bytes.length) written += await file.write(bytes.subarray(written));
        };
        if (typeof text === "string") {
          await write(encoder.encode(text));
        } else {
          // One buffer for every piece (a UTF-16 unit takes at most 3 bytes of UTF-8).
          let buf = new Uint8Array(0);
          for await (const chunk of text) {
            if (buf.length < chunk.length * 3) buf = new Uint8Array(chunk.length * 3);
            await write(buf.subarray(0, encoder.encodeInto(chunk, buf).written));
          }
        }
        await file.sync();
      } finally {
        file.close();
      }
      await Deno.rename(tmp, path);
    } catch (err) {
      await Deno.remove(tmp).catch(() => {});
      throw err;
    }
    return;
  }
}

/**
 * Creates `path` empty with `mode` (less the umask) when nothing exists at that name, with an
 * exclusive create, so a link planted there is never followed. Returns whether it created the
 * file; an existing name is left as it is. Deno only (usable after FFI is revoked).
 */
export function createIfAbsent(path: string, mode: number): boolean {
  try {
    Deno.openSync(path, { write: true, createNew: true, mode }).close();
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) return false;
    throw err;
  }
}
