/**
 * What one scan of one server produced, as consumed by the metrics file, the `--once` table
 * and the logs.
 * @module
 */
import type { Status } from "./decide.ts";

/** One monitored user on one server. */
export interface UserReport {
  user: string;
  usage: number;
  soft?: number;
  hard: number;
  /** Any of the user's accounts is locked (by anyone) after this cycle. */
  locked: boolean;
  status: Status;
  /** What was done or would be done, for people: "lock %: ok", "would warn". */
  actions: string[];
}

/** The outcome of scanning one server. */
export interface ServerReport {
  server: string;
  up: boolean;
  error?: string;
  /** Unix time (s) of the last successful scan, if any. */
  lastSuccess?: number;
  durationSec: number;
  errorsTotal: number;
  users: UserReport[];
  /** True when `users` are last cycle's figures kept for a server that could not be scanned. */
  stale: boolean;
}
