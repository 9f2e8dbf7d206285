/**
 * The act step: carries out the planned actions of one server according to the debug level
 * (0 = log only, 1 = log and warn, 2 = lock and unlock), recording before acting.
 *
 * For each `ALTER USER … ACCOUNT LOCK`/`UNLOCK`: the intent is committed to the state store
 * (fsynced), then the statement is sent, then the outcome is confirmed. After a user's locks, the
 * sessions of exactly those accounts are ended, and only then are the locks confirmed — so an
 * intent left by a crash is finished by the next run (see {@link finishIntents}). When a state
 * write fails, no further lock or unlock is sent in this cycle. When the server's answer is lost
 * (timeout, connection dropped), the intent stays for the next run to resolve and nothing more is
 * sent to that server in this cycle.
 *
 * The write-brake (`hard_action=readonly`) follows the same discipline per object level: the
 * privileges a REVOKE will remove there are committed as an intent, then the REVOKE is sent,
 * then confirmed; a restore GRANTs back exactly what was recorded, recorded the same way.
 * Sessions are not ended in that mode.
 *
 * Entry: {@link act} (one server's plan); {@link finishIntents} and {@link finishBrakes} first
 * finish what an interrupted run left. The writes go through {@link StateWrites} and the
 * statements through {@link Server}, the seams a unit test uses to fail a write or the server
 * between two steps.
 * @module
 */
import { formatSize } from "../config/size.ts";
import type { Flavour } from "../db/flavour.ts";
import { errorText } from "../errors.ts";
import { log } from "../system/log.ts";
import type { AuditEntry } from "./audit_log.ts";
import { accountKey } from "./accounts.ts";
import { type HeldPrivileges, levelSql } from "./brake.ts";
import { type Action, settle } from "./decide.ts";
import { faultPoint } from "./fault.ts";
import type {
  BrakeOrphan,
  BrakeResolution,
  Orphan,
  Plan,
  PlannedUser,
  Resolution,
} from "./plan.ts";
import type { Released, UserReport } from "./report.ts";
import type { Server } from "./server.ts";
import { classifySessions, type Session } from "./sessions.ts";
import { TimeSlicer } from "./slice.ts";
import type { AccountKey, BrakeRecord, PrivilegeLevel, StateWrites, UserFlags } from "./store.ts";

/**
 * True when the server certainly answered with an error (the statement did not happen); false
 * when the answer was lost (timeout, connection closed), so the outcome is unknown.
 */
function definiteFailure(err: unknown): boolean {
  const e = err as { sqlState?: string; fatal?: boolean };
  return typeof e?.sqlState === "string" && e.fatal !== true;
}

/** Shared by every action of one server's cycle. */
export interface ActContext {
  server: string;
  debug: 0 | 1 | 2;
  writes: StateWrites;
  /** Where the statements go. */
  target: Server;
  /** Set when a state write failed: no lock or unlock is sent for the rest of the cycle. */
  stateError?: string;
  /** Set when the server's answer was lost: nothing more is sent to it in this cycle. */
  serverLost?: string;
  /** Hosts of the anonymous accounts (user ''), which might own any session. */
  anonymousHosts: readonly string[];
  audits: AuditEntry[];
  /** The server's kind, for the GRANT of a restore. */
  flavour?: Flavour;
  /** Write-brake privileges held per account ({@link accountKey}), read under the lock. */
  privileges?: ReadonlyMap<string, readonly HeldPrivileges[]>;
  /** The server's brake records, read after interrupted intents were finished. */
  brakes?: readonly BrakeRecord[];
}

/** What one user's actions came to, for the table. */
interface Acted {
  notes: string[];
  /** Actions that happened (a dry run neither warns nor locks). */
  done: Set<Action>;
}

const logger = log("monitor");

/** The limits and figures of one user, for messages and the audit log. */
interface ActUser {
  user: string;
  usage: number;
  hard: number;
  /** Hosts of all of the user name's accounts. */
  hosts: readonly string[];
}

