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
import { readConfigText, SECRET_MAX_BYTES, splitLines } from "./safe_read.ts";

/** Password entries of one file. */
export interface PasswordFile {
  file: string;
  entries: string[];
}

/**
 * Reads and checks a password file; `allowedUids` are the owners accepted (root, run_as).
 * Mode and owner are checked on the open handle before a byte is read; the file must be a
 * regular file of at most 64 KiB. `label` names the file in messages (another secret kept the
 * same way, such as the webhook's signing secret, is read with this function too).
 */
export async function readPasswordFile(
  file: string,
  allowedUids: number[],
  label = "password file",
): Promise<PasswordFile> {
  const text = await readConfigText(file, {
    maxBytes: SECRET_MAX_BYTES,
    label,
    check: ({ mode, uid }) => {
      const perms = mode & 0o777;
      if (perms & 0o077) {
        throw new ConfigError(
          `${label} is accessible by group or others (mode ${
            perms.toString(8).padStart(4, "0")
          }); run chmod 600 on it`,
          file,
        );
      }
      if (!allowedUids.includes(uid)) {
        throw new ConfigError(
          `${label} is owned by uid ${uid}; it must belong to root or the run_as user`,
          file,
        );
      }
    },
  });
  const entries = splitLines(text).filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#"));
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
