/**
 * What one scan of one server produced, as consumed by the metrics file, the `--once` table
 * and the logs.
 * @module
 */
import type { Status } from "./decide.ts";
import type { Forecast } from "./forecast.ts";

/** Last reported figures of one user (kept for prometheus_truncate=0). */
export interface UserFigures {
  user: string;
  usage: number;
  soft?: number;
  hard: number;
  locked: boolean;
}

/** One monitored user on one server. */
export interface UserReport extends UserFigures {
  /** Any of the user's accounts is locked (by anyone) after this cycle. */
  locked: boolean;
  /**
   * An account of the user is in readonly by this tool (hard_action=readonly); undefined for
   * figures kept from an earlier scan (no series then).
   */
  readonly?: boolean;
  /** Unix time (s) since which usage is above the hard limit; undefined when it is not. */
  overHardSince?: number;
  /** "no account": listed in search_user but no such account on the server (not measured). */
  status: Status | "no account";
  /** What was done or would be done, for people: "lock %: ok", "would warn". */
  actions: string[];
  /** Growth rate and time to the hard limit (publish step); absent without enough history. */
  forecast?: Forecast;
  /** The largest tables of a user over a limit (scan step, `--top`). */
  topTables?: TableSize[];
}

/** One table of a user's schemas, for "what is using it". */
export interface TableSize {
  schema: string;
  table: string;
  /** Data and index bytes. */
  bytes: number;
  /** Allocated but unused bytes (DATA_FREE); undefined where the source cannot tell. */
  dataFree?: number;
}

/** Locks of accounts search_user no longer covers, cleaned up in this cycle. */
export interface Released {
  user: string;
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
  /** Users of search_user (this shard's) without any account on the server. */
  unknownUsers?: number;
  /** Users that could grow every schema (global or all-matching grants), reported, not charged. */
  globalGrantUsers?: number;
  /** Schemas whose size could not be read completely this cycle. */
  incompleteSchemas?: number;
  /** Why locks and unlocks were withheld this cycle (the state store could not be written). */
  stateError?: string;
  /** Why the largest tables (`--top`) could not be listed this cycle. */
  topTablesError?: string;
  /** Accounts no longer in search_user whose locks by this tool were cleaned up. */
  released?: Released[];
}
