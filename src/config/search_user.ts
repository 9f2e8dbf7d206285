/**
 * Parser for search_user: one monitored user per line, `user[@host],soft[,hard[,action]]`.
 *
 * - `user,2GB,3GB`: warn above 2 GiB, lock above 3 GiB, unlock below 2 GiB.
 * - `user,500MB`: one limit, used as soft and hard (the established meaning: warn and lock
 *   above 500 MiB); unlocked again below 90 % of it.
 * - `user,,3GB`: hard limit only (no warning); unlocked below 90 % of it.
 * - `user,2GB,3GB,readonly`: the 4th field, `lock` or `readonly`, is this user's action over the
 *   hard limit, instead of the server's `hard_action`. `user,500MB,,readonly`: one limit, as
 *   `user,500MB`, with an action.
 * - `user@host,...`: only that account is locked; without a host, every account with that
 *   user name is. The last `@` separates user and host.
 * - `"we,ird@name"@host,...` or `"we,ird@name",...`: a user name in double quotes is taken as
 *   written (commas, `@`, spaces and all); `\"` and `\\` inside stand for `"` and `\`.
 *
 * `#` starts a comment line. Each user name may appear once. CR, LF and CRLF all end a line.
 * Only ASCII spaces and tabs around fields are trimmed: any other character (a no-break space,
 * say) belongs to the name. Control and invisible characters (C0 other than tab, DEL, C1,
 * format characters such as bidi overrides, line separators) are refused anywhere on a line.
 * @module
 */
import { ConfigError, errorText } from "../errors.ts";
import { findUnsafeChar, quoteValue } from "../util/text.ts";
import { parseSize } from "./size.ts";
import { splitLines } from "./safe_read.ts";
import { ACCOUNT_MAX_CHARS } from "./value_rules.ts";
import { type HardAction, parseHardAction } from "./enforcement.ts";

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
  /** Action over the hard limit given on this line; undefined = the server's `hard_action`. */
  action?: HardAction;
  /** Line in search_user, for messages. */
  line: number;
}

/** A size as written, quoted and cut when it is long (e.g. thousands of leading zeros). */
function short(text: string): string {
  return text.length <= 24 ? text : quoteValue(text, 24);
}

/** Throws the error of one line of search_user. */
type Fail = (message: string) => never;

/**
 * The user and host (undefined: every host) of the first field, `account` (what follows the
 * quoted name when `quoted` is given); `fail`s on an empty, over-long or malformed name.
 */
function accountOf(
  account: string,
  quoted: { name: string } | undefined,
  fail: Fail,
): { user: string; host?: string } {
  let user: string;
  let host: string | undefined;
  if (quoted) {
    user = quoted.name;
    if (account !== "" && !account.startsWith("@")) {
      fail(`unexpected text after the quoted user name; write "name"@host or "name"`);
    }
    host = account === "" ? undefined : account.slice(1);
  } else {
    const at = account.lastIndexOf("@");
    user = at >= 0 ? account.slice(0, at) : account;
    host = at >= 0 ? account.slice(at + 1) : undefined;
  }
  if (user === "") fail("empty user name");
  if (host === "") fail(`empty host after "@" in ${quoteValue(account)}`);
  if (`${user}${host ?? ""}`.includes("\t")) fail("tab inside a user name or host");
  if ([...user].length > ACCOUNT_MAX_CHARS) {
    fail(`user name longer than ${ACCOUNT_MAX_CHARS} characters`);
  }
  if (host !== undefined && [...host].length > 255) fail("host longer than 255 characters");
  return { user, host };
}

/**
 * The soft and hard limits: one size is both; with two, an empty soft means none, and soft
 * must not be above hard.
 */
function limitsOf(
  softText: string,
  hardText: string | undefined,
  fail: Fail,
): { soft?: number; hard: number } {
  const size = (text: string, what: string): number => {
    try {
      return parseSize(text);
    } catch (err) {
      return fail(`${what} limit: ${errorText(err)}`);
    }
  };
  if (hardText === undefined) {
    const soft = size(softText, "soft");
    return { soft, hard: soft };
  }
  const soft = softText === "" ? undefined : size(softText, "soft");
  const hard = size(hardText, "hard");
  if (soft !== undefined && soft > hard) {
    fail(`soft limit ${short(softText)} is above hard limit ${short(hardText)}`);
  }
  return { soft, hard };
}

/** Parses the text of search_user; `file` is used in error messages. */
export function parseSearchUser(text: string, file: string): UserLimit[] {
  const out: UserLimit[] = [];
  const seen = new Map<string, number>();
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = trimBlanks(lines[i]);
    if (line === "" || line.startsWith("#")) continue;
    const fail: Fail = (message) => {
      throw new ConfigError(message, file, lineNo);
    };
    const bad = findUnsafeChar(lines[i], true);
    if (bad) fail(`control character in line (${bad.name} in column ${bad.column}); remove it`);
    const quoted = line.startsWith('"') ? quotedName(line) : undefined;
    if (line.startsWith('"') && !quoted) {
      fail('unterminated quoted user name; write "name",soft[,hard] (\\" for a quote)');
    }
    const rest = quoted ? line.slice(quoted.end) : line;
    const fields = rest.split(",").map(trimBlanks);
    if (fields.length < 2 || fields.length > 4) {
      fail(
        `expected user,soft[,hard[,action]] (e.g. alice,2GB,3GB or alice,2GB,3GB,readonly), ` +
          `got ${fields.length} field(s)`,
      );
    }
    const [account, softText, hardField, actionText] = fields;
    // `user,soft,,action`: one limit with an action, as `user,soft`.
    const hardText = actionText !== undefined && hardField === "" ? undefined : hardField;
    const { user, host } = accountOf(account, quoted, fail);
    const { soft, hard } = limitsOf(softText, hardText, fail);
    const earlier = seen.get(user);
    if (earlier !== undefined) {
      fail(`user ${quoteValue(user)} is listed twice (first on line ${earlier})`);
    }
    seen.set(user, lineNo);
    let action: HardAction | undefined;
    if (actionText !== undefined) {
      try {
        action = parseHardAction(actionText, "action (4th field)");
      } catch (err) {
        fail(errorText(err));
      }
    }
    out.push({ user, host, soft, hard, ...(action ? { action } : {}), line: lineNo });
  }
  return out;
}

/** Removes ASCII spaces and tabs (only those) from both ends. */
function trimBlanks(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, "");
}

/** Reads `"name"` at the start of `line`; `end` is the index after the closing quote. */
function quotedName(line: string): { name: string; end: number } | undefined {
  let name = "";
  for (let i = 1; i < line.length; i++) {
    const c = line[i];
    if (c === '"') return { name, end: i + 1 };
    if (c === "\\" && (line[i + 1] === '"' || line[i + 1] === "\\")) name += line[++i];
    else name += c;
  }
  return undefined;
}
