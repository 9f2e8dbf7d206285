/**
 * Dropping root for the `run_as` user, and proving it took effect on every thread.
 *
 * Order matters: supplementary groups first, then the group id, then the user id (after setuid
 * the process may no longer change groups). glibc applies each change to all threads. The check
 * afterwards reads /proc/self/task/<tid>/status of every thread and requires that `setuid(0)`
 * now fails; anything else is an error, because a half-dropped daemon must not keep running.
 * @module
 */
import { ConfigError, RuntimeError } from "../errors.ts";
import {
  getgroups,
  getpwnam,
  groupsOf,
  listDir,
  type Passwd,
  readSmallFile,
  setgid,
  setgroups,
  setuid,
  trySetuid,
} from "./libc.ts";

/** What {@link dropPrivileges} did. */
export interface DropResult {
  /** False when the process was not root (nothing to drop). */
  dropped: boolean;
  user?: Passwd;
  groups?: number[];
}

/** Where `run_as` was configured, for error messages. */
export interface Origin {
  file?: string;
  line?: number;
}

/** Looks `name` up (NSS); a missing user is a configuration error naming `origin`. */
export function lookupUser(name: string, origin: Origin = {}): Passwd {
  const user = getpwnam(name);
  if (!user) {
    throw new ConfigError(
      `run_as user "${name}" does not exist; create it or set run_as to an existing user`,
      origin.file,
      origin.line,
    );
  }
  return user;
}

/** Credentials of one thread, from /proc/self/task/<tid>/status. */
export interface ThreadCreds {
  tid: string;
  uids: number[];
  gids: number[];
  groups: number[];
}

function field(status: string, name: string): number[] {
  const m = status.match(new RegExp(`^${name}:\\s*(.*)$`, "m"));
  return m ? m[1].trim().split(/\s+/).filter(Boolean).map(Number) : [];
}

/** Credentials of every thread of this process. */
export function threadCredentials(): ThreadCreds[] {
  return listDir("/proc/self/task").map((tid) => {
    const status = readSmallFile(`/proc/self/task/${tid}/status`) ?? "";
    return {
      tid,
      uids: field(status, "Uid"),
      gids: field(status, "Gid"),
      groups: field(status, "Groups"),
    };
  }).filter((t) => t.uids.length > 0);
}

/**
 * Switches to `name` when running as root: setgroups(user's groups) → setgid → setuid, then
 * verifies every thread. Not root: does nothing and says so.
 */
export function dropPrivileges(name: string, origin: Origin = {}): DropResult {
  if (Deno.uid() !== 0) return { dropped: false };
  const user = lookupUser(name, origin);
  const groups = [...new Set(groupsOf(user))].sort((a, b) => a - b);
  setgroups(groups);
  setgid(user.gid);
  setuid(user.uid);
  verifyDropped(user, groups);
  return { dropped: true, user, groups };
}

/** Throws unless every thread runs as `user` with exactly `groups` and root cannot be regained. */
export function verifyDropped(user: Passwd, groups: number[]): void {
  const want = [...groups].sort((a, b) => a - b).join(",");
  const threads = threadCredentials();
  if (threads.length === 0) throw new RuntimeError("privilege drop: cannot read /proc/self/task");
  for (const t of threads) {
    const have = [...t.groups].sort((a, b) => a - b).join(",");
    if (t.uids.some((u) => u !== user.uid) || t.gids.some((g) => g !== user.gid) || have !== want) {
      throw new RuntimeError(
        `privilege drop incomplete: thread ${t.tid} has uid ${t.uids.join("/")} gid ` +
          `${t.gids.join("/")} groups ${
            have || "-"
          }, expected ${user.uid}/${user.gid} groups ${want}`,
      );
    }
  }
  const own = getgroups().sort((a, b) => a - b).join(",");
  if (own !== want) throw new RuntimeError(`privilege drop: groups are ${own}, expected ${want}`);
  if (trySetuid(0)) throw new RuntimeError("privilege drop failed: setuid(0) still succeeds");
}
