/**
 * Rules for configuration values that end up as paths, host names, account names and labels,
 * shared by search.conf and conntracker.ini. Each function returns what is wrong, worded to
 * follow the key ("db_id must be …"), or undefined when the value is fine.
 *
 * The limits are the system's own, so that a value is refused when it is read rather than on
 * every cycle later ("File name too long"): a path holds at most 4095 bytes with components of
 * at most 255, a Unix socket path at most 107 bytes (`sun_path`), and a label becomes part of
 * file names, so it stays short and plain.
 * @module
 */
import { findUnsafeChar } from "../util/text.ts";

/** Longest path accepted, in bytes (PATH_MAX minus the terminating NUL). */
export const PATH_MAX_BYTES = 4095;
/** Longest path component, in bytes (NAME_MAX). */
export const NAME_MAX_BYTES = 255;
/** The port a MySQL/MariaDB server listens on when nothing else says. */
export const MYSQL_DEFAULT_PORT = 3306;
/** Highest TCP port number. */
export const MAX_PORT = 65535;
/** Longest Unix socket path, in bytes (`sun_path` minus the terminating NUL). */
export const SOCKET_MAX_BYTES = 107;
/** Longest file name this program creates from a configured name (room left for suffixes). */
export const WRITTEN_NAME_MAX_BYTES = 200;
/** Longest MySQL/MariaDB account name accepted (MariaDB allows 128 characters since 10.6). */
export const ACCOUNT_MAX_CHARS = 128;
/** Longest label (`db_id`, `[server NAME]`), in characters. */
export const LABEL_MAX_CHARS = 64;

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text).length;

function invisible(value: string): string | undefined {
  const bad = findUnsafeChar(value);
  return bad ? `must not hold control or invisible characters (${bad.name})` : undefined;
}

/** What a path names: a file this program writes, a directory, anything, or a Unix socket. */
export type PathKind = "written file" | "file" | "dir" | "any" | "socket";

/** Checks an absolute path of the given kind. */
export function pathProblem(value: string, kind: PathKind): string | undefined {
  if (!value.startsWith("/")) return "must be an absolute path";
  const chars = invisible(value);
  if (chars) return chars;
  const size = bytes(value);
  if (kind === "socket" && size > SOCKET_MAX_BYTES) {
    return `must be at most ${SOCKET_MAX_BYTES} bytes long (the limit of a Unix socket path)`;
  }
  if (size > PATH_MAX_BYTES) return `must be at most ${PATH_MAX_BYTES} bytes long`;
  const parts = value.split("/");
  if (parts.some((p) => bytes(p) > NAME_MAX_BYTES)) {
    return `must not have a path component longer than ${NAME_MAX_BYTES} bytes`;
  }
  const last = parts[parts.length - 1];
  if (kind !== "dir" && kind !== "any" && (last === "" || last === "." || last === "..")) {
    return "must name a file, not a directory";
  }
  if (kind === "written file" && bytes(last) > WRITTEN_NAME_MAX_BYTES) {
    return `must end in a file name of at most ${WRITTEN_NAME_MAX_BYTES} bytes (suffixes are added to it)`;
  }
  return undefined;
}

/** Checks a plain file name (no directory part). */
export function fileNameProblem(value: string): string | undefined {
  if (value.includes("/")) return 'must be a file name without "/"';
  if (value === "." || value === "..") return "must name a file";
  return invisible(value) ??
    (bytes(value) > NAME_MAX_BYTES ? `must be at most ${NAME_MAX_BYTES} bytes long` : undefined);
}

/** Checks a host name or IP address (IPv6 with or without brackets). */
export function hostProblem(value: string): string | undefined {
  if (value.length > 255) return "must be at most 255 characters long";
  const plain = /^\[[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?\]$/.test(value) ||
    /^[A-Za-z0-9_.:-]+(?:%[A-Za-z0-9_.-]+)?$/.test(value);
  return plain ? undefined : "must be a host name or an IP address";
}

/** Checks a MySQL/MariaDB account (user) name. */
export function accountProblem(value: string): string | undefined {
  if (value === "") return "must not be empty";
  return invisible(value) ??
    ([...value].length > ACCOUNT_MAX_CHARS
      ? `must be at most ${ACCOUNT_MAX_CHARS} characters long`
      : undefined);
}

/** Checks a label that names a server in metrics, logs and file names. */
export function labelProblem(value: string): string | undefined {
  return new RegExp(`^[A-Za-z0-9_.:-]{1,${LABEL_MAX_CHARS}}$`).test(value)
    ? undefined
    : `must be 1 to ${LABEL_MAX_CHARS} letters, digits, _ . : -`;
}

/** Checks a system user given by name or uid (`run_as`). */
export function systemUserProblem(value: string): string | undefined {
  if (/^\d{1,10}$/.test(value) && Number(value) < 2 ** 32 - 1) return undefined;
  return /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/.test(value)
    ? undefined
    : "must be a system user name (at most 32 letters, digits, _ . -) or a uid";
}
