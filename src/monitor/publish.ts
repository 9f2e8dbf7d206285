/**
 * The publish step, last of a server's cycle: the usage history and forecasts, its actions to
 * the audit log and its state changes to the webhook receiver ({@link publish}); the reports of
 * every server become the metrics file ({@link publishMetrics}, written after each cycle by the
 * monitor loop) and, for `--once`, the table.
 *
 * Metric series per user carry the labels `server` (db_id), `user` and `shard`; series per
 * server carry `server` and `shard`.
 * @module
 */
import { expositionChunks, type Family, type Sample } from "../metrics/exposition.ts";
import type { TextfileWriter } from "../metrics/textfile_writer.ts";
import { log } from "../system/log.ts";
import { errorText } from "../errors.ts";
import { appendAudit, type AuditEntry } from "./audit_log.ts";
import { forecast, FORECAST_WINDOW_MS, type UsageSample } from "./forecast.ts";
import { type HistoryStore, keepSample } from "./history.ts";
import { notificationFamily, type NotifyCounters, type NotifyEvent } from "../notify/webhook.ts";
import type { ServerReport } from "./report.ts";
import { TimeSlicer, yieldNow } from "./slice.ts";

const logger = log("monitor");

/** What one server's cycle publishes. */
export interface PublishInput {
  /** Path of the audit log. */
  auditLog: string;
  /** The cycle's actions, in order. */
  audits: readonly AuditEntry[];
  report: ServerReport;
  /** Where the usage history is kept; with it, each user's report gets its forecast. */
  history?: HistoryInput;
  /** The cycle's state changes (events.ts), queued with `notify`. */
  events?: readonly NotifyEvent[];
  /** Queues one event for the server's webhook receiver; returns at once. */
  notify?: (event: NotifyEvent) => void;
}

/** The usage history of one publish step. */
export interface HistoryInput {
  store: HistoryStore;
  /** Users whose usage is only a lower bound this cycle: not stored, no forecast. */
  incomplete: ReadonlySet<string>;
  /** Time of the measurement, ms since the epoch. */
  now: number;
}

/** Users whose history is read and written per state store transaction. */
export const HISTORY_PART = 500;

/**
 * The publish step of one server: stores the usage samples and adds each user's forecast to the
 * report, appends the cycle's actions to the audit log (a failure is logged; the actions already
 * happened) and logs the outcome. Returns the report.
 */
export async function publish(input: PublishInput): Promise<ServerReport> {
  const { report } = input;
  if (input.history) await addForecasts(report, input.history);
  if (input.notify) { for (const event of input.events ?? []) input.notify(event); }
  await appendAudit(input.auditLog, input.audits).catch((err) =>
    logger.error`cannot write the audit log ${input.auditLog}: ${errorText(err)}`
  );
  logger
    .info`server ${report.server}: scanned ${report.users.length} user(s) in ${report.durationSec} s`;
  return report;
}

/**
 * Reads each measured user's last day of samples, sets `forecast` on its report, and stores this
 * cycle's measurement when it is due (history.ts). A failing state store costs the forecast
 * only: it is logged, nothing else changes.
 */
async function addForecasts(report: ServerReport, input: HistoryInput): Promise<void> {
  const { store, incomplete, now } = input;
  const users = report.users.filter((u) => u.status !== "no account" && !incomplete.has(u.user));
  for (let i = 0; i < users.length; i += HISTORY_PART) {
    const part = users.slice(i, i + HISTORY_PART);
    try {
      const past = store.history(report.server, part.map((u) => u.user), now - FORECAST_WINDOW_MS);
      const due = new Map<string, UsageSample>();
      for (const u of part) {
        const samples = past.get(u.user) ?? [];
        const current = { at: now, bytes: u.usage };
        const f = forecast(samples, current, u.hard);
        if (f) u.forecast = f;
        if (keepSample(samples.at(-1)?.at, now)) due.set(u.user, current);
      }
      if (due.size) store.addHistory(report.server, due, now);
    } catch (err) {
      logger
        .warning`server ${report.server}: usage history unavailable, no forecast this cycle: ${
        errorText(err)
      }`;
      return;
    }
    await yieldNow();
  }
}

/** What the metrics file shows. */
export interface MetricsInput {
  reports: readonly ServerReport[];
  shard: number;
  reload?: ReloadStatus;
  stateWriteErrors: number;
  /** Webhook counters; absent when no server has a receiver (and none ever had). */
  notifications?: NotifyCounters;
}

/**
 * Renders the metrics of every server's latest report into `writer`'s file (the writer
 * serialises and coalesces writes). Returns false, after logging, when the file could not be
 * written.
 */
export async function publishMetrics(
  writer: TextfileWriter,
  input: MetricsInput,
): Promise<boolean> {
  const slicer = new TimeSlicer();
  try {
    await writer.write(() =>
      expositionChunks(
        monitorFamilies(
          input.reports,
          input.shard,
          input.reload,
          input.stateWriteErrors,
          input.notifications,
        ),
        () => slicer.pause(),
      )
    );
    return true;
  } catch (err) {
    logger.error`cannot write the metrics file ${writer.path}: ${errorText(err)}`;
    return false;
  }
}

/** Outcome of configuration reloads, exported by the daemon (absent for `--once`). */
export interface ReloadStatus {
  /** Whether the last reload (or the start-up load) succeeded. */
  ok: boolean;
  /** Unix time of the last successful load, in seconds. */
  lastSuccess: number;
}

/** A user's figure for one per-user gauge; undefined: no sample. */
type UserPick = (u: ServerReport["users"][number]) => number | undefined;

