/**
 * The few libc calls Deno has no API for, through `Deno.dlopen`: user lookup (NSS), credential
 * changes, Unix datagram sockets (sd_notify, syslog), and the file calls that work on
 * a handle or refuse links (open with O_NOFOLLOW, fstat, fchown, fchmod, readlink).
 *
 * After the privilege drop the daemon calls {@link sealLibc}: the full symbol table is let go,
 * only what sd_notify and syslog need stays loaded, and the FFI permission is revoked, so no
 * code of this process can reach open/fchown/kill through libc any more.
 *
 * glibc's setuid/setgid/setgroups wrappers change the credentials of every thread of the
 * process (they signal each thread), which matters because Deno runs several threads.
 * Structure offsets are those of glibc on 64-bit Linux (x86_64 and aarch64 share them).
 * Memory that libc returns is copied into our own buffers with memcpy rather than read through
 * Deno.UnsafePointerView, so the scoped `--allow-ffi=<libc dir>` of the binary suffices.
 * @module
 */
import { RuntimeError } from "../errors.ts";

const CANDIDATES = [
  "/lib/x86_64-linux-gnu/libc.so.6",
  "/usr/lib/x86_64-linux-gnu/libc.so.6",
  "/lib/aarch64-linux-gnu/libc.so.6",
  "/usr/lib/aarch64-linux-gnu/libc.so.6",
  "/lib64/libc.so.6",
  "/usr/lib64/libc.so.6",
];

