/**
 * Which audit files to read and from where: discovery of the live log and its numbered
 * rotations, and the comparison with the stored checkpoints (by inode and content fingerprint).
 * @module
 */
import { type Checkpoint, FINGERPRINT_BYTES } from "./store.ts";

/** An audit file present now. */
export interface AuditFile {
  path: string;
  /** 0 for the live log, N for the rotation `.N` (`.0N` when zero-padded). */
  rank: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

/**
 * Lists `base` and `base.N` in `dir` (N of any width: the server zero-pads when it keeps ten
 * or more rotations), oldest first. Nothing else in the directory is looked at, not even
 * symlinks, so binary files next to the log never reach the parser.
 */
export function discoverAuditFiles(dir: string, base: string): AuditFile[] {
  const files: AuditFile[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (!entry.isFile) continue;
    let rank: number;
    if (entry.name === base) rank = 0;
    else if (
      entry.name.startsWith(base + ".") && /^\d{1,4}$/.test(entry.name.slice(base.length + 1))
    ) {
      rank = Number(entry.name.slice(base.length + 1));
      if (rank === 0) continue;
    } else continue;
    const path = `${dir}/${entry.name}`;
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(path);
    } catch {
      continue; // rotated away between readDir and stat; picked up under its new name
    }
    files.push({
      path,
      rank,
      ino: info.ino ?? 0,
      size: info.size,
      mtimeMs: info.mtime?.getTime() ?? 0,
    });
  }
  return files.sort((a, b) => b.rank - a.rank);
}

/** Hex of a file's first bytes. */
export function fingerprintOf(path: string, size: number): string {
  const f = Deno.openSync(path, { read: true });
  try {
    const buf = new Uint8Array(Math.min(size, FINGERPRINT_BYTES));
    let got = 0;
    while (got < buf.length) {
      const n = f.readSync(buf.subarray(got));
      if (!n) break;
      got += n;
    }
    return Array.from(buf.subarray(0, got), (b) => b.toString(16).padStart(2, "0")).join("");
  } finally {
    f.close();
  }
}

/** Where to start reading one file, and why. */
export interface FilePlan {
  file: AuditFile;
  fingerprint: string;
  start: number;
  /** Checkpoint found for this content, if any. */
  checkpoint?: Checkpoint;
  /** Set when the stored progress no longer applies. */
  reset?: "truncated" | "replaced";
}

/** Decides the start offset of `file` from its checkpoint (same inode and same first bytes). */
export function planFile(
  file: AuditFile,
  fingerprint: string,
  cp: Checkpoint | undefined,
): FilePlan {
  if (!cp) return { file, fingerprint, start: 0 };
  if (
    !fingerprint.startsWith(cp.fingerprint) ||
    cp.fingerprint === "" && fingerprint !== "" && cp.offset > 0
  ) {
    return { file, fingerprint, start: 0, reset: file.size < cp.offset ? "truncated" : "replaced" };
  }
  if (file.size < cp.offset) return { file, fingerprint, start: 0, reset: "truncated" };
  return { file, fingerprint, start: cp.offset, checkpoint: cp };
}

/**
 * Checkpoints whose content is gone although it may have held unread records: the file
 * vanished (rotated away) or its inode now holds other content (truncated, or freed and
 * reused), and it was the live log at the last run (so it may have grown after that run) or had
 * not been read to its end.
 */
export function lostFiles(
  previous: Map<number, Checkpoint>,
  plans: FilePlan[],
): { checkpoint: Checkpoint; how: "rotated away" | "truncated or replaced" }[] {
  const byIno = new Map(plans.map((p) => [p.file.ino, p]));
  const lost: { checkpoint: Checkpoint; how: "rotated away" | "truncated or replaced" }[] = [];
  for (const cp of previous.values()) {
    if (!cp.live && cp.offset >= cp.size) continue;
    const plan = byIno.get(cp.ino);
    if (!plan) lost.push({ checkpoint: cp, how: "rotated away" });
    else if (plan.reset) lost.push({ checkpoint: cp, how: "truncated or replaced" });
  }
  return lost;
}