/** Records a state write failure: logged once per cycle, no more account changes. */
function stateFailed(ctx: ActContext, err: unknown): void {
  if (ctx.stateError) return;
  ctx.stateError = errorText(err);
  logger
    .error`server ${ctx.server}: cannot write the state store (${ctx.stateError}); no account is locked or unlocked in this cycle`;
}

/** Runs `write`; on failure marks the cycle and returns false. */
export function tryWrite(ctx: ActContext, write: () => void): boolean {
  try {
    write();
    return true;
  } catch (err) {
    stateFailed(ctx, err);
    return false;
  }
}

/** Writes one audit log line about `action`. */
type AuditOf = (action: Action, result: string, host?: string) => void;

/**
 * Logs that `user` went over or back under its soft limit (in a dry run, what would be done);
 * true when that counts as done.
 */
function softNotice(
  ctx: ActContext,
  user: string,
  size: string,
  action: Extract<Action, { kind: "soft_exceeded" | "soft_cleared" }>,
  notes: string[],
  audit: AuditOf,
): boolean {
  const { server: id, debug } = ctx;
  const soft = formatSize(action.limit);
  if (action.kind === "soft_exceeded") {
    if (debug === 0) {
      logger.info`dry run: server ${id}: user ${user} uses ${size}, above the soft limit ${soft}`;
      notes.push("would warn");
      audit(action, "dry-run");
      return false;
    }
    logger.warning`server ${id}: user ${user} uses ${size}, above the soft limit ${soft}`;
    notes.push("warned");
    audit(action, "warned");
    return true;
  }
  if (debug === 0) {
    logger
      .info`dry run: server ${id}: user ${user} uses ${size}, back under the soft limit ${soft}`;
    notes.push("would notify");
    audit(action, "dry-run");
    return false;
  }
  logger.info`server ${id}: user ${user} uses ${size}, back under the soft limit ${soft}`;
  notes.push("back under soft");
  audit(action, "notified");
  return true;
}

/**
 * The actions that send nothing to the server: a protected user over its hard limit, a grace
 * starting or ending, and forgetting an account someone else unlocked or dropped. True when
 * the action counts as done.
 */
function bookkeeping(
  ctx: ActContext,
  user: string,
  size: string,
  action: Extract<
    Action,
    { kind: "protected" | "forget" | "grace_started" | "grace_ended" | "forget_brake" }
  >,
  notes: string[],
  audit: AuditOf,
): boolean {
  const { server: id } = ctx;
  switch (action.kind) {
    case "protected":
      logger.warning`server ${id}: user ${user} uses ${size}, above the hard limit ${
        formatSize(action.limit)
      }, but is protected and is never locked; remove it from search_user`;
      notes.push("protected: not locked");
      audit(action, "refused-protected");
      return false;
    case "forget":
      if (!tryWrite(ctx, () => ctx.writes.forget(id, { user, host: action.host }))) return false;
      logger
        .info`server ${id}: account ${user}@${action.host} was unlocked or dropped by someone else; no longer tracked`;
      notes.push(`forget ${action.host}`);
      audit(action, "forgotten", action.host);
      return true;
    case "grace_started":
      logger.warning`server ${id}: user ${user} uses ${size}, above the hard limit ${
        formatSize(action.limit)
      }; grace started, the hard action is due ${action.due}`;
      audit(action, `pending: due ${action.due}`);
      return false;
    case "grace_ended":
      if (action.outcome === "back under") {
        logger.info`server ${id}: user ${user} uses ${size}, back under the hard limit ${
          formatSize(action.limit)
        } within its grace`;
      }
      audit(action, action.outcome);
      return false;
    case "forget_brake":
      if (!tryWrite(ctx, () => ctx.writes.forgetBrakes(id, { user, host: action.host }))) {
        return false;
      }
      logger
        .info`server ${id}: account ${user}@${action.host}, in readonly by this tool, was dropped; no longer tracked`;
      notes.push(`forget readonly ${action.host}`);
      audit(action, "forgotten", action.host);
      return true;
  }
}

