/**
 * The document `monitor --once --json` prints: every server's report with its users' usage,
 * limits, status, actions, forecast and largest tables, and what went wrong. The schema is
 * documented in docs/monitor.md ("JSON output"); keys are snake_case, sizes in bytes, times
 * RFC 3339 UTC, and a value that is unknown is `null` (never left out), so a script can rely on
 * every key being there.
 * @module
 */
import type { ServerReport, UserReport } from "./report.ts";

/** Version of the document's schema; raised when a key changes meaning or goes away. */
export const JSON_SCHEMA_VERSION = 1;

/** What the run was, besides the reports. */
export interface RunInfo {
  debug: 0 | 1 | 2;
  shard: number;
  shards: number;
  /** The exit status is 0. */
  ok: boolean;
  /** Problems of the run as a whole (the metrics file, the state store). */
  errors: string[];
  /** When the document was made (ms since the epoch). */
  now: number;
}

function isoSeconds(sec: number | undefined): string | null {
  return sec === undefined ? null : new Date(sec * 1000).toISOString();
}

function userJson(u: UserReport) {
  const measured = u.status !== "no account";
  return {
    user: u.user,
    status: u.status,
    usage_bytes: measured ? u.usage : null,
    soft_bytes: u.soft ?? null,
    hard_bytes: u.hard,
    locked: u.locked,
    readonly: u.readonly ?? false,
    hard_exceeded_since: isoSeconds(u.overHardSince),
    actions: u.actions,
    forecast: u.forecast
      ? {
        growth_bytes_per_hour: u.forecast.growthBytesPerHour,
        seconds_to_hard_limit: u.forecast.secondsToHardLimit ?? null,
        samples: u.forecast.samples,
      }
      : null,
    top_tables: (u.topTables ?? []).map((t) => ({
      schema: t.schema,
      table: t.table,
      bytes: t.bytes,
      data_free_bytes: t.dataFree ?? null,
    })),
  };
}

function serverJson(r: ServerReport) {
  return {
    server: r.server,
    up: r.up,
    error: r.error ?? null,
    stale: r.stale,
    last_success: isoSeconds(r.lastSuccess),
    duration_seconds: r.durationSec,
    errors_total: r.errorsTotal,
    unknown_users: r.unknownUsers ?? null,
    incomplete_schemas: r.incompleteSchemas ?? null,
    state_error: r.stateError ?? null,
    top_tables_error: r.topTablesError ?? null,
    users: r.users.map(userJson),
    released: (r.released ?? []).map((x) => ({ user: x.user, actions: x.actions })),
  };
}

/** The document for `reports`, as JSON text indented by two spaces. */
export function renderJson(reports: readonly ServerReport[], run: RunInfo): string {
  return JSON.stringify(
    {
      schema_version: JSON_SCHEMA_VERSION,
      generated_at: new Date(run.now).toISOString(),
      debug: run.debug,
      dry_run: run.debug === 0,
      shard: run.shard,
      shards: run.shards,
      ok: run.ok,
      errors: run.errors,
      servers: reports.map(serverJson),
    },
    null,
    2,
  );
}
