/**
 * Which audit files to read and from where: discovery of the audit logs (by name or by their
 * first bytes) and their numbered rotations, and the comparison with the stored checkpoints (by
 * inode and content fingerprint).
 * @module
 */
import { errorText } from "../errors.ts";
import { type Checkpoint, FINGERPRINT_BYTES } from "./store.ts";

/** An audit file present now. */
export interface AuditFile {
  path: string;
  /** The name without its rotation suffix: files with the same base are one log's rotations. */
  base: string;
  /** 0 for the live log, N for the rotation `.N` (`.0N` when zero-padded). */
  rank: number;
  /** The file the server writes to now (may still grow): rank 0 of the newest log. */
  live: boolean;
  ino: number;
  size: number;
  mtimeMs: number;
  /** Hex of the first {@link FINGERPRINT_BYTES} bytes, read when the file was listed. */
  fingerprint: string;
}

/** What {@link discoverAuditFiles} found. */
export interface Discovery {
  /** The audit files, oldest first: each log's rotations from the highest number down. */
  files: AuditFile[];
  /** Regular files looked at (audit or not). */
  examined: number;
  /** Files that could not be inspected (not permitted, I/O error), each with why; skipped. */
  unreadable: { path: string; error: string }[];
}

/** How discovery reads a file's first bytes; a test can put a failing reader in its place. */
export type HeadReader = (path: string, n: number) => Uint8Array;

/** The live log's name when nothing else says (MariaDB's `server_audit_file_path` default). */
export const DEFAULT_AUDIT_FILE = "server_audit.log";

/** Bytes read from each file to recognise an audit log (a record head with a long host). */
const HEAD_BYTES = 512;

/**
 * Lists the audit files in `dir`, oldest first. With `base`, only `base` and its numbered
 * rotations `base.N` (N of any width: the server zero-pads when it keeps ten or more). Without,
 * every regular file whose first bytes are a server_audit record head
 * (`YYYYMMDD HH:MM:SS,host,`), whatever its name — MariaDB's `server_audit_file_path` can name
 * any file, and the Go tool reads every file of the directory — plus `server_audit.log` and its
 * rotations while they are still empty. Files named `X.N` are rotation N of `X`; the live log is
 * rank 0 of the log whose rank 0 was written last. Symlinks and subdirectories are not
 * followed, and a file that does not start like a record (binary files, compressed rotations,
 * the SQLite database) is never passed to the parser.
 */
export function discoverAuditFiles(
  dir: string,
  base?: string,
  head: HeadReader = readHead,
): Discovery {
  const files: AuditFile[] = [];
  const unreadable: Discovery["unreadable"] = [];
  let examined = 0;
  for (const entry of Deno.readDirSync(dir)) {
    if (!entry.isFile) continue;
    examined++;
    const name = entry.name;
    const m = /^(.+)\.(\d{1,4})$/.exec(name);
    const rank = m && Number(m[2]) > 0 ? Number(m[2]) : 0;
    const group = rank > 0 ? m![1] : name;
    // Files named like the log are taken as they are (the parser copes with any bytes); any
    // other file only when it starts like a record.
    const named = group === (base ?? DEFAULT_AUDIT_FILE);
    if (base !== undefined && !named) continue;
    const path = `${dir}/${name}`;
    let info: Deno.FileInfo;
    let first: Uint8Array;
    try {
      info = Deno.statSync(path);
      first = head(path, Math.min(info.size, named ? FINGERPRINT_BYTES : HEAD_BYTES));
    } catch (err) {
      // Rotated away between readDir and stat: picked up under its new name.
      if (err instanceof Deno.errors.NotFound) continue;
      unreadable.push({ path, error: errorText(err) });
      continue;
    }
    if (!named && !isRecordHead(first)) continue;
    files.push({
      path,
      base: group,
      rank,
      live: false,
      ino: info.ino ?? 0,
      size: info.size,
      mtimeMs: info.mtime?.getTime() ?? 0,
      fingerprint: hex(first.subarray(0, FINGERPRINT_BYTES)),
    });
  }
  // Each log's files together, the log written to last at the end; then by rank.
  const newest = new Map<string, number>();
  for (const f of files) newest.set(f.base, Math.max(newest.get(f.base) ?? 0, f.mtimeMs));
  files.sort((a, b) =>
    a.base === b.base
      ? b.rank - a.rank
      : newest.get(a.base)! - newest.get(b.base)! || (a.base < b.base ? -1 : 1)
  );
  const last = files.at(-1);
  if (last?.rank === 0) last.live = true;
  return { files, examined, unreadable };
}

/**
 * True when `head` starts like a server_audit record: `YYYYMMDD HH:MM:SS,` with plausible
 * date and time, then a server host (1 to 255 printable bytes, no comma) and a comma.
 */
export function isRecordHead(head: Uint8Array): boolean {
  const text = String.fromCharCode(...head.subarray(0, Math.min(head.length, 18 + 256)));
  const m = /^(\d{4})(\d\d)(\d\d) (\d\d):(\d\d):(\d\d),[\x21-\x2b\x2d-\x7e\x80-\xff]{1,255},/
    .exec(text);
  if (!m) return false;
  const [month, day, hour, minute, second] = m.slice(2).map(Number);
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 &&
    second <= 60;
}

/** The first `n` bytes of a file (fewer when it is shorter). */
function readHead(path: string, n: number): Uint8Array {
  const f = Deno.openSync(path, { read: true });
  try {
    return readUpTo(f, n);
  } finally {
    f.close();
  }
}

/** Up to `n` bytes from the open file's current position (fewer at its end). */
export function readUpTo(f: Deno.FsFile, n: number): Uint8Array {
  const buf = new Uint8Array(n);
  let got = 0;
  while (got < buf.length) {
    const k = f.readSync(buf.subarray(got));
    if (!k) break;
    got += k;
  }
  return buf.subarray(0, got);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Hex of a file's first bytes. */
export function fingerprintOf(path: string, size: number): string {
  return hex(readHead(path, Math.min(size, FINGERPRINT_BYTES)));
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