/** Carries out one user's actions, in order; see the module comment. */
async function actForUser(
  ctx: ActContext,
  who: ActUser,
  actions: readonly Action[],
): Promise<Acted> {
  const { server: id } = ctx;
  const { user, usage } = who;
  const size = formatSize(usage);
  const notes: string[] = [];
  const done = new Set<Action>();
  const locked: { action: Action & { kind: "lock" }; host: string }[] = [];
  const audit: AuditOf = (action, result, host) =>
    ctx.audits.push({
      server: id,
      user,
      host,
      usage,
      limit: "limit" in action ? action.limit : who.hard,
      action: action.kind,
      result,
    });
  for (const action of actions) {
    switch (action.kind) {
      case "soft_exceeded":
      case "soft_cleared":
        if (softNotice(ctx, user, size, action, notes, audit)) done.add(action);
        break;
      case "protected":
      case "forget":
      case "grace_started":
      case "grace_ended":
      case "forget_brake":
        if (bookkeeping(ctx, user, size, action, notes, audit)) done.add(action);
        break;
      case "revoke":
      case "restore": {
        const r = action.kind === "revoke"
          ? await brake(ctx, user, action.host, size, action.limit)
          : await unbrake(ctx, user, action.host, size, action.limit);
        notes.push(r.note);
        audit(action, r.result, action.host);
        if (r.done) done.add(action);
        break;
      }
      case "lock":
      case "unlock": {
        const r = await alter(ctx, user, action.host, action.kind, size, action.limit);
        notes.push(r.note);
        audit(action, r.result, action.host);
        if (r.done) {
          done.add(action);
          if (action.kind === "lock") locked.push({ action, host: action.host });
        }
        break;
      }
    }
  }
  if (locked.length) {
    const hosts = locked.map((l) => l.host);
    await finishLocks(ctx, user, hosts, who.hosts.filter((h) => !hosts.includes(h)), usage);
  }
  return { notes, done };
}

/** Notes per user for the table, and the function that adds one. */
function noteBook() {
  const notes = new Map<string, string[]>();
  const note = (user: string, text: string) => notes.set(user, [...(notes.get(user) ?? []), text]);
  return { notes, note };
}

/** Why nothing may be sent now, or undefined. */
function withheldReason(ctx: ActContext): string | undefined {
  return ctx.stateError
    ? "state store not writable"
    : ctx.serverLost
    ? "server answer lost earlier"
    : undefined;
}

/** A privilege level and its privileges as people read them: `INSERT,UPDATE on shop.*`. */
function levelText(level: PrivilegeLevel, privs: readonly string[]): string {
  return `${privs.join(",")} on ${level.global ? "*.*" : levelSql(level)}`;
}

/** Sends `statement` after its intent; returns undefined when it went through, else why not. */
async function sendRecorded(
  ctx: ActContext,
  intend: () => void,
  statement: () => Promise<void>,
  abandon: () => void,
  confirm: () => void,
  what: string,
): Promise<string | undefined> {
  const id = ctx.server;
  if (!tryWrite(ctx, intend)) return "not sent: state store not writable";
  faultPoint("intent");
  try {
    await statement();
  } catch (err) {
    const text = errorText(err);
    if (definiteFailure(err)) {
      tryWrite(ctx, abandon);
      const errno = (err as { errno?: number }).errno;
      if (errno === 1044 || errno === 1045 || errno === 1227 || errno === 1410) {
        logger
          .error`server ${id}: could not ${what}: ${text} (for hard_action=readonly the monitor account needs INSERT, UPDATE, CREATE, INDEX, ALTER ON *.* WITH GRANT OPTION; see docs/write-brake.md)`;
      } else logger.error`server ${id}: could not ${what}: ${text}`;
    } else {
      ctx.serverLost = text;
      logger
        .error`server ${id}: no answer to ${what} (${text}); the next run checks the grants and finishes the record`;
    }
    return `failed: ${text}`;
  }
  faultPoint("altered");
  if (tryWrite(ctx, confirm)) faultPoint("confirmed");
  return undefined;
}

/**
 * Revokes from `user`@`host` (or grants back to it) each level's privileges, each recorded
 * before it is sent ({@link sendRecorded}); stops at the first failure and returns its outcome,
 * or undefined when every level went through.
 */
