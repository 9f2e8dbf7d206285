/**
 * The usage history behind the forecast: the `usage_history` table of the state store, and
 * which samples it keeps.
 *
 * Every successful scan measures each user; a measurement is stored only when the user's newest
 * stored sample is at least {@link HISTORY_STEP_MS} (15 min) older, so a daemon scanning every
 * minute and a `--once` in between add no more than four rows per user and hour. Rows older
 * than {@link HISTORY_KEEP_MS} (7 days) are deleted, and a user never keeps more than
 * {@link HISTORY_MAX_SAMPLES} (the newest; a clock set back cannot make the table grow without
 * bound). A measurement that is only a lower bound (a size could not be read) is never stored.
 * Users that leave search_user lose their rows once the last one is 7 days old.
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import type { UsageSample } from "./forecast.ts";

/** Least time between two stored samples of one user, in ms (15 min). */
export const HISTORY_STEP_MS = 15 * 60_000;

/** How long samples are kept, in ms (7 days). */
export const HISTORY_KEEP_MS = 7 * 86400_000;

/** Most samples kept per user (7 days at one per 15 min, and some room). */
export const HISTORY_MAX_SAMPLES = 700;

/** The table, created with the state store's other tables. */
export const HISTORY_DDL = `
  CREATE TABLE IF NOT EXISTS usage_history (
    server TEXT NOT NULL,
    user   TEXT NOT NULL,
    at     INTEGER NOT NULL,
    bytes  INTEGER NOT NULL,
    PRIMARY KEY (server, user, at)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS usage_history_at ON usage_history (server, at);
`;

/** What the publish step reads and writes of the history (the state store implements it). */
export interface HistoryStore {
  /** Samples of `users` on `server` taken at or after `since` (ms), oldest first. */
  history(server: string, users: readonly string[], since: number): Map<string, UsageSample[]>;
  /** Stores one sample per user, then prunes those users' and the server's old rows; one transaction. */
  addHistory(server: string, samples: ReadonlyMap<string, UsageSample>, now: number): void;
}

/** Whether a measurement at `at` is stored, given the user's newest stored sample time. */
export function keepSample(newest: number | undefined, at: number): boolean {
  return newest === undefined || at - newest >= HISTORY_STEP_MS || at < newest;
}

/**
 * Deletes, on `server`, rows older than {@link HISTORY_KEEP_MS} before `now` and, for each of
 * `users`, all but the newest {@link HISTORY_MAX_SAMPLES}. Runs inside the caller's transaction.
 */
export function pruneHistory(
  db: DatabaseSync,
  server: string,
  users: readonly string[],
  now: number,
): void {
  db.prepare("DELETE FROM usage_history WHERE server = ? AND at < ?").run(
    server,
    now - HISTORY_KEEP_MS,
  );
  const cap = db.prepare(
    `DELETE FROM usage_history WHERE server = ? AND user = ? AND at <= (
       SELECT at FROM usage_history WHERE server = ? AND user = ?
        ORDER BY at DESC LIMIT 1 OFFSET ?)`,
  );
  for (const user of users) cap.run(server, user, server, user, HISTORY_MAX_SAMPLES);
}
