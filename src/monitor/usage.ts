/**
 * Storage usage per schema, for the schemas named (those some monitored user owns), from either
 * information_schema.TABLES or the sizes of the files in each schema directory of a local
 * datadir.
 *
 * information_schema: the schema names are listed first (SCHEMATA is cheap), then TABLES is
 * asked with one `TABLE_SCHEMA = ?` branch per schema, `UNION ALL`ed in bounded batches: with an
 * equality the server opens only that schema's tables, where a `LIKE`/`IN`/`NOT IN` filter makes
 * it visit every schema.
 *
 * A size that cannot be read — a base table whose DATA_LENGTH is NULL (the server could not open
 * it), or a file that vanished or could not be `lstat`ed twice in a row — makes that schema
 * incomplete: its figure is a lower bound, never taken as the whole.
 * @module
 */
import type { Db } from "../db/connection.ts";
import { defaultDirSizer, type DirSize, type DirSizer } from "./dir_size.ts";
import { TimeSlicer } from "./slice.ts";

/** Schemas that never belong to a user. */
export const SYSTEM_SCHEMAS = ["mysql", "information_schema", "performance_schema", "sys"];

/** Bytes of one schema; `problem` says why the figure is only a lower bound. */
export interface SchemaSize {
  bytes: number;
  problem?: string;
}

/** Sizes per schema (schemas that do not exist are absent). */
export type Usage = Map<string, SchemaSize>;

/** Schemas per information_schema statement. */
export const BATCH = 500;

/** Every schema on the server except the system ones. */
export async function listSchemas(db: Db): Promise<string[]> {
  const rows = await db.queryArrays("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA");
  const out: string[] = [];
  const slicer = new TimeSlicer();
  for (const [name] of rows) {
    await slicer.pause();
    if (!SYSTEM_SCHEMAS.includes(String(name))) out.push(String(name));
  }
  return out;
}

/** Sums DATA_LENGTH + INDEX_LENGTH of each schema in `schemas`, in batches. */
export async function usageFromInformationSchema(
  db: Db,
  schemas: readonly string[],
  batch = BATCH,
): Promise<Usage> {
  const usage: Usage = new Map();
  const slicer = new TimeSlicer();
  const branch = `SELECT TABLE_SCHEMA AS s,
           SUM(COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0)) AS bytes,
           SUM(TABLE_TYPE <> 'VIEW' AND DATA_LENGTH IS NULL) AS unreadable
      FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? GROUP BY TABLE_SCHEMA`;
  for (let i = 0; i < schemas.length; i += batch) {
    const names = schemas.slice(i, i + batch);
    const rows = await db.queryArrays(names.map(() => branch).join("\nUNION ALL\n"), names);
    for (const [schema, bytes, unreadableCount] of rows) {
      await slicer.pause();
      const unreadable = Number(unreadableCount ?? 0);
      usage.set(String(schema), {
        bytes: Number(bytes ?? 0),
        ...(unreadable
          ? { problem: `${unreadable} table(s) whose size the server could not read` }
          : {}),
      });
    }
    // An existing schema without tables uses nothing.
    for (const s of names) if (!usage.has(s)) usage.set(s, { bytes: 0 });
  }
  return usage;
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

/** Schema name → directory path of every user schema in `datadir`. */
export async function listSchemaDirs(datadir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const slicer = new TimeSlicer();
  for await (const entry of Deno.readDir(datadir)) {
    await slicer.pause();
    if (!entry.isDirectory) continue;
    const schema = decodeSchemaDir(entry.name);
    if (SYSTEM_SCHEMAS.includes(schema) || schema.startsWith("#")) continue;
    out.set(schema, `${datadir}/${entry.name}`);
  }
  return out;
}

/**
 * Sums the sizes of the files in each schema directory of `dirs` (schema → path). A schema whose
 * directory is gone was dropped and is left out; a directory with a file that cannot be read is
 * measured again, and a second failure marks the schema incomplete. Spread over time slices.
 */
export async function usageFromDatadir(
  dirs: ReadonlyMap<string, string>,
  sizer: DirSizer = defaultDirSizer(),
): Promise<Usage> {
  const usage: Usage = new Map();
  const slicer = new TimeSlicer();
  const measure = async (path: string): Promise<DirSize> => {
    const it = sizer(path);
    for (;;) {
      const step = it.next();
      if (step.done) return step.value;
      await slicer.pause();
    }
  };
  for (const [schema, path] of dirs) {
    let result = await measure(path);
    if (typeof result === "object" && "error" in result) result = await measure(path);
    if (result === "gone") continue;
    if ("error" in result) usage.set(schema, { bytes: 0, problem: `cannot read ${result.error}` });
    else usage.set(schema, { bytes: result.bytes });
    await slicer.pause();
  }
  return usage;
}