async function sendLevels(
  ctx: ActContext,
  user: string,
  host: string,
  verb: "revoke" | "restore",
  levels: readonly { level: PrivilegeLevel; privs: string[] }[],
): Promise<Altered | undefined> {
  const label = verb === "revoke" ? "readonly" : "restore";
  const withheld = withheldReason(ctx);
  if (withheld) {
    return { done: false, note: `${label} ${host}: not sent`, result: `not sent: ${withheld}` };
  }
  const id = ctx.server;
  const key: AccountKey = { user, host };
  for (const { level, privs } of levels) {
    const what = levelText(level, privs);
    const failed = await sendRecorded(
      ctx,
      () => ctx.writes.intendBrake(id, key, level, verb, privs),
      () =>
        verb === "revoke"
          ? ctx.target.revoke(user, host, level, privs)
          : ctx.target.grant(ctx.flavour!, user, host, level, privs),
      () => ctx.writes.abandonBrake(id, key, level),
      () => ctx.writes.confirmBrake(id, key, level),
      verb === "revoke"
        ? `revoke ${what} from ${user}@${host}`
        : `grant ${what} back to ${user}@${host}`,
    );
    if (failed) return { done: false, note: `${label} ${host}: failed`, result: failed };
  }
  return undefined;
}

/**
 * Puts `user`@`host` into readonly: per level where it holds write-brake privileges, records
 * the privileges to remove (intent), REVOKEs them, confirms. Open sessions are not ended.
 */
async function brake(
  ctx: ActContext,
  user: string,
  host: string,
  size: string,
  limitBytes: number,
): Promise<Altered> {
  const { server: id, debug } = ctx;
  const account = `${user}@${host}`;
  const limit = formatSize(limitBytes);
  const levels = ctx.privileges?.get(accountKey(user, host)) ?? [];
  const what = levels.map((l) => levelText(l.level, l.privs)).join("; ");
  if (debug < 2) {
    if (debug === 0) {
      logger
        .info`dry run: server ${id}: would make ${account} readonly (revoke ${what}; uses ${size}, limit ${limit})`;
    } else {
      logger
        .error`server ${id}: ${account} uses ${size}, above the hard limit ${limit}; would make it readonly (not at -d 1)`;
    }
    return {
      done: false,
      note: `would make ${host} readonly`,
      result: debug === 0 ? "dry-run" : "not-enforced",
    };
  }
  const failed = await sendLevels(ctx, user, host, "revoke", levels);
  if (failed) return failed;
  const open = await ctx.target.sessions(user).then((s) => s.length, () => 0);
  logger
    .error`server ${id}: made ${account} readonly (revoked ${what}): uses ${size}, above the hard limit ${limit}${
    open
      ? `; ${open} open session(s) of ${user} keep schema-level write access until they reconnect or change schema`
      : ""
  }`;
  return {
    done: true,
    note: `readonly ${host}: ok`,
    result: `ok: revoked ${what}${open ? `; ${open} open session(s)` : ""}`,
  };
}

/** Grants back to `user`@`host` exactly what this tool revoked from it, level by level. */
async function unbrake(
  ctx: ActContext,
  user: string,
  host: string,
  size: string,
  limitBytes: number,
  orphan?: BrakeOrphan,
): Promise<Altered> {
  const { server: id, debug } = ctx;
  const account = `${user}@${host}`;
  const limit = formatSize(limitBytes);
  const records = (ctx.brakes ?? []).filter((r) =>
    r.user === user && r.host === host && r.state === "revoked"
  );
  const what = records.map((r) => levelText(r.level, r.privs)).join("; ");
  const why = orphan
    ? orphan.limitHost === undefined
      ? `${user} is no longer in search_user`
      : `search_user now limits only ${user}@${orphan.limitHost}`
    : `uses ${size}, below ${limit}`;
  if (debug < 2) {
    logger.info`${
      debug === 0 ? "dry run: " : ""
    }server ${id}: would restore ${what} to ${account} (${why})`;
    return {
      done: false,
      note: `would restore ${host}`,
      result: debug === 0 ? "dry-run" : "not-enforced",
    };
  }
  const failed = await sendLevels(ctx, user, host, "restore", records);
  if (failed) return failed;
  logger.warning`server ${id}: restored ${what} to ${account}: ${why}`;
  return { done: true, note: `restore ${host}: ok`, result: `ok: granted ${what}` };
}

