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
 * `#` starts a comment line. Each user name may appear once.
 * @module
 */
import { ConfigError } from "../errors.ts";
import { parseSize } from "./size.ts";

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

/** Parses the text of search_user; `file` is used in error messages. */
export function parseSearchUser(text: string, file: string): UserLimit[] {
  const out: UserLimit[] = [];
  const seen = new Map<string, number>();
  // A byte-order mark from a Windows editor is not part of the first key.
  const lines = text.replace(/^\ufeff/, "").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i].replace(/\r$/, "");
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const fail = (message: string): never => {
      throw new ConfigError(message, file, lineNo);
    };
    // deno-lint-ignore no-control-regex
    if (/[\x00-\x1f\x7f]/.test(line)) fail("control character in line");
    const fields = line.split(",").map((f) => f.trim());
    if (fields.length < 2 || fields.length > 3) {
      fail(`expected user,soft[,hard] (e.g. alice,2GB,3GB), got ${fields.length} field(s)`);
    }
    const [account, softText, hardText] = fields;
    const at = account.lastIndexOf("@");
    const user = at >= 0 ? account.slice(0, at) : account;
    const host = at >= 0 ? account.slice(at + 1) : undefined;
    if (user === "") fail("empty user name");
    if (host === "") fail(`empty host after "@" in "${account}"`);
    if ([...user].length > 128) fail("user name longer than 128 characters");
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
        fail(`soft limit ${softText} is above hard limit ${hardText}`);
      }
    }
    const earlier = seen.get(user);
    if (earlier !== undefined) fail(`user "${user}" is listed twice (first on line ${earlier})`);
    seen.set(user, lineNo);
    out.push({ user, host, soft, hard, line: lineNo });
  }
  return out;
}
