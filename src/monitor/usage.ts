/**
 * Storage usage per schema, measured once per server per cycle, from either
 * information_schema.TABLES (one aggregate query; works remotely) or the sizes of the files
 * in each schema directory of a local datadir. Also reads the schema-level grants used by
 * `schema_mapping=grants`.
 * @module
 */
import type { Db } from "../db/connection.ts";
import { grantPatternToRegExp, type SchemaGrant } from "./mapping.ts";

/** Schemas that never belong to a user. */
export const SYSTEM_SCHEMAS = ["mysql", "information_schema", "performance_schema", "sys"];

/** Which schemas to measure: all, or those matching any of these LIKE patterns. */
export type SchemaFilter = { all: true } | { all: false; patterns: string[] };

/** Bytes per schema. */
export type Usage = Map<string, number>;

/** Sums DATA_LENGTH + INDEX_LENGTH per schema in one aggregate query. */
export async function usageFromInformationSchema(db: Db, filter: SchemaFilter): Promise<Usage> {
  const values: unknown[] = [SYSTEM_SCHEMAS];
  let where = "TABLE_SCHEMA NOT IN (?)";
  if (!filter.all) {
    if (filter.patterns.length === 0) return new Map();
    where += ` AND (${filter.patterns.map(() => "TABLE_SCHEMA LIKE ?").join(" OR ")})`;
    values.push(...filter.patterns);
  }
  const rows = await db.query<{ schema_name: string; bytes: string | null }>(
    `SELECT TABLE_SCHEMA AS schema_name,
            SUM(COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0)) AS bytes
       FROM information_schema.TABLES
      WHERE ${where}
      GROUP BY TABLE_SCHEMA`,
    values,
  );
  return new Map(rows.map((r) => [r.schema_name, Number(r.bytes ?? 0)]));
}

/** The schema-level grants of every account (mysql.db). */
export function readGrants(db: Db): Promise<SchemaGrant[]> {
  return db.query<SchemaGrant>("SELECT User AS user, Host AS host, Db AS db FROM mysql.db");
}

/** The server's datadir, as it reports it. */
export async function serverDatadir(db: Db): Promise<string> {
  const [row] = await db.query<{ datadir: string }>("SELECT @@datadir AS datadir");
  return row.datadir.replace(/\/+$/, "");
}

/**
 * Decodes a schema directory name: MariaDB/MySQL write characters outside [A-Za-z0-9_] as
 * `@xxxx` (hex code point). Other rarer encodings are left as they are.
 */
export function decodeSchemaDir(name: string): string {
  return name.replace(/@([0-9a-f]{4})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * Sums the sizes of the files in each schema directory under `datadir` (for local servers
 * with very many tables, where information_schema is slow). Only schemas that pass `filter`
 * are read.
 */
export async function usageFromDatadir(datadir: string, filter: SchemaFilter): Promise<Usage> {
  const regexps = filter.all ? [] : filter.patterns.map(grantPatternToRegExp);
  const dirs: [string, string][] = [];
  for await (const entry of Deno.readDir(datadir)) {
    if (!entry.isDirectory) continue;
    const schema = decodeSchemaDir(entry.name);
    if (SYSTEM_SCHEMAS.includes(schema) || schema.startsWith("#")) continue;
    if (!filter.all && !regexps.some((re) => re.test(schema))) continue;
    dirs.push([schema, `${datadir}/${entry.name}`]);
  }
  const usage: Usage = new Map();
  let next = 0;
  const worker = async () => {
    while (next < dirs.length) {
      const [schema, path] = dirs[next++];
      usage.set(schema, await dirSize(path));
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, dirs.length) }, worker));
  return usage;
}

async function dirSize(path: string): Promise<number> {
  const stats: Promise<number>[] = [];
  for await (const entry of Deno.readDir(path)) {
    if (!entry.isFile) continue;
    stats.push(Deno.lstat(`${path}/${entry.name}`).then((s) => s.size, () => 0));
  }
  return (await Promise.all(stats)).reduce((a, b) => a + b, 0);
}
