/**
 * What another user will be allowed to do with a path, judged from the mode bits of the path
 * and of every directory above it. The daemon checks this as root, before it drops to run_as,
 * so that a file it will need later is reported now, with the fix, instead of failing hours
 * later on a reload. POSIX ACLs are not consulted. Metadata comes from statx through libc, so
 * the walk up to / needs no read permission on the directories above.
 * @module
 */
import { dirOf } from "../util/path.ts";
import { type FileMeta, fileMeta } from "./libc.ts";

/** The identity to check for. */
export interface Identity {
  uid: number;
  gid: number;
  groups: readonly number[];
}

/** What the identity needs: read a file, append to it, or replace files in its directory. */
export type Need = "read" | "append" | "replace";

function allows(info: FileMeta, who: Identity, bit: 4 | 2 | 1): boolean {
  if (who.uid === 0) return bit !== 1 || (info.mode & 0o111) !== 0 || info.isDirectory;
  const mode = info.mode;
  if (info.uid === who.uid) return ((mode >> 6) & bit) !== 0;
  if (info.gid === who.gid || who.groups.includes(info.gid)) {
    return ((mode >> 3) & bit) !== 0;
  }
  return (mode & bit) !== 0;
}

/**
 * Why `who` could not do `need` on `path`, or undefined when it can. A path that does not
 * exist yet is judged by whether it could be created in its directory.
 */
export function accessProblem(path: string, who: Identity, need: Need): string | undefined {
  const dir = need === "replace" ? path : dirOf(path);
  // Every directory from / down to `dir` must be searchable.
  const parts = dir.split("/").filter(Boolean);
  let cur = "";
  for (const part of ["", ...parts]) {
    cur = part === "" ? "/" : `${cur === "/" ? "" : cur}/${part}`;
    const info = fileMeta(cur);
    if (!info) return `${cur} does not exist`;
    if (!allows(info, who, 1)) return `cannot enter directory ${cur}`;
  }
  const dirInfo = fileMeta(dir)!;
  if (need === "replace") {
    return allows(dirInfo, who, 2) ? undefined : `cannot create or rename files in ${dir}`;
  }
  const info = fileMeta(path);
  if (!info) {
    if (need === "read") return `${path} does not exist`;
    return allows(dirInfo, who, 2) ? undefined : `cannot create ${path} in ${dir}`;
  }
  const bit = need === "read" ? 4 : 2;
  return allows(info, who, bit)
    ? undefined
    : `cannot ${need === "read" ? "read" : "write"} ${path}`;
}
