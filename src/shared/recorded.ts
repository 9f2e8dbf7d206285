/**
 * The recorded logins, as the conntrack stores (the local SQLite file, the central fleet
 * store) hand them to the report. Both sides import these types from here, so neither layer
 * reaches into the other.
 * @module
 */

/** A recorded login (an `Accounts` row): `lastSeen` as stored, e.g. `2024-10-14 13:22:57+02:00`. */
export interface SeenRecord {
  name: string;
  host: string;
  lastSeen: string;
}

/** Failed logins of one (name, client host): how many and the last one, as stored. */
export interface FailedRecord {
  name: string;
  host: string;
  count: number;
  lastSeen: string;
}

/** Recorded logins: successful (`Accounts`) and failed (`conntrack_events`). */
export interface Recorded {
  seen: SeenRecord[];
  failed: FailedRecord[];
}

/**
 * The SQL condition on a `conntrack_events` row (local or central) for failed logins: the
 * `failed` kind, and a `multiline` event (a username with a line break) with a non-zero code.
 */
export const FAILED_LOGIN_EVENTS =
  "(kind = 'failed' OR (kind = 'multiline' AND last_retcode <> 0))";
