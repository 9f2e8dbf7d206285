/**
 * Which account a client host belongs to, the way MariaDB/MySQL match `user@host` accounts.
 *
 * Host patterns: a literal name or address (case-insensitive), `%` (any run of characters) and
 * `_` (one character) wildcards, `\%`/`\_` for literal characters, `ip/netmask` (MariaDB and
 * MySQL) or `ip/prefix` (MySQL ≥ 8.0.23) for IPv4, `localhost` for Unix-socket connections, and
 * the empty host meaning any. When several accounts of the same user match, the server takes
 * the most specific one; {@link bestAccount} does the same so every recorded connection is
 * attributed to exactly one account.
 * @module
 */
import { likeToRegExp } from "../util/like.ts";

/** Parses a dotted IPv4 address into a 32-bit number, or undefined. */
export function parseIPv4(text: string): number | undefined {
  const m = text.match(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

function netmaskMatch(pattern: string, host: string): boolean | undefined {
  const slash = pattern.indexOf("/");
  if (slash < 0) return undefined;
  const net = parseIPv4(pattern.slice(0, slash));
  const maskText = pattern.slice(slash + 1);
  let mask: number | undefined;
  if (/^\d{1,2}$/.test(maskText) && Number(maskText) <= 32) {
    const bits = Number(maskText);
    mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  } else {
    mask = parseIPv4(maskText);
  }
  if (net === undefined || mask === undefined) return undefined;
  const addr = parseIPv4(host.replace(/^::ffff:/i, ""));
  if (addr === undefined) return false;
  return ((addr & mask) >>> 0) === ((net & mask) >>> 0);
}

/** Compiled host patterns kept before the cache starts over. */
const MAX_CACHED_PATTERNS = 10_000;
const cache = new Map<string, RegExp>();

function wildcardRegExp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (re) return re;
  re = likeToRegExp(pattern, "i");
  if (cache.size > MAX_CACHED_PATTERNS) cache.clear();
  cache.set(pattern, re);
  return re;
}

/** True when a connection from `host` (as the audit log records it) matches `pattern`. */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === "" || pattern === "%") return true;
  const net = netmaskMatch(pattern, host);
  if (net !== undefined) return net;
  return wildcardRegExp(pattern).test(host);
}

/**
 * Sort key of a host pattern: higher is more specific. Literal hosts and netmasks come first,
 * then patterns by the number of characters before their first wildcard, `%`/empty last.
 */
export function specificity(pattern: string): number {
  if (pattern === "" || pattern === "%") return 0;
  if (pattern.includes("/") && netmaskMatch(pattern, "0.0.0.0") !== undefined) return 1_000_000;
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === "\\") {
      i++;
      continue;
    }
    if (pattern[i] === "%" || pattern[i] === "_") return 1 + i;
  }
  return 1_000_001;
}

/** The most specific of `patterns` that matches `host`, or undefined when none does. */
export function bestAccount(patterns: readonly string[], host: string): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const p of patterns) {
    if (!hostMatches(p, host)) continue;
    const score = specificity(p);
    if (score > bestScore) {
      best = p;
      bestScore = score;
    }
  }
  return best;
}
