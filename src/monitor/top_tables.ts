/**
 * "What is using it": the largest tables of the schemas a user owns, for users over a limit
 * (`monitor --once --top N`, part of the scan step).
 *
 * - `usage_source=information_schema`: DATA_LENGTH + INDEX_LENGTH and DATA_FREE (allocated but
 *   unused bytes, which `OPTIMIZE TABLE` gives back to the file system for InnoDB tables in
 *   their own tablespace) from information_schema.TABLES, one `TABLE_SCHEMA = ?` branch per
 *   schema, with the same caveats as the usage: only tables the monitor account can see, InnoDB
 *   figures are statistics.
 * - `usage_source=datadir`: the files of each schema directory grouped by table (`t.ibd`, `t.frm`,
 *   `t.MYD`, `t.MYI`, partitions `t#P#p0.ibd` all count for `t`); the files cannot tell what is
 *   free inside them, so there is no reclaimable figure.
 *
 * The schemas are those the scan charged to the user (byte-exact names, schema_mapping).
 * @module
 */
import type { Db } from "../db/connection.ts";
import type { TableSize } from "./report.ts";
import { BATCH, decodeSchemaDir } from "./usage.ts";

/** Default of `--top`: tables listed per user over a limit. */
export const DEFAULT_TOP = 5;

/** The `limit` largest of `tables`, largest first (ties by schema, then table name). */
export function largest(tables: readonly TableSize[], limit: number): TableSize[] {
  return [...tables].sort((a, b) =>
    b.bytes - a.bytes || cmp(a.schema, b.schema) || cmp(a.table, b.table)
  ).slice(0, limit);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The `limit` largest tables of `schemas` from information_schema.TABLES. */
export async function largestTablesOf(
  db: Db,
  schemas: readonly string[],
  limit: number,
): Promise<TableSize[]> {
  // The equality lets the server open only that schema; the binary one keeps `Jose` (equal in
  // the column's collation) out of `jose`'s tables.
  const branch = `SELECT TABLE_SCHEMA, TABLE_NAME,
        COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0) AS bytes, DATA_FREE
      FROM information_schema.TABLES
     WHERE TABLE_SCHEMA = ? AND CAST(TABLE_SCHEMA AS BINARY) = CAST(? AS BINARY)
       AND TABLE_TYPE <> 'VIEW'`;
  let best: TableSize[] = [];
  for (let i = 0; i < schemas.length; i += BATCH) {
    const names = schemas.slice(i, i + BATCH);
    const rows = await db.queryArrays(
      `SELECT * FROM (${names.map(() => branch).join("\nUNION ALL\n")}) AS t
        ORDER BY bytes DESC LIMIT ?`,
      [...names.flatMap((n) => [n, n]), limit],
    );
    best = largest([
      ...best,
      ...rows.map(([schema, table, bytes, free]) => ({
        schema: String(schema),
        table: String(table),
        bytes: Number(bytes ?? 0),
        ...(free === null || free === undefined ? {} : { dataFree: Number(free) }),
      })),
    ], limit);
  }
  return best;
}

/**
 * The table a file of a schema directory belongs to: the name before the first dot, without a
 * partition suffix (`#P#…`, `#p#…`), decoded like directory names (`@xxxx`).
 */
export function tableOfFile(file: string): string {
  const dot = file.indexOf(".");
  const stem = dot < 0 ? file : file.slice(0, dot);
  const part = stem.search(/#[Pp]#/);
  return decodeSchemaDir(part < 0 ? stem : stem.slice(0, part));
}

/**
 * The `limit` largest tables of the schema directories `dirs` (schema → path), from the sizes
 * of their regular files (symbolic links are not followed). A directory that vanished is
 * skipped; one that cannot be read throws.
 */
export async function largestTablesInDirs(
  dirs: ReadonlyMap<string, string>,
  limit: number,
): Promise<TableSize[]> {
  let best: TableSize[] = [];
  for (const [schema, path] of dirs) {
    const sizes = new Map<string, number>();
    try {
      for await (const entry of Deno.readDir(path)) {
        if (!entry.isFile || entry.name === "db.opt") continue;
        const table = tableOfFile(entry.name);
        const info = await Deno.lstat(`${path}/${entry.name}`).catch((err) => {
          if (err instanceof Deno.errors.NotFound) return undefined; // dropped meanwhile
          throw err;
        });
        if (info?.isFile) sizes.set(table, (sizes.get(table) ?? 0) + info.size);
      }
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) continue;
      throw err;
    }
    best = largest([
      ...best,
      ...[...sizes].map(([table, bytes]) => ({ schema, table, bytes })),
    ], limit);
  }
  return best;
}