/**
 * Finishes the brake intents a crashed run left (see plan.ts {@link BrakeResolution}): a
 * revoke the server shows is confirmed, one it does not is dropped; a restore the server shows
 * removes the record, one it does not leaves the privileges recorded as revoked. Records of a
 * dropped account are forgotten. Returns notes per user for the table.
 */
export function finishBrakes(
  ctx: ActContext,
  resolutions: readonly BrakeResolution[],
): Map<string, string[]> {
  const { notes, note } = noteBook();
  const id = ctx.server;
  for (const r of resolutions) {
    const key = { user: r.user, host: r.host };
    const what = `${levelText(r.level, r.privs)} of ${r.user}@${r.host}`;
    if (r.now === "gone") {
      logger
        .info`server ${id}: a ${r.intent} of ${what} was interrupted and the account is gone; record dropped`;
      tryWrite(ctx, () => ctx.writes.forgetBrakes(id, key));
    } else if (r.now === "applied") {
      logger
        .warning`server ${id}: a ${r.intent} of ${what} was interrupted after the server applied it; recorded`;
      tryWrite(ctx, () => ctx.writes.confirmBrake(id, key, r.level));
      note(r.user, `${r.intent} ${r.host}: finished`);
    } else {
      logger
        .info`server ${id}: a ${r.intent} of ${what} was interrupted before the server applied it; intent dropped`;
      tryWrite(ctx, () => ctx.writes.abandonBrake(id, key, r.level));
    }
  }
  return notes;
}

/**
 * How {@link releaseAll} handles one kind of orphan: the record write that forgets it (and what
 * the audit log and the table then say), and the server action that undoes it.
 */
interface Release<O> {
  forget: (ctx: ActContext, o: O) => void;
  forgetAction: string;
  forgetNote: string;
  /** After the record is dropped (a log line), optional. */
  forgotten?: (ctx: ActContext, o: O) => void;
  undoAction: string;
  undo: (ctx: ActContext, o: O) => Promise<Altered>;
}

/**
 * Releases each orphan: one whose account is gone or already undone by someone else (`forget`)
 * has its record dropped, any other is undone on the server. Returns notes per user.
 */
async function releaseAll<O extends { user: string; host: string; kind: string }>(
  ctx: ActContext,
  orphans: readonly O[],
  how: Release<O>,
): Promise<Map<string, string[]>> {
  const { notes, note } = noteBook();
  for (const o of orphans) {
    const entry = { server: ctx.server, user: o.user, host: o.host, usage: 0, limit: 0 };
    if (o.kind === "forget") {
      if (tryWrite(ctx, () => how.forget(ctx, o))) {
        how.forgotten?.(ctx, o);
        ctx.audits.push({ ...entry, action: how.forgetAction, result: "forgotten" });
        note(o.user, `${how.forgetNote} ${o.host}`);
      }
      continue;
    }
    const r = await how.undo(ctx, o);
    ctx.audits.push({ ...entry, action: how.undoAction, result: r.result });
    note(o.user, r.note);
  }
  return notes;
}

/** Restores (or forgets) accounts in readonly by this tool that search_user no longer covers. */
const RELEASE_BRAKES: Release<BrakeOrphan> = {
  forget: (ctx, o) => ctx.writes.forgetBrakes(ctx.server, { user: o.user, host: o.host }),
  forgetAction: "forget_brake",
  forgetNote: "forget readonly",
  undoAction: "restore",
  undo: (ctx, o) => unbrake(ctx, o.user, o.host, "-", 0, o),
};

/** The outcome of one lock or unlock. */
interface Altered {
  done: boolean;
  note: string;
  result: string;
}

