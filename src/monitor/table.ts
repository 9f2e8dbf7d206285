/**
 * The readable table `monitor --once` prints: one row per user and server, plus one row per
 * server that could not be scanned. Every cell goes through `escapeText`.
 * @module
 */
import { formatSize } from "../config/size.ts";
import { alignColumns } from "../util/table.ts";
import { escapeText } from "../util/text.ts";
import type { ServerReport } from "./report.ts";

const HEADER = ["SERVER", "USER", "USAGE", "SOFT", "HARD", "STATE", "ACTION"];

/** Renders the reports as an aligned plain-text table. */
export function renderTable(reports: readonly ServerReport[]): string {
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
  return alignColumns(HEADER, rows.map((row) => row.map((c) => escapeText(c)))).join("\n");
}
