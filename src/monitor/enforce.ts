/**
 * Enforcement: carries out one decided action according to the debug level (0 = log only,
 * 1 = log and warn, 2 = lock and unlock) and logs it — warnings for the soft limit, errors
 * for the hard limit. The SQL itself lives in accounts.ts.
 * @module
 */
import { formatSize } from "../config/size.ts";
import type { Db } from "../db/connection.ts";
import { oneLine } from "../errors.ts";
import { log } from "../system/log.ts";
import { killSessions, setAccountLocked } from "./accounts.ts";
import type { Action } from "./decide.ts";

/** What became of one action: whether it happened, a note for the table, the audit result. */
export interface Applied {
  done: boolean;
  note: string;
  result: string;
}

const logger = log("monitor");

/** An error as one line of text for logs, tables and the audit log. */
export function errorText(err: unknown): string {
  return oneLine(err instanceof Error ? err.message : String(err));
}

/**
 * Carries out one action at debug level `debug` (below 2 it is only reported), logs it, and
 * says whether it happened, for the table and the audit log.
 */
export async function applyAction(
  db: Db,
  debug: 0 | 1 | 2,
  id: string,
  user: string,
  usage: number,
  action: Action,
): Promise<Applied> {
  const size = formatSize(usage);
  switch (action.kind) {
    case "soft_exceeded": {
      const soft = formatSize(action.limit);
      if (debug === 0) {
        logger
          .info`dry run: server ${id}: user ${user} uses ${size}, above the soft limit ${soft}`;
        return { done: false, note: "would warn", result: "dry-run" };
      }
      logger.warning`server ${id}: user ${user} uses ${size}, above the soft limit ${soft}`;
      return { done: true, note: "warned", result: "warned" };
    }
    case "soft_cleared": {
      const soft = formatSize(action.limit);
      if (debug === 0) {
        logger
          .info`dry run: server ${id}: user ${user} uses ${size}, back under the soft limit ${soft}`;
        return { done: false, note: "would notify", result: "dry-run" };
      }
      logger.info`server ${id}: user ${user} uses ${size}, back under the soft limit ${soft}`;
      return { done: true, note: "back under soft", result: "notified" };
    }
    case "protected":
      logger.warning`server ${id}: user ${user} uses ${size}, above the hard limit ${
        formatSize(action.limit)
      }, but is protected and is never locked; remove it from search_user`;
      return { done: false, note: "protected: not locked", result: "refused-protected" };
    case "forget":
      logger
        .info`server ${id}: account ${user}@${action.host} was unlocked or dropped by someone else; no longer tracked`;
      return { done: true, note: `forget ${action.host}`, result: "forgotten" };
    case "lock":
    case "unlock":
      return await lockOrUnlock(
        db,
        debug,
        id,
        user,
        action.host,
        action.kind,
        size,
        formatSize(action.limit),
      );
  }
}

async function lockOrUnlock(
  db: Db,
  debug: 0 | 1 | 2,
  id: string,
  user: string,
  host: string,
  verb: "lock" | "unlock",
  size: string,
  limit: string,
): Promise<Applied> {
  const account = `${user}@${host}`;
  if (debug < 2) {
    if (debug === 0) {
      logger.info`dry run: server ${id}: would ${verb} ${account} (uses ${size}, limit ${limit})`;
    } else if (verb === "lock") {
      logger
        .error`server ${id}: ${account} uses ${size}, above the hard limit ${limit}; would lock (not at -d 1)`;
    } else {logger
        .warning`server ${id}: ${account} uses ${size}, below ${limit}; would unlock (not at -d 1)`;}
    return {
      done: false,
      note: `would ${verb} ${host}`,
      result: debug === 0 ? "dry-run" : "not-enforced",
    };
  }
  try {
    await setAccountLocked(db, user, host, verb === "lock");
  } catch (err) {
    logger.error`server ${id}: could not ${verb} ${account}: ${errorText(err)}`;
    return { done: false, note: `${verb} ${host}: failed`, result: `failed: ${errorText(err)}` };
  }
  if (verb === "unlock") {
    logger.warning`server ${id}: unlocked ${account}: uses ${size}, below ${limit}`;
    return { done: true, note: `unlock ${host}: ok`, result: "ok" };
  }
  try {
    const ended = await killSessions(db, user);
    logger
      .error`server ${id}: locked ${account}: uses ${size}, above the hard limit ${limit}; ended ${ended} open session(s)`;
    return {
      done: true,
      note: `lock ${host}: ok`,
      result: ended ? `ok; ended ${ended} session(s)` : "ok",
    };
  } catch (err) {
    logger.error`server ${id}: locked ${account} but could not end its sessions: ${errorText(err)}`;
    return {
      done: true,
      note: `lock ${host}: ok, sessions not ended`,
      result: "ok; ending sessions failed",
    };
  }
}
