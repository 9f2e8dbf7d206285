/**
 * The one way every configuration file is read: search.conf, search_user, password files, the
 * TLS files, conntracker.ini and the passwd database.
 *
 * A path from a configuration may name anything: `/dev/zero` (endless), a FIFO (an `open` that
 * never returns), a directory, a 4 GiB log. So the file is opened once, without blocking
 * (`O_NONBLOCK`: opening a FIFO returns at once), the open handle is `fstat`ed, and only a
 * regular file below a size cap is read; the caller's own checks (a password file's mode and
 * owner) run on that same handle before the first byte is read. The text must be UTF-8; a
 * leading byte-order mark is dropped. Every failure is a one-line {@link ConfigError} naming the
 * file (and the line, for bad UTF-8); a refusal by Deno's permission set is passed on unchanged
 * (main.ts explains it).
 * @module
 */
import { constants, open } from "node:fs/promises";
import { ConfigError, errorText } from "../errors.ts";

/** Size cap of list-like files: search.conf, search_user, conntracker.ini, /etc/passwd. */
export const LIST_MAX_BYTES = 16 * 1024 * 1024;
/** Size cap of certificate files (a CA bundle such as Debian's holds ~150 certificates). */
export const CERT_MAX_BYTES = 1024 * 1024;
/** Size cap of secrets: password files and private keys. */
export const SECRET_MAX_BYTES = 64 * 1024;

/** What {@link readConfigText} knows of the open file before reading it. */
export interface OpenFileInfo {
  /** Permission bits and file type, as in `st_mode`. */
  mode: number;
  uid: number;
  size: number;
}

/** Options for {@link readConfigText}. */
export interface SafeReadOptions {
  /** Refuse the file when it is larger than this many bytes. */
  maxBytes: number;
  /** How the file is called in messages, e.g. "password file" (default "file"). */
  label?: string;
  /** The message for a missing file (default "<label> not found"). */
  notFound?: string;
  /** Checks on the open handle before anything is read; throws to refuse the file. */
  check?: (info: OpenFileInfo) => void;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Splits text into lines; CR, LF and CRLF all end a line. */
export function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

function typeName(mode: number): string {
  switch (mode & constants.S_IFMT) {
    case constants.S_IFDIR:
      return "a directory";
    case constants.S_IFIFO:
      return "a FIFO (named pipe)";
    case constants.S_IFCHR:
      return "a character device";
    case constants.S_IFBLK:
      return "a block device";
    case constants.S_IFSOCK:
      return "a socket";
    default:
      return "not a regular file";
  }
}

function sizeText(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  return bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`;
}

const WHY: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "permission denied",
  ENOTDIR: "a part of the path is not a directory",
  ELOOP: "too many levels of symbolic links",
  ENAMETOOLONG: "the path is too long",
  EIO: "input/output error",
};

/**
 * Reads `path` as described in the module documentation and returns its text (UTF-8, without
 * a byte-order mark). Throws ConfigError for anything but a readable regular UTF-8 file of at
 * most `maxBytes` bytes.
 */
export async function readConfigText(path: string, options: SafeReadOptions): Promise<string> {
  const bytes = await readConfigBytes(path, options);
  try {
    return utf8.decode(bytes);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    throw new ConfigError(
      `${options.label ?? "file"} is not valid UTF-8 (save it as UTF-8)`,
      path,
      firstBadLine(bytes),
    );
  }
}

/** Like {@link readConfigText}, without decoding. */
export async function readConfigBytes(
  path: string,
  options: SafeReadOptions,
): Promise<Uint8Array> {
  const label = options.label ?? "file";
  const fail = (message: string): never => {
    throw new ConfigError(message, path);
  };
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable) throw err;
    const code = (err as { code?: string }).code ?? "";
    if (code === "ENOENT") return fail(options.notFound ?? `${label} not found`);
    return fail(`cannot read ${label}: ${WHY[code] ?? errorText(err)}`);
  }
  try {
    const st = await handle.stat();
    if ((st.mode & constants.S_IFMT) !== constants.S_IFREG) {
      fail(`${label} is ${typeName(st.mode)}, not a regular file`);
    }
    const tooBig = () =>
      fail(`${label} is larger than ${sizeText(options.maxBytes)}; is this the right file?`);
    if (st.size > options.maxBytes) tooBig();
    options.check?.({ mode: st.mode, uid: st.uid, size: st.size });
    // The size may change under us (or be 0 for generated files): read up to the cap plus one
    // byte, growing the buffer as needed.
    let buf = new Uint8Array(Math.min(st.size, options.maxBytes) + 1);
    let used = 0;
    for (;;) {
      if (used === buf.length) {
        if (used > options.maxBytes) tooBig();
        const bigger = new Uint8Array(Math.min(buf.length * 2, options.maxBytes + 1));
        bigger.set(buf);
        buf = bigger;
      }
      const { bytesRead } = await handle.read(buf, used, buf.length - used, null);
      if (bytesRead === 0) break;
      used += bytesRead;
    }
    if (used > options.maxBytes) tooBig();
    let out = buf.subarray(0, used);
    if (out[0] === 0xef && out[1] === 0xbb && out[2] === 0xbf) out = out.subarray(3);
    return out;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof Deno.errors.NotCapable) throw err;
    const code = (err as { code?: string }).code ?? "";
    return fail(`cannot read ${label}: ${WHY[code] ?? errorText(err)}`);
  } finally {
    await handle.close();
  }
}

/** The 1-based line (CR, LF and CRLF end lines) holding the first byte that is not UTF-8. */
function firstBadLine(bytes: Uint8Array): number {
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    const c = bytes[i];
    if (i < bytes.length && c !== 0x0a && c !== 0x0d) continue;
    try {
      utf8.decode(bytes.subarray(start, i));
    } catch (err) {
      if (err instanceof TypeError) return line;
      throw err;
    }
    if (c === 0x0d && bytes[i + 1] === 0x0a) i++;
    line++;
    start = i + 1;
  }
  return line;
}
