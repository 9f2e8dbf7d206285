/**
 * The total size of the regular files in one directory, for `usage_source=datadir`.
 *
 * A datadir with 100,000 tables has some 300,000 files. Deno's `lstatSync` builds a large object
 * per file (with dates), which at that count costs seconds and a hundred megabytes of garbage;
 * here the directory is read with libc's `readdir` and each file measured with `statx` into one
 * reused buffer (no follow of symlinks, the size only). These calls stay loaded after the
 * daemon revokes its FFI permission (system/libc.ts). Where libc cannot be loaded, Deno's own
 * calls do the same job.
 *
 * Both are generators that yield every few entries, so the caller can spread a huge directory
 * over several turns of the event loop.
 * @module
 */
import { errorText, RuntimeError } from "../errors.ts";
import { cString, directoryCalls, errno, lastError } from "../system/libc.ts";

/** What measuring one directory gave: its bytes, "gone" (no such directory), or an error. */
export type DirSize = { bytes: number } | "gone" | { error: string };

/** Measures one directory, yielding now and then (see the module comment). */
export type DirSizer = (path: string) => Generator<void, DirSize>;

/** Entries between two yields of a sizer. */
const ENTRIES_PER_YIELD = 64;

const ENOENT = 2;
const AT_SYMLINK_NOFOLLOW = 0x100;
const STATX_TYPE_SIZE = 0x1 | 0x200;
const DT_UNKNOWN = 0;
const DT_REG = 8;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

function describe(what: string, code: number): string {
  return `${what}: ${lastError()} (errno ${code})`;
}

/** One entry of a directory read by {@link entriesOf}: `d_type` and the NUL-terminated name. */
interface Entry {
  type: number;
  /** Valid until the next entry is read (one buffer serves them all). */
  name: Uint8Array;
}

/** The entries of an open directory but `.` and `..`, copied one by one into one reused buffer. */
function* entriesOf(
  c: ReturnType<typeof directoryCalls>,
  dir: Deno.PointerObject,
): Generator<Entry> {
  // struct dirent (64-bit glibc): d_ino(8) d_off(8) d_reclen(2) d_type(1) d_name at 19.
  const ent = new Uint8Array(19 + 256 + 1);
  const entView = new DataView(ent.buffer);
  const entry: Entry = { type: DT_UNKNOWN, name: ent.subarray(19) };
  const name = entry.name;
  for (let p = c.readdir(dir); p !== null; p = c.readdir(dir)) {
    c.memcpy(ent, p, 19n);
    const reclen = Math.min(entView.getUint16(16, true), ent.length);
    c.memcpy(ent, p, BigInt(reclen));
    if (name[0] === 0x2e && (name[1] === 0 || (name[1] === 0x2e && name[2] === 0))) continue;
    entry.type = ent[18];
    yield entry;
  }
}

const decoder = new TextDecoder();

/** The text of a NUL-terminated name. */
function nameText(name: Uint8Array): string {
  const end = name.indexOf(0);
  return decoder.decode(name.subarray(0, end < 0 ? undefined : end));
}

/** {@link DirSizer} on libc: readdir + statx relative to the directory, one reused buffer. */
export function* libcDirSize(path: string): Generator<void, DirSize> {
  const c = directoryCalls();
  const dir = c.opendir(cString(path));
  if (dir === null) {
    const code = errno();
    return code === ENOENT ? "gone" : { error: describe(path, code) };
  }
  // Entries are measured relative to the open directory (no path walk per file).
  const fd = c.dirfd(dir);
  // struct statx: stx_mode (u16) at 28, stx_size (u64) at 40.
  const stx = new Uint8Array(256);
  const stxView = new DataView(stx.buffer);
  let bytes = 0;
  let n = 0;
  try {
    for (const { type, name } of entriesOf(c, dir)) {
      if (type !== DT_REG && type !== DT_UNKNOWN) continue;
      if (c.statx(fd, name, AT_SYMLINK_NOFOLLOW, STATX_TYPE_SIZE, stx) !== 0) {
        return { error: describe(`${path}/${nameText(name)}`, errno()) };
      }
      if ((stxView.getUint16(28, true) & S_IFMT) === S_IFREG) {
        bytes += Number(stxView.getBigUint64(40, true));
      }
      if (++n % ENTRIES_PER_YIELD === 0) yield;
    }
  } finally {
    c.closedir(dir);
  }
  return { bytes };
}

const DT_DIR = 4;
const S_IFDIR = 0o040000;

/**
 * The names of the subdirectories of `path` (links to directories excluded), one at a time,
 * read with libc's readdir: Deno's `readDirSync` builds every entry of a datadir with 40,000
 * schemas as one array of objects before the first is looked at. Throws (with Deno's own error,
 * from `readDirSync`) when the directory cannot be opened; falls back to Deno's call where libc
 * cannot be loaded.
 */
export function* subdirectories(path: string): Generator<string> {
  let c: ReturnType<typeof directoryCalls>;
  try {
    c = directoryCalls();
  } catch {
    for (const e of Deno.readDirSync(path)) if (e.isDirectory) yield e.name;
    return;
  }
  const dir = c.opendir(cString(path));
  if (dir === null) {
    // The same error as before this reader existed (NotFound, PermissionDenied, …).
    for (const e of Deno.readDirSync(path)) if (e.isDirectory) yield e.name;
    return;
  }
  const fd = c.dirfd(dir);
  const stx = new Uint8Array(256);
  const stxView = new DataView(stx.buffer);
  try {
    for (const { type, name } of entriesOf(c, dir)) {
      if (type !== DT_DIR && type !== DT_UNKNOWN) continue;
      if (
        type === DT_UNKNOWN &&
        (c.statx(fd, name, AT_SYMLINK_NOFOLLOW, STATX_TYPE_SIZE, stx) !== 0 ||
          (stxView.getUint16(28, true) & S_IFMT) !== S_IFDIR)
      ) continue;
      yield nameText(name);
    }
  } finally {
    c.closedir(dir);
  }
}

/** {@link DirSizer} on Deno's own calls; `lstat` is replaceable for tests. */
export function denoDirSize(
  lstat: (path: string) => { size: number } = Deno.lstatSync,
): DirSizer {
  return function* (path: string): Generator<void, DirSize> {
    const names: string[] = [];
    try {
      for (const e of Deno.readDirSync(path)) if (e.isFile) names.push(e.name);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return "gone";
      return { error: `${path}: ${errorText(err)}` };
    }
    yield;
    let bytes = 0;
    let n = 0;
    for (const file of names) {
      try {
        bytes += lstat(`${path}/${file}`).size;
      } catch (err) {
        return { error: `${path}/${file}: ${errorText(err)}` };
      }
      if (++n % ENTRIES_PER_YIELD === 0) yield;
    }
    return { bytes };
  };
}

/** The sizer to use: libc's when it loads (also after the FFI permission is revoked), else Deno's. */
export function defaultDirSizer(): DirSizer {
  try {
    directoryCalls();
    return libcDirSize;
  } catch (err) {
    // No FFI permission, or no glibc on this machine: Deno's calls do the same, slower.
    if (
      err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied ||
      err instanceof RuntimeError
    ) return denoDirSize();
    throw err;
  }
}