const SYMBOLS = {
  getpwnam: { parameters: ["buffer"], result: "pointer" },
  getgrouplist: { parameters: ["buffer", "u32", "buffer", "buffer"], result: "i32" },
  setgroups: { parameters: ["usize", "buffer"], result: "i32" },
  getgroups: { parameters: ["i32", "buffer"], result: "i32" },
  setgid: { parameters: ["u32"], result: "i32" },
  setuid: { parameters: ["u32"], result: "i32" },
  getuid: { parameters: [], result: "u32" },
  geteuid: { parameters: [], result: "u32" },
  getgid: { parameters: [], result: "u32" },
  getegid: { parameters: [], result: "u32" },
  kill: { parameters: ["i32", "i32"], result: "i32" },
  statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  sendto: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"],
    result: "isize",
  },
  close: { parameters: ["i32"], result: "i32" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  fchown: { parameters: ["i32", "u32", "u32"], result: "i32" },
  fchmod: { parameters: ["i32", "u32"], result: "i32" },
  readlink: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
  getpwuid: { parameters: ["u32"], result: "pointer" },
  getgrgid: { parameters: ["u32"], result: "pointer" },
  opendir: { parameters: ["buffer"], result: "pointer" },
  dirfd: { parameters: ["pointer"], result: "i32" },
  readdir: { parameters: ["pointer"], result: "pointer" },
  closedir: { parameters: ["pointer"], result: "i32" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  // Copies out of memory libc owns. Pointer views would need the unscoped FFI permission;
  // memcpy into a buffer of ours needs only the permission for libc itself.
  memcpy: { parameters: ["buffer", "pointer", "usize"], result: "pointer" },
  memcpy_from: { name: "memcpy", parameters: ["buffer", "usize", "usize"], result: "usize" },
  strlen: { parameters: ["pointer"], result: "usize" },
  strlen_at: { name: "strlen", parameters: ["usize"], result: "usize" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** What stays loaded after {@link sealLibc}: datagrams, the clock and error messages. */
const KEPT = {
  socket: SYMBOLS.socket,
  sendto: SYMBOLS.sendto,
  close: SYMBOLS.close,
  clock_gettime: SYMBOLS.clock_gettime,
  __errno_location: SYMBOLS.__errno_location,
  strerror: SYMBOLS.strerror,
  memcpy: SYMBOLS.memcpy,
  strlen: SYMBOLS.strlen,
  // Reading a directory and the metadata of its entries (usage_source=datadir): nothing here
  // opens a file, writes, or changes an owner.
  opendir: SYMBOLS.opendir,
  dirfd: SYMBOLS.dirfd,
  readdir: SYMBOLS.readdir,
  closedir: SYMBOLS.closedir,
  statx: SYMBOLS.statx,
} as const satisfies Deno.ForeignLibraryInterface;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
type Kept = Deno.DynamicLibrary<typeof KEPT>["symbols"];
let full: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;
let kept: Kept | undefined;
let libPath: string | undefined;

function open<S extends Deno.ForeignLibraryInterface>(symbols: S): Deno.DynamicLibrary<S> {
  for (const path of libPath ? [libPath] : CANDIDATES) {
    try {
      const lib = Deno.dlopen(path, symbols);
      libPath = path;
      return lib;
    } catch (err) {
      if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
        throw err;
      }
    }
  }
  throw new RuntimeError(
    `no glibc found (looked in ${CANDIDATES.join(", ")}); this program needs glibc on Linux`,
  );
}

/**
 * The loaded libc symbols (loaded once). The first glibc path that opens wins; only the FFI
 * permission is needed for it, not read access to the library directories. Throws after
 * {@link sealLibc}.
 */
export function libc(): Libc {
  if (kept) {
    throw new RuntimeError("internal error: libc was sealed after the privilege drop");
  }
  full ??= open(SYMBOLS);
  return full.symbols;
}

/** The symbols that survive {@link sealLibc} (the full table until then). */
function small(): Kept {
  return kept ?? libc();
}

/**
 * The directory-reading calls (opendir, dirfd, readdir, closedir, statx, memcpy), usable before
 * and after {@link sealLibc}; throws when libc cannot be loaded at all.
 */
export function directoryCalls(): Pick<
  Kept,
  "opendir" | "dirfd" | "readdir" | "closedir" | "statx" | "memcpy"
> {
  return small();
}

/**
 * Lets go of every libc symbol but those sd_notify and syslog need, then revokes the FFI
 * permission: from here on nothing in the process can load a library or call open, fchown,
 * kill or setuid through FFI. Idempotent.
 */
export async function sealLibc(): Promise<void> {
  if (!kept) {
    kept = open(KEPT).symbols;
    full?.close();
    full = undefined;
  }
  await Deno.permissions.revoke({ name: "ffi" });
}

const enc = new TextEncoder();

/** Copies `n` bytes at `ptr` (memory owned by libc) into a new buffer. */
function peek(ptr: Deno.PointerObject, n: number): DataView {
  const out = new Uint8Array(n);
  small().memcpy(out, ptr, BigInt(n));
  return new DataView(out.buffer);
}

/** The NUL-terminated string at `ptr`. */
function stringAt(ptr: Deno.PointerObject): string {
  const n = Number(small().strlen(ptr));
  const out = new Uint8Array(n);
  small().memcpy(out, ptr, BigInt(n));
  return new TextDecoder().decode(out);
}

/** The NUL-terminated string at address `addr` (a pointer read out of a structure). */
function stringAtAddress(addr: bigint): string {
  if (addr === 0n) return "";
  const n = Number(libc().strlen_at(addr));
  const out = new Uint8Array(n);
  libc().memcpy_from(out, addr, BigInt(n));
  return new TextDecoder().decode(out);
}

/** NUL-terminated copy of `text` for C. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = enc.encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** errno of the last failed call on this thread. */
export function errno(): number {
  const ptr = small().__errno_location();
  return ptr ? peek(ptr, 4).getInt32(0, true) : 0;
}

/** The message for an errno value ("Operation not permitted"). */
export function errorMessage(code: number): string {
  const msg = small().strerror(code);
  return msg ? stringAt(msg) : `errno ${code}`;
}

/** errno of the last failed call on this thread, as a message ("Operation not permitted"). */
export function lastError(): string {
  return errorMessage(errno());
}

/** An entry of the user database. */
export interface Passwd {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** Looks a user up through NSS (getpwnam), or returns undefined when there is none. */
export function getpwnam(name: string): Passwd | undefined {
  const p = libc().getpwnam(cString(name));
  return p === null ? undefined : passwdAt(p, name);
}

function passwdAt(p: Deno.PointerObject, name?: string): Passwd {
  // struct passwd: pw_name(0) pw_passwd(8) pw_uid(16) pw_gid(20) pw_gecos(24) pw_dir(32) pw_shell(40)
  const view = peek(p, 48);
  return {
    name: name ?? stringAtAddress(view.getBigUint64(0, true)),
    uid: view.getUint32(16, true),
    gid: view.getUint32(20, true),
    home: stringAtAddress(view.getBigUint64(32, true)) || "/",
  };
}

/** Looks a uid up through NSS (getpwuid), or returns undefined when it has no entry. */
export function getpwuid(uid: number): Passwd | undefined {
  const p = libc().getpwuid(uid);
  return p === null ? undefined : passwdAt(p);
}

/** The name of group `gid` (getgrgid), or undefined when it has no entry. */
export function groupName(gid: number): string | undefined {
  const p = libc().getgrgid(gid);
  // struct group: gr_name(0)
  return p === null ? undefined : stringAtAddress(peek(p, 8).getBigUint64(0, true));
}

/** The user's groups as NSS reports them (primary group included). */
export function groupsOf(user: Passwd): number[] {
  let n = 64;
  for (let attempt = 0; attempt < 5; attempt++) {
    const groups = new Uint32Array(n);
    const count = new Int32Array([n]);
    const r = libc().getgrouplist(
      cString(user.name),
      user.gid,
      new Uint8Array(groups.buffer),
      new Uint8Array(count.buffer),
    );
    if (r >= 0) return [...groups.subarray(0, count[0])];
    n = Math.max(count[0], n * 2);
  }
  return [user.gid];
}

/** Supplementary groups of the calling thread. */
export function getgroups(): number[] {
  const n = libc().getgroups(0, new Uint8Array(0));
  if (n <= 0) return [];
  const groups = new Uint32Array(n);
  const got = libc().getgroups(n, new Uint8Array(groups.buffer));
  return [...groups.subarray(0, Math.max(0, got))];
}

/** Sets the supplementary groups; throws with errno's message on failure. */
export function setgroups(groups: number[]): void {
  const list = new Uint32Array(groups);
  if (libc().setgroups(BigInt(list.length), new Uint8Array(list.buffer)) !== 0) {
    throw new RuntimeError(`setgroups(${groups.join(",")}) failed: ${lastError()}`);
  }
}

/** Sets real, effective and saved group id; throws on failure. */
export function setgid(gid: number): void {
  if (libc().setgid(gid) !== 0) throw new RuntimeError(`setgid(${gid}) failed: ${lastError()}`);
}

/** Sets real, effective and saved user id; throws on failure. */
export function setuid(uid: number): void {
  if (libc().setuid(uid) !== 0) throw new RuntimeError(`setuid(${uid}) failed: ${lastError()}`);
}

/** Tries setuid and reports whether it succeeded (used to prove root cannot be regained). */
export function trySetuid(uid: number): boolean {
  return libc().setuid(uid) === 0;
}

/** Real and effective ids of the calling thread. */
export function ids(): { uid: number; euid: number; gid: number; egid: number } {
  const c = libc();
  return { uid: c.getuid(), euid: c.geteuid(), gid: c.getgid(), egid: c.getegid() };
}

/** CLOCK_MONOTONIC in microseconds, as systemd expects in MONOTONIC_USEC. */
export function monotonicMicros(): bigint {
  const ts = new BigInt64Array(2);
  small().clock_gettime(1, new Uint8Array(ts.buffer));
  return ts[0] * 1_000_000n + ts[1] / 1000n;
}

/** Owner, group and mode of a path (symlinks followed). */
export interface FileMeta {
  uid: number;
  gid: number;
  /** Permission bits and file type, as in st_mode. */
  mode: number;
  isDirectory: boolean;
}

/**
 * stat(2) through libc's statx, whose layout is the same on every architecture. Metadata
 * only, so it does not need (or use) read permission on the path; undefined when absent.
 */
export function fileMeta(path: string): FileMeta | undefined {
  const buf = new Uint8Array(256);
  if (libc().statx(AT_FDCWD, cString(path), 0, STATX_BASIC_STATS, buf) !== 0) return undefined;
  const v = new DataView(buf.buffer);
  // struct statx: stx_uid at 20, stx_gid at 24, stx_mode (u16) at 28
  const mode = v.getUint16(28, true);
  return {
    uid: v.getUint32(20, true),
    gid: v.getUint32(24, true),
    mode,
    isDirectory: (mode & 0o170000) === 0o040000,
  };
}

/** File type and identity of an inode, from statx. */
export interface Inode extends FileMeta {
  type: "file" | "directory" | "symlink" | "other";
  /** Device as /proc/locks writes it: "MAJOR:MINOR" in two-digit hex. */
  dev: string;
  ino: bigint;
  nlink: number;
  size: bigint;
}

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
const STATX_BASIC_STATS = 0x7ff;

/** open(2) flags (the same on x86_64 and aarch64 Linux). */
export const O_RDONLY = 0;
/** Write only. */
export const O_WRONLY = 1;
/** Create when missing. */
export const O_CREAT = 0o100;
/** With O_CREAT: fail when the name exists, even as a dangling link. */
export const O_EXCL = 0o200;
/** Do not wait on a FIFO or device. */
export const O_NONBLOCK = 0o4000;
/** Fail (ENOTDIR) unless a directory. */
export const O_DIRECTORY = 0o200000;
/** Fail (ELOOP) when the last component is a symbolic link. */
export const O_NOFOLLOW = 0o400000;
/** Not inherited by programs this process starts. */
export const O_CLOEXEC = 0o2000000;

/** errno values this program tells apart. */
export const Errno = { ENOENT: 2, EEXIST: 17, ENOTDIR: 20, ELOOP: 40 } as const;

function inodeOf(buf: Uint8Array): Inode {
  const v = new DataView(buf.buffer);
  // struct statx: nlink 16, uid 20, gid 24, mode (u16) 28, ino 32, size 40, dev_major 136,
  // dev_minor 140
  const mode = v.getUint16(28, true);
  const fmt = mode & 0o170000;
  const hex = (n: number) => n.toString(16).padStart(2, "0");
  return {
    uid: v.getUint32(20, true),
    gid: v.getUint32(24, true),
    mode,
    isDirectory: fmt === 0o040000,
    type: fmt === 0o100000
      ? "file"
      : fmt === 0o040000
      ? "directory"
      : fmt === 0o120000
      ? "symlink"
      : "other",
    dev: `${hex(v.getUint32(136, true))}:${hex(v.getUint32(140, true))}`,
    ino: v.getBigUint64(32, true),
    nlink: v.getUint32(16, true),
    size: v.getBigUint64(40, true),
  };
}

/** lstat(2): the entry itself, a link not followed; undefined when absent (errno set). */
export function lstatInode(path: string): Inode | undefined {
  const buf = new Uint8Array(256);
  if (libc().statx(AT_FDCWD, cString(path), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, buf) !== 0) {
    return undefined;
  }
  return inodeOf(buf);
}

/** fstat(2) of an open descriptor. */
export function fstatInode(fd: number): Inode {
  const buf = new Uint8Array(256);
  if (libc().statx(fd, cString(""), AT_EMPTY_PATH, STATX_BASIC_STATS, buf) !== 0) {
    throw new RuntimeError(`fstat failed: ${lastError()}`);
  }
  return inodeOf(buf);
}

/** open(2); returns the descriptor, or -errno on failure. */
export function openFd(path: string, flags: number, mode = 0): number {
  const fd = libc().open(cString(path), flags, mode);
  return fd < 0 ? -errno() : fd;
}

/** close(2). */
export function closeFd(fd: number): void {
  libc().close(fd);
}

/** fchown(2) on a descriptor; throws with errno's message. */
export function fchown(fd: number, uid: number, gid: number, what: string): void {
  if (libc().fchown(fd, uid, gid) !== 0) {
    throw new RuntimeError(`cannot give ${what} to uid ${uid}: ${lastError()}`);
  }
}

/** fchmod(2) on a descriptor; throws with errno's message. */
export function fchmod(fd: number, mode: number, what: string): void {
  if (libc().fchmod(fd, mode) !== 0) {
    throw new RuntimeError(`cannot set the mode of ${what}: ${lastError()}`);
  }
}

/** Reads up to `max` bytes from a descriptor. */
export function readFd(fd: number, max: number): Uint8Array {
  const buf = new Uint8Array(max);
  let off = 0;
  while (off < max) {
    const n = Number(libc().read(fd, buf.subarray(off), BigInt(max - off)));
    if (n <= 0) break;
    off += n;
  }
  return buf.subarray(0, off);
}

/** readlink(2) (e.g. /proc/PID/exe); undefined when it cannot be read. */
export function readLink(path: string): string | undefined {
  const buf = new Uint8Array(4096);
  const n = Number(libc().readlink(cString(path), buf, BigInt(buf.length)));
  return n < 0 || n >= buf.length ? undefined : new TextDecoder().decode(buf.subarray(0, n));
}

const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

/**
 * Sends a signal through libc (Deno.kill would need the run permission, which the binary's
 * permission set does not grant). Returns false when no such process exists or it is not ours.
 */
export function sendSignal(pid: number, signal: keyof typeof SIGNALS): boolean {
  return libc().kill(pid, SIGNALS[signal]) === 0;
}

const AF_UNIX = 1;
/** Size of `sun_path` in `struct sockaddr_un`, the terminating NUL included. */
const SUN_PATH_BYTES = 108;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;

/**
 * Sends one datagram to a Unix socket path (a leading "@" means the abstract namespace, as in
 * NOTIFY_SOCKET). Returns false when the socket cannot be reached.
 */
export function sendDatagram(path: string, payload: Uint8Array): boolean {
  const c = small();
  const name = enc.encode(path.startsWith("@") ? "\0" + path.slice(1) : path);
  if (name.length > SUN_PATH_BYTES - 1) return false;
  // struct sockaddr_un: sa_family_t (u16) + sun_path[108]
  const addr = new Uint8Array(2 + SUN_PATH_BYTES);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(name, 2);
  const addrLen = 2 + name.length + (path.startsWith("@") ? 0 : 1);
  const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  try {
    const buf = new Uint8Array(payload);
    return Number(c.sendto(fd, buf, BigInt(buf.length), 0, addr, addrLen)) === buf.length;
  } finally {
    c.close(fd);
  }
}

/** Reads a small file (e.g. under /proc) through libc; undefined when it cannot be opened. */
export function readSmallFile(path: string, max = 16384): string | undefined {
  const fd = openFd(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return undefined;
  try {
    return new TextDecoder().decode(readFd(fd, max));
  } finally {
    closeFd(fd);
  }
}

/** Names in a directory (without "." and ".."), read through libc. */
export function listDir(path: string): string[] {
  const c = libc();
  const dir = c.opendir(cString(path));
  if (dir === null) throw new RuntimeError(`cannot list ${path}: ${lastError()}`);
  const names: string[] = [];
  try {
    for (let ent = c.readdir(dir); ent !== null; ent = c.readdir(dir)) {
      // struct dirent (64-bit glibc): d_ino(8) d_off(8) d_reclen(2) d_type(1) d_name at 19;
      // d_reclen covers the name and its NUL.
      const reclen = peek(ent, 19).getUint16(16, true);
      const rec = new Uint8Array(peek(ent, reclen).buffer);
      const end = rec.indexOf(0, 19);
      const name = new TextDecoder().decode(rec.subarray(19, end < 0 ? reclen : end));
      if (name !== "." && name !== "..") names.push(name);
    }
  } finally {
    c.closedir(dir);
  }
  return names;
}