async function alter(
  ctx: ActContext,
  user: string,
  host: string,
  verb: "lock" | "unlock",
  size: string,
  limitBytes: number,
  orphan?: Orphan,
): Promise<Altered> {
  const { server: id, debug } = ctx;
  const limit = formatSize(limitBytes);
  const account = `${user}@${host}`;
  if (debug < 2) {
    if (orphan) {
      logNotCovered("would", id, orphan);
    } else if (debug === 0) {
      logger.info`dry run: server ${id}: would ${verb} ${account} (uses ${size}, limit ${limit})`;
    } else if (verb === "lock") {
      logger
        .error`server ${id}: ${account} uses ${size}, above the hard limit ${limit}; would lock (not at -d 1)`;
    } else {
      logger
        .warning`server ${id}: ${account} uses ${size}, below ${limit}; would unlock (not at -d 1)`;
    }
    return {
      done: false,
      note: `would ${verb} ${host}`,
      result: debug === 0 ? "dry-run" : "not-enforced",
    };
  }
  const withheld = withheldReason(ctx);
  if (withheld) {
    return { done: false, note: `${verb} ${host}: not sent`, result: `not sent: ${withheld}` };
  }
  const key: AccountKey = { user, host };
  if (!tryWrite(ctx, () => ctx.writes.intend(id, key, verb))) {
    return {
      done: false,
      note: `${verb} ${host}: not sent`,
      result: "not sent: state store not writable",
    };
  }
  faultPoint("intent");
  try {
    await ctx.target.setLocked(user, host, verb === "lock");
  } catch (err) {
    const text = errorText(err);
    if (definiteFailure(err)) {
      tryWrite(ctx, () => ctx.writes.abandon(id, key, verb));
      logger.error`server ${id}: could not ${verb} ${account}: ${text}`;
    } else {
      ctx.serverLost = text;
      logger
        .error`server ${id}: no answer to ${verb} ${account} (${text}); the next run checks the account and finishes the record`;
    }
    return { done: false, note: `${verb} ${host}: failed`, result: `failed: ${text}` };
  }
  faultPoint("altered");
  if (verb === "unlock") {
    if (tryWrite(ctx, () => ctx.writes.confirm(id, [key], "unlock"))) faultPoint("confirmed");
    if (orphan) {
      logNotCovered("unlocked", id, orphan);
    } else logger.warning`server ${id}: unlocked ${account}: uses ${size}, below ${limit}`;
    return { done: true, note: `unlock ${host}: ok`, result: "ok" };
  }
  logger.error`server ${id}: locked ${account}: uses ${size}, above the hard limit ${limit}`;
  return { done: true, note: `lock ${host}: ok`, result: "ok" };
}

/**
 * After `user`@`hosts` were locked: ends their sessions, then confirms the locks. The
 * `end_sessions` audit line says how many were ended and left open.
 */
async function finishLocks(
  ctx: ActContext,
  user: string,
  hosts: readonly string[],
  otherHosts: readonly string[],
  usage: number,
): Promise<void> {
  const id = ctx.server;
  let result: string;
  try {
    const r = await endSessions(ctx.target, user, hosts, [...otherHosts, ...ctx.anonymousHosts]);
    result = `ended ${r.ended}`;
    if (r.ended) logger.error`server ${id}: ended ${r.ended} open session(s) of ${user}`;
    if (r.leftOpen.length) {
      result += `, left ${r.leftOpen.length} open`;
      for (const s of r.leftOpen) {
        logger
          .warning`server ${id}: session ${s.id} of ${user} from ${s.host} left open: it may belong to an account of ${user} that is not locked; end it by hand if it is the locked one's`;
      }
    }
  } catch (err) {
    result = `failed: ${errorText(err)}`;
    logger.error`server ${id}: locked ${user} but could not end its sessions: ${errorText(err)}`;
  }
  ctx.audits.push({ server: id, user, usage, limit: 0, action: "end_sessions", result });
  if (tryWrite(ctx, () => ctx.writes.confirm(id, hosts.map((host) => ({ user, host })), "lock"))) {
    faultPoint("confirmed");
  }
}

/**
 * Finishes the intents a crashed run left (see plan.ts {@link Resolution}): a lock that reached
 * the server becomes this tool's (its sessions are ended first, at -d 2); one that did not is
 * dropped; an unlock that reached the server is confirmed; one that did not leaves the lock ours.
 * Returns notes per user for the table.
 */