/** The per-user gauges: name, help and the user's value. */
const USER_GAUGES: readonly (readonly [string, string, UserPick])[] = [
  [
    "mysql_user_storage_bytes",
    "Bytes used by the schemas that belong to the user (data + index).",
    (u) => u.usage,
  ],
  [
    "mysql_user_storage_soft_limit_bytes",
    "Soft limit of the user in bytes (a warning above it).",
    (u) => u.soft,
  ],
  [
    "mysql_user_storage_hard_limit_bytes",
    "Hard limit of the user in bytes (accounts locked above it).",
    (u) => u.hard,
  ],
  [
    "mysql_user_storage_growth_bytes_per_hour",
    "Growth of the user's usage: least-squares slope over the last 24 h of samples (negative when shrinking).",
    (u) => u.forecast?.growthBytesPerHour,
  ],
  [
    "mysql_user_storage_seconds_to_hard_limit",
    "Seconds until the user reaches the hard limit at the current growth rate; only while growing and under it.",
    (u) => u.forecast?.secondsToHardLimit,
  ],
  [
    "mysql_user_account_locked",
    "1 when an account of the user is locked, by this tool or an administrator.",
    (u) => (u.locked ? 1 : 0),
  ],
  [
    "mysql_user_account_readonly",
    "1 when an account of the user is in readonly by this tool (hard_action=readonly: its data-growing privileges revoked).",
    (u) => (u.readonly === undefined ? undefined : u.readonly ? 1 : 0),
  ],
  [
    "mysql_user_storage_hard_exceeded_since_seconds",
    "Unix time since which the user's usage is above the hard limit without a break (absent when it is not); the hard action waits for hard_grace from then.",
    (u) => u.overHardSince,
  ],
];

/** A server's figure for one per-server family; undefined: no sample. */
type ServerPick = (r: ServerReport) => number | undefined;

/** The per-server families: name, type, help and the server's value. */
const SERVER_FAMILIES: readonly (readonly [string, "gauge" | "counter", string, ServerPick])[] = [
  [
    "mysql_monitor_up",
    "gauge",
    "1 when the last scan of the server succeeded, 0 when it failed.",
    (r) => (r.up ? 1 : 0),
  ],
  [
    "mysql_monitor_last_scan_timestamp_seconds",
    "gauge",
    "Unix time of the last successful scan of the server.",
    (r) => r.lastSuccess,
  ],
  [
    "mysql_monitor_scan_duration_seconds",
    "gauge",
    "Duration of the last scan of the server, successful or not.",
    (r) => r.durationSec,
  ],
  [
    "mysql_monitor_errors_total",
    "counter",
    "Scans of the server that failed (connection, query, timeout), since the state was created.",
    (r) => r.errorsTotal,
  ],
  [
    "mysql_monitor_unknown_users",
    "gauge",
    "Users listed in search_user without an account on the server (not measured).",
    (r) => (r.up ? r.unknownUsers ?? 0 : undefined),
  ],
  [
    "mysql_monitor_global_grant_users",
    "gauge",
    "Monitored users that may write to every schema (INSERT/CREATE/ALTER on *.*); such grants charge no schema.",
    (r) => (r.up ? r.globalGrantUsers ?? 0 : undefined),
  ],
  [
    "mysql_monitor_incomplete_schemas",
    "gauge",
    "Schemas whose size could not be read completely in the last scan; their users are not unlocked.",
    (r) => (r.up ? r.incompleteSchemas ?? 0 : undefined),
  ],
];

/**
 * Builds all families for `reports`; `shard` is this daemon's shard number; `reload` adds the
 * configuration reload gauges; `stateWriteErrors` counts failed state store writes;
 * `notifications` adds the webhook counters (with the `shard` label, as every series of this
 * process's file). Users that have no account on a server get no per-user series there.
 */
export function monitorFamilies(
  reports: readonly ServerReport[],
  shard: number,
  reload?: ReloadStatus,
  stateWriteErrors = 0,
  notifications?: NotifyCounters,
): Family[] {
  const sh = String(shard);
  // Per-user samples are made while the text is written, one at a time (a report is never
  // changed once published): at 10,000 users a list of them all would be tens of thousands of
  // objects alive at once.
  const perUser = (pick: UserPick): Iterable<Sample> => ({
    *[Symbol.iterator]() {
      for (const r of reports) {
        for (const u of r.users) {
          if (u.status === "no account") continue;
          const value = pick(u);
          if (value !== undefined) {
            yield { labels: { server: r.server, user: u.user, shard: sh }, value };
          }
        }
      }
    },
  });
  const perServer = (pick: ServerPick): Sample[] =>
    reports.flatMap((r) => {
      const value = pick(r);
      return value === undefined ? [] : [{ labels: { server: r.server, shard: sh }, value }];
    });
  return [
    ...USER_GAUGES.map(([name, help, pick]): Family => ({
      name,
      help,
      type: "gauge",
      samples: perUser(pick),
    })),
    ...SERVER_FAMILIES.map(([name, type, help, pick]): Family => ({
      name,
      help,
      type,
      samples: perServer(pick),
    })),
    {
      name: "mysql_monitor_state_write_errors_total",
      help:
        "Failed writes to the state store; no account is locked or unlocked in a cycle with one.",
      type: "counter",
      samples: [{ labels: { shard: sh }, value: stateWriteErrors }],
    },
    ...(reload ? reloadFamilies(reload, sh) : []),
    ...(notifications ? [withShard(notificationFamily(notifications), sh)] : []),
  ];
}

/** `family` with the label `shard` on every sample. */
function withShard(family: Family, shard: string): Family {
  return {
    ...family,
    samples: Array.from(family.samples, (s) => ({ ...s, labels: { ...s.labels, shard } })),
  };
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
