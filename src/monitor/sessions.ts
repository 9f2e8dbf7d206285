/**
 * Which open sessions belong to the accounts just locked (pure).
 *
 * The process list shows the user name the client sent and the client's host (`name:port`,
 * `ip:port`, or `localhost` for the socket), not the account the server matched. A session is
 * ended only when one of the locked accounts certainly matches its host and no other account of
 * that user name — nor an anonymous account — could match it; a session that a locked account
 * might own but another might too is left open and reported. Host patterns follow the server:
 * `%` and `_` wildcards (case-insensitive), `ip/netmask`, and a host shown as a number matches
 * only numeric patterns (the server had no name for it).
 * @module
 */
import { grantPatternToRegExp } from "./mapping.ts";

/** One line of the process list, for a user name already compared byte for byte. */
export interface Session {
  id: number;
  /** PROCESSLIST.HOST as shown. */
  host: string;
}

/** Whether an account host pattern matches a client: yes, no, or cannot tell. */
export type Match = "yes" | "no" | "maybe";

interface Client {
  name?: string;
  ip?: string;
  /** Connected over TCP (the host had a port). */
  tcp: boolean;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

function parseClient(shown: string): Client | undefined {
  if (shown === "") return undefined;
  const m = /^(.*):(\d+)$/.exec(shown);
  const host = m ? m[1] : shown;
  const tcp = !!m;
  if (host === "") return undefined;
  if (IPV4.test(host) || host.includes(":")) return { ip: host.toLowerCase(), tcp };
  return { name: host.toLowerCase(), tcp };
}

function ipv4Number(ip: string): number | undefined {
  if (!IPV4.test(ip)) return undefined;
  const parts = ip.split(".").map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

/** Whether the account host `pattern` matches the client shown as `shown` in the process list. */
export function hostMatches(pattern: string, shown: string): Match {
  const client = parseClient(shown);
  if (!client) return "maybe";
  if (pattern === "%") return "yes";
  const mask = /^([\d.]+)\/([\d.]+)$/.exec(pattern);
  if (mask) {
    if (!client.ip) return client.tcp ? "maybe" : "no";
    const [net, bits, ip] = [ipv4Number(mask[1]), ipv4Number(mask[2]), ipv4Number(client.ip)];
    if (net === undefined || bits === undefined || ip === undefined) return "maybe";
    return ((ip & bits) >>> 0) === net ? "yes" : "no";
  }
  const re = new RegExp(grantPatternToRegExp(pattern.toLowerCase()).source, "u");
  if (client.name !== undefined && re.test(client.name)) return "yes";
  if (client.ip !== undefined && re.test(client.ip)) return "yes";
  // A name was shown but the address is unknown: a numeric pattern could still match it.
  if (client.ip === undefined && client.tcp && /^[0-9a-f.:%_]+$/i.test(pattern)) return "maybe";
  return "no";
}

function best(patterns: readonly string[], shown: string): Match {
  let out: Match = "no";
  for (const p of patterns) {
    const m = hostMatches(p, shown);
    if (m === "yes") return "yes";
    if (m === "maybe") out = "maybe";
  }
  return out;
}

/**
 * Splits `sessions` of one user name into those to end (certainly one of `lockedHosts`) and
 * those left open although a locked account might own them (`otherHosts`: hosts of the user
 * name's other accounts and of anonymous accounts could match too). Sessions no locked account
 * can own are in neither list.
 */
export function classifySessions(
  sessions: readonly Session[],
  lockedHosts: readonly string[],
  otherHosts: readonly string[],
): { end: Session[]; leftOpen: Session[] } {
  const end: Session[] = [];
  const leftOpen: Session[] = [];
  for (const s of sessions) {
    const mine = best(lockedHosts, s.host);
    if (mine === "no") continue;
    if (mine === "yes" && best(otherHosts, s.host) === "no") end.push(s);
    else leftOpen.push(s);
  }
  return { end, leftOpen };
}
