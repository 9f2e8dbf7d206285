/**
 * The monitor's metric families, built from the latest report of every server.
 *
 * Series per user carry the labels `server` (db_id), `user` and `shard`; series per server
 * carry `server` and `shard`.
 * @module
 */
import type { ServerReport } from "../monitor/report.ts";
import type { Family, Sample } from "./exposition.ts";

/** Outcome of configuration reloads, exported by the daemon (absent for `--once`). */
export interface ReloadStatus {
  /** Whether the last reload (or the start-up load) succeeded. */
  ok: boolean;
  /** Unix time of the last successful load, in seconds. */
  lastSuccess: number;
}

/**
 * Builds all families for `reports`; `shard` is this daemon's shard number; `reload` adds the
 * configuration reload gauges; `stateWriteErrors` counts failed state store writes. Users that
 * have no account on a server get no per-user series there.
 */
export function monitorFamilies(
  reports: readonly ServerReport[],
  shard: number,
  reload?: ReloadStatus,
  stateWriteErrors = 0,
): Family[] {
  const sh = String(shard);
  const perUser = (pick: (u: ServerReport["users"][number]) => number | undefined): Sample[] =>
    reports.flatMap((r) =>
      r.users.flatMap((u) => {
        if (u.status === "no account") return [];
        const value = pick(u);
        return value === undefined
          ? []
          : [{ labels: { server: r.server, user: u.user, shard: sh }, value }];
      })
    );
  const perServer = (pick: (r: ServerReport) => number | undefined): Sample[] =>
    reports.flatMap((r) => {
      const value = pick(r);
      return value === undefined ? [] : [{ labels: { server: r.server, shard: sh }, value }];
    });
  return [
    {
      name: "mysql_user_storage_bytes",
      help: "Bytes used by the schemas that belong to the user (data + index).",
      type: "gauge",
      samples: perUser((u) => u.usage),
    },
    {
      name: "mysql_user_storage_soft_limit_bytes",
      help: "Soft limit of the user in bytes (a warning above it).",
      type: "gauge",
      samples: perUser((u) => u.soft),
    },
    {
      name: "mysql_user_storage_hard_limit_bytes",
      help: "Hard limit of the user in bytes (accounts locked above it).",
      type: "gauge",
      samples: perUser((u) => u.hard),
    },
    {
      name: "mysql_user_account_locked",
      help: "1 when an account of the user is locked, by this tool or an administrator.",
      type: "gauge",
      samples: perUser((u) => (u.locked ? 1 : 0)),
    },
    {
      name: "mysql_monitor_up",
      help: "1 when the last scan of the server succeeded, 0 when it failed.",
      type: "gauge",
      samples: perServer((r) => (r.up ? 1 : 0)),
    },
    {
      name: "mysql_monitor_last_scan_timestamp_seconds",
      help: "Unix time of the last successful scan of the server.",
      type: "gauge",
      samples: perServer((r) => r.lastSuccess),
    },
    {
      name: "mysql_monitor_scan_duration_seconds",
      help: "Duration of the last scan of the server, successful or not.",
      type: "gauge",
      samples: perServer((r) => r.durationSec),
    },
    {
      name: "mysql_monitor_errors_total",
      help:
        "Scans of the server that failed (connection, query, timeout), since the state was created.",
      type: "counter",
      samples: perServer((r) => r.errorsTotal),
    },
    {
      name: "mysql_monitor_unknown_users",
      help: "Users listed in search_user without an account on the server (not measured).",
      type: "gauge",
      samples: perServer((r) => (r.up ? r.unknownUsers ?? 0 : undefined)),
    },
    {
      name: "mysql_monitor_global_grant_users",
      help:
        "Monitored users that may write to every schema (INSERT/CREATE/ALTER on *.*); such grants charge no schema.",
      type: "gauge",
      samples: perServer((r) => (r.up ? r.globalGrantUsers ?? 0 : undefined)),
    },
    {
      name: "mysql_monitor_incomplete_schemas",
      help:
        "Schemas whose size could not be read completely in the last scan; their users are not unlocked.",
      type: "gauge",
      samples: perServer((r) => (r.up ? r.incompleteSchemas ?? 0 : undefined)),
    },
    {
      name: "mysql_monitor_state_write_errors_total",
      help:
        "Failed writes to the state store; no account is locked or unlocked in a cycle with one.",
      type: "counter",
      samples: [{ labels: { shard: sh }, value: stateWriteErrors }],
    },
    ...(reload ? reloadFamilies(reload, sh) : []),
  ];
}

function reloadFamilies(reload: ReloadStatus, shard: string): Family[] {
  return [
    {
      name: "mysql_monitor_config_last_reload_successful",
      help: "1 when the last configuration reload succeeded, 0 when the old one stayed in force.",
      type: "gauge",
      samples: [{ labels: { shard }, value: reload.ok ? 1 : 0 }],
    },
    {
      name: "mysql_monitor_config_last_reload_success_timestamp_seconds",
      help: "Unix time of the last successful configuration load.",
      type: "gauge",
      samples: [{ labels: { shard }, value: reload.lastSuccess }],
    },
  ];
}
