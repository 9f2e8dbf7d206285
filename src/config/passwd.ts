/**
 * The monitor account's password file: one password per line; blank lines and lines starting
 * with `#` are skipped. Entry N (from 0) belongs to the server whose `db_id` is N, as in the
 * established layout; a server can also name its entry with `passwd_index`.
 *
 * The file must not be accessible by group or others and must be owned by root or by the
 * `run_as` user; the password itself is never put in a message.
 * @module
 */
import { ConfigError } from "../errors.ts";

/** Password entries of one file. */
export interface PasswordFile {
  file: string;
  entries: string[];
}

/** Reads and checks a password file; `allowedUids` are the owners accepted (root, run_as). */
export async function readPasswordFile(
  file: string,
  allowedUids: number[],
): Promise<PasswordFile> {
  let info: Deno.FileInfo;
  let text: string;
  try {
    info = await Deno.stat(file);
    text = await Deno.readTextFile(file);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new ConfigError("password file not found", file);
    }
    throw new ConfigError(`cannot read password file: ${(err as Error).message}`, file);
  }
  const mode = (info.mode ?? 0) & 0o777;
  if (mode & 0o077) {
    throw new ConfigError(
      `password file is accessible by group or others (mode ${
        mode.toString(8).padStart(4, "0")
      }); ` +
        `run chmod 600 on it`,
      file,
    );
  }
  if (info.uid !== null && !allowedUids.includes(info.uid)) {
    throw new ConfigError(
      `password file is owned by uid ${info.uid}; it must belong to root or the run_as user`,
      file,
    );
  }
  const entries = text.split("\n").map((l) => l.replace(/\r$/, "")).filter((l) =>
    l.trim() !== "" && !l.trimStart().startsWith("#")
  );
  return { file, entries };
}

/** The password for entry `index`; the error names the file and the entry, never a value. */
export function passwordAt(pw: PasswordFile, index: number, server: string): string {
  if (index >= pw.entries.length) {
    throw new ConfigError(
      `no password entry #${index} for server "${server}" (the file has ${pw.entries.length}; ` +
        `entries count from 0, comments and blank lines skipped)`,
      pw.file,
    );
  }
  return pw.entries[index];
}