export async function finishIntents(
  ctx: ActContext,
  resolutions: readonly Resolution[],
  hostsOf: (user: string) => readonly string[],
): Promise<Map<string, string[]>> {
  const { notes, note } = noteBook();
  const id = ctx.server;
  for (const r of resolutions) {
    const key = { user: r.user, host: r.host };
    const account = `${r.user}@${r.host}`;
    if (r.intent === "lock" && r.now === "locked") {
      logger
        .warning`server ${id}: a lock of ${account} was interrupted after the server applied it; it is recorded as this tool's`;
      if (ctx.debug === 2 && !ctx.stateError) {
        const others = hostsOf(r.user).filter((h) => h !== r.host);
        await finishLocks(ctx, r.user, [r.host], others, 0);
      } else tryWrite(ctx, () => ctx.writes.confirm(id, [key], "lock"));
      note(r.user, `lock ${r.host}: finished`);
    } else if (r.intent === "lock") {
      logger
        .info`server ${id}: a lock of ${account} was interrupted before the server applied it; intent dropped`;
      tryWrite(ctx, () => ctx.writes.abandon(id, key, "lock"));
    } else if (r.now === "locked") {
      logger
        .info`server ${id}: an unlock of ${account} was interrupted before the server applied it; the lock stays this tool's`;
      tryWrite(ctx, () => ctx.writes.abandon(id, key, "unlock"));
    } else {
      logger
        .warning`server ${id}: an unlock of ${account} was interrupted after the server applied it; record removed`;
      tryWrite(ctx, () => ctx.writes.confirm(id, [key], "unlock"));
      note(r.user, `unlock ${r.host}: finished`);
    }
  }
  return notes;
}

/** Logs what became of the orphaned lock `o` and why search_user no longer covers it. */
function logNotCovered(what: "would" | "unlocked" | "dropped", id: string, o: Orphan): void {
  const account = `${o.user}@${o.host}`;
  const now = o.limitHost === undefined ? undefined : `${o.user}@${o.limitHost}`;
  if (what === "would") {
    if (now === undefined) {
      logger
        .warning`server ${id}: would unlock ${account} (at -d 2), which this tool locked: ${o.user} is no longer in search_user`;
    } else {
      logger
        .warning`server ${id}: would unlock ${account} (at -d 2), which this tool locked: search_user now limits only ${now}`;
    }
  } else if (what === "unlocked") {
    if (now === undefined) {
      logger
        .warning`server ${id}: unlocked ${account}, which this tool had locked: ${o.user} is no longer in search_user`;
    } else {
      logger
        .warning`server ${id}: unlocked ${account}, which this tool had locked: search_user now limits only ${now}`;
    }
  } else if (now === undefined) {
    logger
      .info`server ${id}: ${account} is no longer locked and ${o.user} is no longer in search_user; record dropped`;
  } else {
    logger
      .info`server ${id}: ${account} is no longer locked and search_user now limits only ${now}; record dropped`;
  }
}

/**
 * Cleans up after accounts this tool locked that search_user no longer covers: unlocks them (at
 * -d 2, recorded like any unlock) or forgets them when someone else already unlocked or dropped
 * them. Returns notes per user for the table.
 */
const RELEASE_LOCKS: Release<Orphan> = {
  forget: (ctx, o) => ctx.writes.forget(ctx.server, { user: o.user, host: o.host }),
  forgetAction: "forget",
  forgetNote: "forget",
  forgotten: (ctx, o) => logNotCovered("dropped", ctx.server, o),
  undoAction: "unlock",
  undo: (ctx, o) => alter(ctx, o.user, o.host, "unlock", "-", 0, o),
};

/** Outcome of {@link endSessions}. */
interface SessionsEnded {
  ended: number;
  /** Sessions of the user name that might belong to an account that is not locked. */
  leftOpen: Session[];
}

/**
 * Ends the open sessions of the accounts `user`@`lockedHosts` (ACCOUNT LOCK only refuses new
 * ones). The process list names the user, not the account, so a session is ended only when it
 * can only belong to one of those accounts — `otherHosts` are the hosts of the user name's
 * accounts that stay unlocked, and of anonymous accounts; sessions that might be theirs are
 * returned in `leftOpen`.
 */
