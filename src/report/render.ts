/**
 * The report as a plain-text table, as one JSON document, and as Prometheus metrics.
 *
 * Names and hosts come from unauthenticated clients: in the table every name goes through the
 * one escaping rule for human output (`escapeText`: `\\`, `\n`, `\x1b`, `\u{202e}`, …) before
 * anything is truncated, so no terminal sequence, bidi override or fake line can reach the
 * screen, and a name holding a literal backslash cannot pass for another.
 * @module
 */
import { alignColumns } from "../util/table.ts";
import { escapeText } from "../util/text.ts";
import { type Family, renderExposition } from "../metrics/exposition.ts";
import type { AccountLine, Report } from "./report.ts";

/** Longest user name and host shown in the table; longer values end with `…`. */
export const MAX_NAME_WIDTH = 32;
/** Longest host shown in the table. */
export const MAX_HOST_WIDTH = 40;

/** One character of escaped text, or one whole escape sequence. */
const UNIT = /\\u\{[0-9a-f]+\}|\\x[0-9a-f]{2}|\\.|[\s\S]/gu;

/**
 * Escapes with {@link escapeText}, then cuts to at most `max` characters, never inside an
 * escape sequence (a cut `\u{20…` would read as something else).
 */
export function cell(text: string, max = Infinity): string {
  const safe = escapeText(text);
  if ([...safe].length <= max) return safe;
  let out = "";
  let width = 0;
  for (const [unit] of safe.matchAll(UNIT)) {
    const w = [...unit].length;
    if (width + w > max - 1) break;
    out += unit;
    width += w;
  }
  return `${out}…`;
}

/** The status column: `never seen`, `unused for N days`, `active`, with `, locked`. */
export function statusText(a: AccountLine): string {
  const base = a.status === "unused" ? `unused for ${a.idleDays} days` : a.status;
  return a.locked ? `${base}, locked` : base;
}

function table(header: string[], rows: string[][]): string {
  return alignColumns(header, rows).join("\n") + "\n";
}

/** The table for a terminal or a mail: accounts, then records that match no account. */
export function renderText(report: Report): string {
  const failed = (count: number, last: string | null) =>
    count === 0 ? "0" : `${count} (last ${last})`;
  let out = table(
    ["USER", "HOST", "STATUS", "LAST SEEN", "FROM", "FAILED LOGINS"],
    report.accounts.map((a) => [
      cell(a.user, MAX_NAME_WIDTH),
      cell(a.host, MAX_HOST_WIDTH),
      statusText(a),
      a.lastSeen === null ? "-" : cell(a.lastSeen, 40),
      a.clients.length === 0 ? "-" : cell(a.clients[0].host, MAX_HOST_WIDTH),
      failed(a.failedCount, a.failedLast === null ? null : cell(a.failedLast, 40)),
    ]),
  );
  const counts = { "never seen": 0, unused: 0, active: 0 };
  for (const a of report.accounts) counts[a.status]++;
  out += `\n${report.accounts.length} accounts: ${counts.active} active, ${counts.unused} ` +
    `unused for ${report.unusedDays} days or more, ${counts["never seen"]} never seen\n`;
  if (report.unmatched.length > 0) {
    out += `\nNo matching account (dropped accounts, or names no account has):\n`;
    out += table(
      ["NAME", "CLIENT HOST", "LAST SEEN", "FAILED LOGINS", "WHY"],
      report.unmatched.map((u) => [
        cell(u.name, MAX_NAME_WIDTH),
        cell(u.host, MAX_HOST_WIDTH),
        u.lastSeen === null ? "-" : cell(u.lastSeen, 40),
        failed(u.failedCount, u.failedLast === null ? null : cell(u.failedLast, 40)),
        u.reason,
      ]),
    );
  }
  return out;
}

/** The report as one JSON document (snake_case keys, stored times as text). */
export function reportJson(report: Report, extra: Record<string, unknown> = {}): unknown {
  return {
    generated_at: new Date(report.now).toISOString(),
    unused_days: report.unusedDays,
    ...extra,
    accounts: report.accounts.map((a) => ({
      user: a.user,
      host: a.host,
      locked: a.locked,
      status: a.status,
      last_seen: a.lastSeen,
      last_seen_epoch: a.lastSeenEpoch,
      idle_days: a.idleDays,
      clients: a.clients.map((c) => ({ host: c.host, last_seen: c.lastSeen })),
      failed_logins: { count: a.failedCount, last: a.failedLast },
    })),
    unmatched: report.unmatched.map((u) => ({
      name: u.name,
      host: u.host,
      reason: u.reason,
      last_seen: u.lastSeen,
      failed_logins: { count: u.failedCount, last: u.failedLast },
    })),
  };
}

/**
 * Metrics for the textfile collector: the last login of each account that has one, and a
 * separate 0/1 gauge for accounts never seen (so `time() - last_seen` never sees a fake 0).
 */
export function reportMetrics(report: Report): string {
  const families: Family[] = [
    {
      name: "mysql_account_last_seen_timestamp_seconds",
      help:
        "Last successful login of the account recorded in the audit log (Unix time); absent for accounts never seen.",
      type: "gauge",
      samples: report.accounts.filter((a) => a.lastSeenEpoch !== null).map((a) => ({
        labels: { user: a.user, host: a.host },
        value: a.lastSeenEpoch!,
      })),
    },
    {
      name: "mysql_account_never_seen",
      help: "1 when the audit log holds no successful login of the account, else 0.",
      type: "gauge",
      samples: report.accounts.map((a) => ({
        labels: { user: a.user, host: a.host },
        value: a.lastSeen === null ? 1 : 0,
      })),
    },
    {
      name: "mysql_account_failed_logins",
      help: "Failed logins recorded in the audit log for the account (all time).",
      type: "gauge",
      samples: report.accounts.map((a) => ({
        labels: { user: a.user, host: a.host },
        value: a.failedCount,
      })),
    },
  ];
  return renderExposition(families);
}
