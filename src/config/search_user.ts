/**
 * Parser for search_user: one monitored user per line, `user[@host],soft[,hard]`.
 *
 * - `user,2GB,3GB`: warn above 2 GiB, lock above 3 GiB, unlock below 2 GiB.
 * - `user,500MB`: one limit, used as soft and hard (the established meaning: warn and lock
 *   above 500 MiB); unlocked again below 90 % of it.
 * - `user,,3GB`: hard limit only (no warning); unlocked below 90 % of it.
 * - `user@host,...`: only that account is locked; without a host, every account with that
 *   user name is. The last `@` separates user and host.
 *
 * `#` starts a comment line. Each user name may appear once. CR, LF and CRLF all end a line.
 * Control and invisible characters (C0, DEL, C1, format characters such as bidi overrides,
 * line separators) are refused anywhere on a line.
 * @module
 */
import { ConfigError } from "../errors.ts";
import { findUnsafeChar, quoteValue } from "../util/text.ts";
import { parseSize } from "./size.ts";
import { splitLines } from "./safe_read.ts";
import { ACCOUNT_MAX_CHARS } from "./value_rules.ts";

/** One line of search_user. */
export interface UserLimit {
  /** MySQL user name. */
  user: string;
  /** Host part when the line names one account (`user@host`). */
  host?: string;
  /** Warning threshold in bytes, when there is one. */
  soft?: number;
  /** Lock threshold in bytes. */
  hard: number;
  /** Line in search_user, for messages. */
  line: number;
}

/** A size as written, quoted and cut when it is long (e.g. thousands of leading zeros). */
function short(text: string): string {
  return text.length <= 24 ? text : quoteValue(text, 24);
}

/** Parses the text of search_user; `file` is used in error messages. */
export function parseSearchUser(text: string, file: string): UserLimit[] {
  const out: UserLimit[] = [];
  const seen = new Map<string, number>();
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    const fail = (message: string): never => {
      throw new ConfigError(message, file, lineNo);
    };
    const bad = findUnsafeChar(lines[i]);
    if (bad) fail(`control character in line (${bad.name} in column ${bad.column}); remove it`);
    const fields = line.split(",").map((f) => f.trim());
    if (fields.length < 2 || fields.length > 3) {
      fail(`expected user,soft[,hard] (e.g. alice,2GB,3GB), got ${fields.length} field(s)`);
    }
    const [account, softText, hardText] = fields;
    const at = account.lastIndexOf("@");
    const user = at >= 0 ? account.slice(0, at) : account;
    const host = at >= 0 ? account.slice(at + 1) : undefined;
    if (user === "") fail("empty user name");
    if (host === "") fail(`empty host after "@" in ${quoteValue(account)}`);
    if ([...user].length > ACCOUNT_MAX_CHARS) {
      fail(`user name longer than ${ACCOUNT_MAX_CHARS} characters`);
    }
    if (host !== undefined && [...host].length > 255) fail("host longer than 255 characters");
    const size = (text: string, what: string): number => {
      try {
        return parseSize(text);
      } catch (err) {
        return fail(`${what} limit: ${(err as Error).message}`);
      }
    };
    let soft: number | undefined;
    let hard: number;
    if (hardText === undefined) {
      soft = size(softText, "soft");
      hard = soft;
    } else {
      soft = softText === "" ? undefined : size(softText, "soft");
      hard = size(hardText, "hard");
      if (soft !== undefined && soft > hard) {
        fail(`soft limit ${short(softText)} is above hard limit ${short(hardText)}`);
      }
    }
    const earlier = seen.get(user);
    if (earlier !== undefined) {
      fail(`user ${quoteValue(user)} is listed twice (first on line ${earlier})`);
    }
    seen.set(user, lineNo);
    out.push({ user, host, soft, hard, line: lineNo });
  }
  return out;
}