async function endSessions(
  server: Server,
  user: string,
  lockedHosts: readonly string[],
  otherHosts: readonly string[],
): Promise<SessionsEnded> {
  const { end, leftOpen } = classifySessions(await server.sessions(user), lockedHosts, otherHosts);
  let ended = 0;
  for (const { id } of end) if (await server.kill(id)) ended++;
  return { ended, leftOpen };
}

/** What {@link act} needs besides the context: the plan and notes of finished intents. */
export interface ActInput {
  plan: Plan;
  /** Notes per user from {@link finishIntents}, shown before this cycle's. */
  earlier: ReadonlyMap<string, string[]>;
}

/** What {@link act} did: one report per user, their flags to record, released orphans. */
export interface ActOutcome {
  users: UserReport[];
  flags: Map<string, UserFlags>;
  released: Released[];
}

/**
 * The act step: carries out `plan` on one server, user by user, then releases the locks
 * search_user no longer covers. A surprise for one user is logged and costs the others nothing.
 */
export async function act(ctx: ActContext, input: ActInput): Promise<ActOutcome> {
  const users: UserReport[] = [];
  const flags = new Map<string, UserFlags>();
  const slicer = new TimeSlicer();
  for (const p of input.plan.users) {
    await slicer.pause();
    const earlier = input.earlier.get(p.limit.user) ?? [];
    if (p.kind === "no account") {
      users.push({
        user: p.limit.user,
        usage: 0,
        soft: p.limit.soft,
        hard: p.limit.hard,
        locked: false,
        status: "no account",
        actions: earlier,
      });
      continue;
    }
    try {
      users.push(await actOnPlanned(ctx, p, earlier, flags));
    } catch (err) {
      logger.error`server ${ctx.server}: user ${p.limit.user} skipped: ${errorText(err)}`;
    }
  }
  const released = await releaseAll(ctx, input.plan.orphans, RELEASE_LOCKS);
  for (const [user, notes] of await releaseAll(ctx, input.plan.brakeOrphans, RELEASE_BRAKES)) {
    released.set(user, [...(released.get(user) ?? []), ...notes]);
  }
  return {
    users,
    flags,
    released: [...released].map(([user, actions]) => ({ user, actions })),
  };
}

/** Acts on one user's decision; returns its report and sets its flags in `flags`. */
async function actOnPlanned(
  ctx: ActContext,
  p: PlannedUser,
  earlier: readonly string[],
  flags: Map<string, UserFlags>,
): Promise<UserReport> {
  const { limit, decision: d } = p;
  const acted = await actForUser(ctx, {
    user: limit.user,
    usage: p.usage,
    hard: limit.hard,
    hosts: p.hosts,
  }, d.actions);
  const next = settle(d.state, d.actions, acted.done);
  flags.set(limit.user, {
    warned: next.warned,
    overHard: next.overHard,
    overSince: next.overSince,
    overScans: next.overScans,
  });
  const lockedAfter = p.covered.some((a) => {
    const changed = d.actions.find((x) =>
      acted.done.has(x) && (x.kind === "lock" || x.kind === "unlock") && x.host === a.host
    );
    return changed ? changed.kind === "lock" : a.locked;
  });
  let status = d.status;
  const braked = (next.brakedByUs ?? []).length > 0;
  if (next.lockedByUs.length > 0) status = "locked";
  else if (braked) status = "readonly";
  else if (status === "locked" || status === "readonly") status = "ok";
  const pending = d.pending ? [`over hard, ${d.pending}`] : [];
  if (
    p.action === "readonly" && p.usage > limit.hard && !braked && !d.pending &&
    !p.covered.some((a) => a.writable)
  ) {
    // Privileges through roles or table-level grants are not the brake's (docs/write-brake.md).
    pending.push("readonly: no global or schema-level write privilege to revoke");
  }
  return {
    user: limit.user,
    usage: p.usage,
    soft: limit.soft,
    hard: limit.hard,
    locked: lockedAfter,
    readonly: braked,
    overHardSince: p.usage > limit.hard ? next.overSince : undefined,
    status,
    actions: [...earlier, ...pending, ...acted.notes],
  };
}
