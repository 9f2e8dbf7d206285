/**
 * The readable output of `monitor --once`: a table with one row per user and server, plus one
 * row per server that could not be scanned; then, for users that need a closer look, lines
 * under it: "full in ~N days" for those on course to reach the hard limit within 7 days, and
 * the largest tables of those over a limit (`--top`). Every cell goes through `escapeText`.
 * @module
 */
import { formatSize } from "../config/size.ts";
import { escapeText } from "../util/text.ts";
import { fullIn } from "./forecast.ts";
import type { ServerReport, UserReport } from "./report.ts";

const HEADER = ["SERVER", "USER", "USAGE", "SOFT", "HARD", "STATE", "ACTION"];

/** Renders the reports as an aligned plain-text table, then the details (see the module). */
export function renderTable(reports: readonly ServerReport[]): string {
  const details = renderDetails(reports);
  return details ? `${renderRows(reports)}\n\n${details}` : renderRows(reports);
}

/** Aligns `rows` (the first is the header) in columns two spaces apart, cells escaped. */
function align(rows: readonly string[][], indent = ""): string {
  const cells = rows.map((row) => row.map((c) => escapeText(c)));
  const widths = rows[0].map((_, i) => Math.max(...cells.map((row) => [...row[i]].length)));
  return cells.map((row) =>
    indent +
    row.map((c, i) => (i === row.length - 1 ? c : c + " ".repeat(widths[i] - [...c].length)))
      .join("  ")
  ).join("\n");
}

/** The forecast and the largest tables of the users that have them; "" when none has. */
function renderDetails(reports: readonly ServerReport[]): string {
  const out: string[] = [];
  for (const r of reports) {
    if (!r.up) continue;
    for (const u of r.users) {
      const who = `${escapeText(u.user)} on ${escapeText(r.server)}`;
      const soon = fullIn(u.forecast);
      if (soon) {
        out.push(
          `${who}: ${soon} (growing ${formatSize(Math.round(u.forecast!.growthBytesPerHour))}/h)`,
        );
      }
      if (u.topTables?.length) out.push(`${who}: largest tables\n${topTable(u)}`);
    }
  }
  return out.join("\n");
}

/** The `--top` tables of `u`, indented. */
function topTable(u: UserReport): string {
  const rows = [["TABLE", "SIZE", "RECLAIMABLE"]];
  for (const t of u.topTables ?? []) {
    rows.push([
      `${t.schema}.${t.table}`,
      formatSize(t.bytes),
      t.dataFree === undefined ? "-" : formatSize(t.dataFree),
    ]);
  }
  return align(rows, "  ");
}

function renderRows(reports: readonly ServerReport[]): string {
  const rows: string[][] = [];
  for (const r of reports) {
    if (!r.up) {
      rows.push([
        r.server,
        "-",
        "-",
        "-",
        "-",
        "scan failed",
        `none (${r.error ?? "unknown error"})`,
      ]);
      continue;
    }
    for (const u of r.users) {
      rows.push([
        r.server,
        u.user,
        u.status === "no account" ? "-" : formatSize(u.usage),
        u.soft === undefined ? "-" : formatSize(u.soft),
        formatSize(u.hard),
        u.status,
        u.actions.length ? u.actions.join(", ") : "-",
      ]);
    }
    for (const x of r.released ?? []) {
      rows.push([r.server, x.user, "-", "-", "-", "not monitored", x.actions.join(", ")]);
    }
  }
  return align([HEADER, ...rows]);
}
