/**
 * Which schemas belong to which user (pure).
 *
 * - `grants`: schemas matching the patterns of the user's schema-level grants (mysql.db),
 *   where `_` matches one character, `%` any run, and `\_` / `\%` are literal, as MySQL does.
 * - `name`: the schema named like the user.
 * - `prefix`: schemas starting with `<user>_`.
 *
 * A schema counts once per user even when several grants or accounts match it.
 * @module
 */
import type { SchemaMapping } from "../config/config.ts";

/** One schema-level grant: the account and its database pattern (mysql.db.Db). */
export interface SchemaGrant {
  user: string;
  host: string;
  db: string;
}

/** Turns a grant database pattern into an anchored regular expression. */
export function grantPatternToRegExp(pattern: string): RegExp {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\" && i + 1 < pattern.length) {
      out += escapeRegExp(pattern[++i]);
    } else if (c === "_") out += "[\\s\\S]";
    else if (c === "%") out += "[\\s\\S]*";
    else out += escapeRegExp(c);
  }
  return new RegExp(`^${out}$`, "u");
}

function escapeRegExp(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Escapes `_`, `%` and `\` so a literal name can be used as a LIKE pattern. */
export function likeLiteral(text: string): string {
  return text.replace(/[\\_%]/g, "\\$&");
}

/** A LIKE pattern that selects the schemas a user may own, used to narrow the usage query. */
export function schemaPatterns(
  mapping: SchemaMapping,
  user: string,
  host: string | undefined,
  grants: readonly SchemaGrant[],
): string[] {
  if (mapping === "name") return [likeLiteral(user)];
  if (mapping === "prefix") return [`${likeLiteral(user)}\\_%`];
  return grants.filter((g) => g.user === user && (host === undefined || g.host === host))
    .map((g) => g.db);
}

/** The schemas (from `schemas`) that belong to `user`, each once. */
export function schemasOfUser(
  mapping: SchemaMapping,
  user: string,
  host: string | undefined,
  grants: readonly SchemaGrant[],
  schemas: Iterable<string>,
): string[] {
  const regexps = schemaPatterns(mapping, user, host, grants).map(grantPatternToRegExp);
  if (regexps.length === 0) return [];
  const out: string[] = [];
  for (const schema of schemas) if (regexps.some((re) => re.test(schema))) out.push(schema);
  return out;
}
