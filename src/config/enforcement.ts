/**
 * Values of the keys that shape enforcement and notifications: `hard_grace`, `hard_action` and
 * `notify_url`. Each parser throws a SyntaxError worded to follow the key name
 * ("hard_grace must be …"); config.ts and search_user.ts add file and line.
 *
 * - `hard_grace`: how long a user may stay over the hard limit before the hard action is taken.
 *   `0` (the default: act at once, as before), a duration `90s`, `30m`, `2h`, `1d` (at most
 *   365 days), or a number of scans `3 scans` / `1 scan` (at most 10,000). A bare number other
 *   than 0 is refused: it would be unclear whether seconds or scans are meant.
 * - `hard_action`: `lock` (ACCOUNT LOCK, the default) or `readonly` (revoke the privileges that
 *   let data grow).
 * - `notify_url`: an absolute `http://` or `https://` URL with a host and no user name or
 *   password: a credential in the URL would be shown in logs and `--once` output, where a
 *   configured URL is printed; authenticate the receiver with `notify_secret_file` instead.
 * @module
 */
import { findUnsafeChar, quoteValue } from "../util/text.ts";

/** How long a user stays over the hard limit before the hard action: seconds or scans. */
export type HardGrace =
  | { readonly unit: "seconds"; readonly value: number }
  | { readonly unit: "scans"; readonly value: number };

/** The default grace: act at the first scan over the hard limit. */
export const NO_GRACE: HardGrace = Object.freeze({ unit: "seconds", value: 0 });

/** What happens to an account over its hard limit. */
export type HardAction = "lock" | "readonly";

/** The accepted hard actions, the default first. */
export const HARD_ACTIONS: readonly HardAction[] = ["lock", "readonly"];

/** Longest grace as a duration, in seconds (365 days). */
export const GRACE_MAX_SECONDS = 365 * 86400;
/** Longest grace in scans. */
export const GRACE_MAX_SCANS = 10_000;
/** Longest notify_url accepted, in characters. */
export const NOTIFY_URL_MAX_CHARS = 2048;

const SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Parses a `hard_grace` value (see the module comment). */
export function parseHardGrace(text: string): HardGrace {
  const value = text.trim();
  if (value === "0") return NO_GRACE;
  const duration = /^(\d{1,12})\s*([smhd])$/.exec(value);
  if (duration) {
    const seconds = Number(duration[1]) * SECONDS[duration[2]];
    if (seconds > GRACE_MAX_SECONDS) {
      throw new SyntaxError(`hard_grace must be at most 365d, got ${quoteValue(value)}`);
    }
    return { unit: "seconds", value: seconds };
  }
  const scans = /^(\d{1,12})\s*scans?$/.exec(value);
  if (scans) {
    const n = Number(scans[1]);
    if (n > GRACE_MAX_SCANS) {
      throw new SyntaxError(
        `hard_grace must be at most ${GRACE_MAX_SCANS} scans, got ${quoteValue(value)}`,
      );
    }
    return n === 0 ? NO_GRACE : { unit: "scans", value: n };
  }
  throw new SyntaxError(
    `hard_grace must be 0, a duration (90s, 30m, 2h, 1d) or a number of scans (3 scans), ` +
      `got ${quoteValue(value)}`,
  );
}

/** Writes a grace the way it can be configured (`0`, `2h`, `3 scans`), for logs and output. */
export function graceText(grace: HardGrace): string {
  if (grace.unit === "scans") return `${grace.value} scan${grace.value === 1 ? "" : "s"}`;
  if (grace.value === 0) return "0";
  for (const unit of ["d", "h", "m"]) {
    if (grace.value % SECONDS[unit] === 0) return `${grace.value / SECONDS[unit]}${unit}`;
  }
  return `${grace.value}s`;
}

/** Parses a `hard_action` value; `key` names it in the message (`hard_action`, `action`). */
export function parseHardAction(text: string, key = "hard_action"): HardAction {
  const value = text.trim();
  if ((HARD_ACTIONS as readonly string[]).includes(value)) return value as HardAction;
  throw new SyntaxError(`${key} must be lock or readonly, got ${quoteValue(value)}`);
}

/**
 * Parses and checks a `notify_url` value; returns the URL as the WHATWG parser normalises it
 * (host lower-cased, default port dropped). The message quotes the value only when it holds no
 * user information, which could be a password.
 */
export function parseNotifyUrl(text: string): string {
  const value = text.trim();
  const shown = () => /@/.test(value) ? "(not shown: it may hold a password)" : quoteValue(value);
  const bad = findUnsafeChar(value);
  if (bad) throw new SyntaxError(`notify_url must not hold control characters (${bad.name})`);
  if (value.length > NOTIFY_URL_MAX_CHARS) {
    throw new SyntaxError(`notify_url must be at most ${NOTIFY_URL_MAX_CHARS} characters long`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    throw new SyntaxError(
      `notify_url must be an absolute http:// or https:// URL, got ${shown()}`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new SyntaxError(
      `notify_url must start with http:// or https://, got ${quoteValue(url.protocol)}`,
    );
  }
  if (url.username !== "" || url.password !== "") {
    throw new SyntaxError(
      "notify_url must not hold a user name or password (they would show in logs); " +
        "sign the requests with notify_secret_file instead",
    );
  }
  if (url.hostname === "") throw new SyntaxError(`notify_url has no host, got ${shown()}`);
  if (url.hash !== "") {
    throw new SyntaxError(
      `notify_url must not have a #fragment (it is never sent), got ${shown()}`,
    );
  }
  return url.href;
}

/**
 * What is wrong with `pem` as `notify_tls_ca`, or undefined: it must hold at least one
 * certificate, and the HTTP client must accept every one (a file without any would otherwise
 * be ignored silently, and the receiver's certificate refused at the first notification).
 */
export function caBundleProblem(pem: string): string | undefined {
  if (!/^-----BEGIN CERTIFICATE-----$/m.test(pem)) {
    return "holds no PEM certificate (-----BEGIN CERTIFICATE-----)";
  }
  try {
    Deno.createHttpClient({ caCerts: [pem] }).close();
  } catch (err) {
    return `holds a certificate that cannot be used (${(err as Error).message.split("\n")[0]})`;
  }
  return undefined;
}
