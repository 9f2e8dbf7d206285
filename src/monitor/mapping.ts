/**
 * Which schemas belong to which monitored user (pure), as an index: each schema name is looked
 * up once, in time that depends on the name's length, not on the number of users.
 *
 * - `name`: the schema named exactly like the user.
 * - `prefix`: a schema `<p>_…` belongs to the account user name `p` with the **longest** such
 *   prefix among the server's accounts (`ann_x_db` is `ann_x`'s when `ann_x` exists, else `ann`'s).
 * - `grants`: a schema is charged to every monitored user that can grow it through a
 *   schema-level grant of INSERT, CREATE or ALTER (ALL includes them) — held by one of the user's
 *   accounts or by a role granted to it, directly or through other roles. Patterns use `_` and
 *   `%` wildcards with `\` escapes, as the server does. A pattern that starts with a wildcard
 *   (e.g. `%`) matches nearly every schema: it charges nothing and its holder is reported, like
 *   a holder of global INSERT/CREATE/ALTER on `*.*`.
 * The rule, with examples, is in docs/schema_mapping.md.
 * @module
 */
import type { SchemaMapping } from "../config/config.ts";
import type { UserLimit } from "../config/search_user.ts";
import { accountKey, type GrowthGrant, type RoleGrant } from "./accounts.ts";
import { likeToRegExp } from "../util/like.ts";
import { TimeSlicer } from "./slice.ts";

/** Turns a grant database pattern into an anchored regular expression. */
export function grantPatternToRegExp(pattern: string): RegExp {
  return likeToRegExp(pattern, "u");
}

/**
 * The literal text before the first unescaped wildcard of a grant pattern, and whether the
 * pattern has a wildcard at all.
 */
export function literalPrefix(pattern: string): { prefix: string; wildcard: boolean } {
  let prefix = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\" && i + 1 < pattern.length) prefix += pattern[++i];
    else if (c === "_" || c === "%") return { prefix, wildcard: true };
    else prefix += c;
  }
  return { prefix, wildcard: false };
}

/** What the grants say about the monitored users, beyond the schemas they are charged for. */
export interface GrantFindings {
  /** Users holding INSERT/CREATE/ALTER on `*.*`, or on a pattern starting with a wildcard. */
  everywhere: Map<string, string[]>;
}

/** Input of {@link buildOwnerIndex}. */
export interface IndexInput {
  mapping: SchemaMapping;
  /** The monitored users (this shard's, existing on the server). */
  users: readonly UserLimit[];
  /** Every account user name on the server (for `prefix`). */
  accountNames: ReadonlySet<string>;
  /** Hosts of each user name's accounts (for `grants`). */
  hostsOf: (user: string) => readonly string[];
  grants: readonly GrowthGrant[];
  roleGrants: readonly RoleGrant[];
  /** accountKey()s holding INSERT/CREATE/ALTER globally. */
  globalGrowth: ReadonlySet<string>;
}

/** Looks up the monitored owners of a schema. */
export interface OwnerIndex {
  /** Monitored users charged for `schema` (each once). */
  owners(schema: string): string[];
  findings: GrantFindings;
}

const NONE: string[] = [];

/** `value` of each of `items`, grouped by the account (user, host) the item is about. */
async function byAccount<T extends { user: string; host: string }>(
  items: readonly T[],
  value: (item: T) => string,
  slicer: TimeSlicer,
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const item of items) {
    await slicer.pause();
    const k = accountKey(item.user, item.host);
    const list = out.get(k) ?? [];
    list.push(value(item));
    out.set(k, list);
  }
  return out;
}

/** Adds to `holders` every role reachable from them in `rolesOf`; returns `holders`. */
function withRoles(holders: Set<string>, rolesOf: ReadonlyMap<string, string[]>): Set<string> {
  const queue = [...holders];
  while (queue.length) {
    for (const role of rolesOf.get(queue.pop()!) ?? []) {
      if (!holders.has(role)) {
        holders.add(role);
        queue.push(role);
      }
    }
  }
  return holders;
}

/** Builds the schema → owners index for one server (in time slices). */
export async function buildOwnerIndex(input: IndexInput): Promise<OwnerIndex> {
  const monitored = new Set(input.users.map((u) => u.user));
  const findings: GrantFindings = { everywhere: new Map() };
  if (input.mapping === "name") {
    return { owners: (s) => (monitored.has(s) ? [s] : []), findings };
  }
  if (input.mapping === "prefix") {
    const names = input.accountNames;
    return {
      owners(schema) {
        let owner: string | undefined;
        for (let i = schema.indexOf("_", 1); i > 0; i = schema.indexOf("_", i + 1)) {
          const p = schema.slice(0, i);
          if (names.has(p)) owner = p;
        }
        return owner !== undefined && monitored.has(owner) ? [owner] : [];
      },
      findings,
    };
  }
  return await grantsIndex(input, findings);
}

async function grantsIndex(input: IndexInput, findings: GrantFindings): Promise<OwnerIndex> {
  const slicer = new TimeSlicer();
  // Role graph: grantee key → role keys.
  const rolesOf = await byAccount(input.roleGrants, (g) => accountKey(g.role, g.roleHost), slicer);
  const grantsOf = await byAccount(input.grants, (g) => g.db, slicer);
  const exact = new Map<string, Set<string>>();
  // Keyed by the literal prefix; `re` undefined: the pattern is that prefix and one final `%`,
  // which every schema starting with the prefix matches.
  const wild = new Map<string, { re?: RegExp; user: string }[]>();
  const lengths = new Set<number>();
  for (const limit of input.users) {
    await slicer.pause();
    const hosts = input.hostsOf(limit.user).filter((h) =>
      limit.host === undefined || h === limit.host
    );
    // Every account of the limit, and every role reachable from them.
    const holders = withRoles(new Set(hosts.map((h) => accountKey(limit.user, h))), rolesOf);
    const reasons: string[] = [];
    for (const holder of holders) {
      const via = holder.split("\u0000")[0];
      const who = via === limit.user ? "" : ` through role ${via}`;
      if (input.globalGrowth.has(holder)) reasons.push(`*.*${who}`);
      for (const pattern of grantsOf.get(holder) ?? []) {
        const { prefix, wildcard } = literalPrefix(pattern);
        if (!wildcard) {
          const set = exact.get(prefix) ?? new Set();
          set.add(limit.user);
          exact.set(prefix, set);
        } else if (prefix === "") {
          reasons.push(`${pattern}.*${who}`);
        } else {
          const list = wild.get(prefix) ?? [];
          const onlyPercent = literalPrefix(pattern.slice(0, -1)).wildcard === false &&
            pattern.endsWith("%") && !pattern.endsWith("\\%");
          list.push({
            re: onlyPercent ? undefined : grantPatternToRegExp(pattern),
            user: limit.user,
          });
          wild.set(prefix, list);
          lengths.add(prefix.length);
        }
      }
    }
    if (reasons.length) findings.everywhere.set(limit.user, [...new Set(reasons)]);
  }
  const sortedLengths = [...lengths].sort((a, b) => a - b);
  return {
    owners(schema) {
      let out: string[] | undefined;
      const direct = exact.get(schema);
      if (direct) out = [...direct];
      for (const n of sortedLengths) {
        if (n > schema.length) break;
        const candidates = wild.get(schema.slice(0, n));
        if (!candidates) continue;
        for (const { re, user } of candidates) {
          if (re && !re.test(schema)) continue;
          if (out?.includes(user)) continue;
          (out ??= []).push(user);
        }
      }
      return out ?? NONE;
    },
    findings,
  };
}
