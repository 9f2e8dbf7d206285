/**
 * The audit log: one line per action (warning, lock, unlock, …) with time, server, user,
 * account host, usage, limit, action and result, as `key=value` fields. Values that are not
 * plain words are escaped with the one rule for human output (`escapeText`) and double-quoted,
 * so a hostile user name cannot forge fields or lines, nor reorder what follows it.
 * @module
 */
import { quoteValue } from "../util/text.ts";

/** One audited action. */
export interface AuditEntry {
  server: string;
  user: string;
  host?: string;
  usage: number;
  limit: number;
  action: string;
  result: string;
}

function field(value: string | number): string {
  const text = String(value);
  return /^[\w.:@%+\/-]+$/.test(text) ? text : quoteValue(text, Infinity);
}

/** Formats one audit line (without newline). */
export function formatAuditLine(entry: AuditEntry, time: Date): string {
  const parts = [
    time.toISOString(),
    `server=${field(entry.server)}`,
    `user=${field(entry.user)}`,
    ...(entry.host !== undefined ? [`host=${field(entry.host)}`] : []),
    `usage=${entry.usage}`,
    `limit=${entry.limit}`,
    `action=${field(entry.action)}`,
    `result=${field(entry.result)}`,
  ];
  return parts.join(" ");
}

/** Appends entries to the audit log file (mode 0640 when created). */
export async function appendAudit(path: string, entries: readonly AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const now = new Date();
  const text = entries.map((e) => formatAuditLine(e, now) + "\n").join("");
  await Deno.writeTextFile(path, text, { append: true, create: true, mode: 0o640 });
}
