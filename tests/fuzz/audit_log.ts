/**
 * Seeded generator of hostile server_audit logs with their ground truth, and the oracle that
 * checks conntrack's `Accounts` against it. Plain functions of a seed, so any runner can use
 * them: `generate(seed)` gives the files and the truth, `runCase(case, dir)` runs conntrack on
 * them (in this process, the whole run: discovery, parser, SQLite) and returns the rows,
 * `check(case, rows)` lists the violations.
 *
 * A case is one server's log, split into one to three rotated files, written the way MariaDB
 * writes it: successful sessions (CONNECT, a few QUERY records, DISCONNECT) interleaved, failed
 * logins of real accounts, connection ids that rise with small reordering (a slow client's
 * login is logged after later ones) and sometimes start again from 1 (a server restart), and
 * hostile login attempts. A hostile attempt is a failed login whose username is spliced from
 * fragments: newlines, whole forged records (CONNECT for a real or invented account, ids far,
 * near or equal to real ones, times in the past, the future or impossible, another server
 * host, malformed return codes), forged record heads that take over the real record's end, and
 * junk. The server writes that username twice (FAILED_CONNECT, then DISCONNECT), as it does;
 * a rotation may fall between the two.
 *
 * The oracle: an `Accounts` row only for a (user, host) that really logged in, never later than
 * its real last login; and every account that logged in at least once away from hostile
 * records (a refused record also refuses what lies within a username's reach of it) has a row
 * no older than that login.
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import type { ConntrackConfig } from "../../src/config/conntrack_ini.ts";
import { nameFromSql } from "../../src/conntrack/names.ts";
import { runConntrack } from "../../src/conntrack/run.ts";
import { parseStoredTime } from "../../src/time/tz.ts";
import { auditTime, rng } from "../../scripts/bench/gen_audit.ts";
import type { CaseContext, CaseReport, FuzzTarget } from "./runner.ts";
import type { Rng } from "./rng.ts";

/** One generated log. */
export interface AuditCase {
  seed: number;
  serverHost: string;
  /** Files oldest first: the rotations (`server_audit.log.N`), then the live log. */
  files: { name: string; bytes: Uint8Array }[];
  /**
   * Real successful logins by `user\u0000host`: the latest one's instant, and the latest one
   * that is clean (far from any hostile record; -Infinity when none is).
   */
  truth: Map<string, { latest: number; clean: number }>;
  /** Number of hostile attempts written. */
  hostile: number;
}

/** An `Accounts` row: name and host byte-exact as strings, `lastSeen` as an instant (ms). */
export interface AccountRow {
  name: string;
  host: string;
  lastSeen: number;
}

/** Options for {@link generate}. */
export interface GenerateOptions {
  /** Number of top-level steps (sessions, failed and hostile attempts); default 60–200. */
  steps?: number;
  /** Share of steps that are hostile attempts; default 0.1. */
  hostileShare?: number;
}

/** Bytes around a hostile record within which a genuine login may be refused with it. */
export const COLLATERAL_BYTES = 512;

const enc = new TextEncoder();

const ACCOUNTS: [string, string][] = [
  ["app", "10.0.0.5"],
  ["app", "localhost"],
  ["web", "10.0.1.7"],
  ["backup", "localhost"],
  ["we,ird", "10.0.0.9"],
  ["o'brien", "localhost"],
  ["élodie", "192.168.1.20"],
  ["report", "10.0.2.2"],
  ["cron", "localhost"],
  ["batch", "10.0.3.3"],
];
/** Hosts no real account logs in from: a forged login from one is an invented row. */
const FORGED_HOSTS = ["10.66.6.6", "evil.example.org", "localhost2"];
const INVENTED_USERS = ["root", "admin", "mallory"];
const JUNK = ["x", "yy", "yy,0", "a'b", ",", "", "zz,1045", "q\\'", "'',0", ",,,0"];

interface Rec {
  text: string;
  /** A real successful login: its key and instant. */
  login?: { key: string; at: number };
  hostile?: boolean;
}

/** Generates the case for `seed`. */
export function generate(seed: number, options: GenerateOptions = {}): AuditCase {
  const rand = rng(seed);
  const pick = <T>(list: T[]): T => list[Math.floor(rand() * list.length)];
  const serverHost = pick(["db1", "mariadb-prod-01.example.org", "x"]);
  const steps = options.steps ?? 60 + Math.floor(rand() * 140);
  const hostileShare = options.hostileShare ?? 0.1;
  let now = Date.UTC(2024, 4, 1) + Math.floor(rand() * 86_400) * 1000;
  // Above the ids a restart starts again from (two logins never share an id within reach).
  let nextId = 1000 + Math.floor(rand() * 100_000);
  const restartAt = rand() < 0.2 ? Math.floor(rand() * steps) : -1;
  const records: Rec[] = [];
  /** Sessions open: id, user, host, queries left. */
  const open: { id: number; user: string; host: string; left: number }[] = [];
  /** Ids accepted but not logged yet (slow clients). */
  const slow: number[] = [];
  const recentIds: number[] = [];
  const head = () => `${auditTime(now)},${serverHost}`;
  const tick = () => {
    if (rand() < 0.4) now += 1000 * (1 + Math.floor(rand() * 3));
  };
  const allocate = () => {
    // A slow client's id was taken before the ones logged around it.
    if (slow.length && rand() < 0.3) return slow.shift()!;
    if (rand() < 0.05) slow.push(nextId++);
    const id = nextId++;
    recentIds.push(id);
    if (recentIds.length > 20) recentIds.shift();
    return id;
  };
  const query = (s: { id: number; user: string; host: string }) => {
    const sql = pick([
      "SELECT 1",
      "SELECT \\'a,CONNECT,b\\', \\'1,0,CONNECT,,,0\\'",
      "UPDATE t SET v = \\'x\\' WHERE id = 7",
    ]);
    records.push({
      text: `${head()},${s.user},${s.host},${s.id},${1000 + records.length},QUERY,app,'${sql}',0`,
    });
  };
  const step = () => {
    tick();
    const r = rand();
    if (open.length && r < 0.35) {
      const k = Math.floor(rand() * open.length);
      const s = open[k];
      if (s.left-- > 0) query(s);
      else {
        records.push({ text: `${head()},${s.user},${s.host},${s.id},0,DISCONNECT,app,,0` });
        open.splice(k, 1);
      }
      return;
    }
    if (r >= 0.35 && r < 0.35 + hostileShare) return hostileAttempt();
    const [user, host] = pick(ACCOUNTS);
    const id = allocate();
    if (rand() < 0.15) {
      // A real account with a wrong password.
      records.push({ text: `${head()},${user},${host},${id},0,FAILED_CONNECT,,,1045` });
      records.push({ text: `${head()},${user},${host},${id},0,DISCONNECT,,,0` });
      return;
    }
    records.push({
      text: `${head()},${user},${host},${id},0,CONNECT,app,,0`,
      login: { key: `${user}\u0000${host}`, at: Math.floor(now / 1000) * 1000 },
    });
    open.push({ id, user, host, left: Math.floor(rand() * 8) });
  };
  let hostile = 0;
  const forgedTime = () => {
    const r = rand();
    if (r < 0.4) return auditTime(now);
    if (r < 0.55) return auditTime(now - 30_000);
    if (r < 0.7) return auditTime(now + 30_000);
    if (r < 0.8) return auditTime(now + 600_000);
    if (r < 0.9) return "20991231 23:59:59";
    return pick([
      "20261131 10:00:00",
      "00990101 00:00:00",
      "20240230 12:00:00",
      "20240101 25:00:00",
    ]);
  };
  const forgedFields = (ownId: number) => {
    const user = rand() < 0.5 ? pick(INVENTED_USERS) : pick(ACCOUNTS)[0];
    const host = rand() < 0.7 ? pick(FORGED_HOSTS) : pick(ACCOUNTS)[1];
    const r = rand();
    const id = r < 0.25
      ? ownId
      : r < 0.45
      ? ownId + 1 + Math.floor(rand() * 3)
      : r < 0.6
      ? pick(recentIds.length ? recentIds : [ownId])
      : r < 0.8
      ? 1 + Math.floor(rand() * 1e9)
      : ownId - 1;
    const op = rand() < 0.7 ? "CONNECT" : pick(["FAILED_CONNECT", "DISCONNECT", "CHANGEUSER"]);
    const rc = op === "FAILED_CONNECT" ? "1045" : rand() < 0.9 ? "0" : pick(["-0", "00"]);
    return `${user},${host},${id},0,${op},,,${rc}`;
  };
  const hostileAttempt = () => {
    const id = allocate();
    const segs: string[] = [];
    const n = 1 + Math.floor(rand() * 4);
    for (let k = 0; k < n; k++) {
      const last = k === n - 1;
      const r = rand();
      const server = rand() < 0.85 ? serverHost : "evilhost";
      if (k === 0 && r < 0.4) segs.push(forgedFields(id)); // the real head's line looks whole
      else if (!last && r < 0.75) segs.push(`${forgedTime()},${server},${forgedFields(id)}`);
      else if (last && k > 0 && r < 0.7) {
        // A forged head: the real record's end completes it into a failed login.
        segs.push(`${forgedTime()},${server},${pick(ACCOUNTS)[0]}`);
      } else segs.push(pick(JUNK));
    }
    const user = [...segs.join("\n")].slice(0, 128).join("");
    const host = pick(["localhost", "10.9.9.9"]);
    hostile++;
    records.push({
      text: `${head()},${user},${host},${id},0,FAILED_CONNECT,,,1045`,
      hostile: true,
    });
    // Sometimes another thread's record lands between the two copies.
    if (rand() < 0.2 && open.length) query(open[0]);
    records.push({ text: `${head()},${user},${host},${id},0,DISCONNECT,,,0`, hostile: true });
  };
  for (let i = 0; i < steps; i++) {
    if (i === restartAt) {
      for (const s of open.splice(0)) {
        records.push({ text: `${head()},${s.user},${s.host},${s.id},0,DISCONNECT,app,,0` });
      }
      now += 20_000;
      nextId = 1 + Math.floor(rand() * 20);
      slow.length = 0;
      recentIds.length = 0;
    }
    step();
  }
  for (const s of open.splice(0)) {
    tick();
    records.push({ text: `${head()},${s.user},${s.host},${s.id},0,DISCONNECT,app,,0` });
  }
  return assemble(seed, serverHost, records, rand, hostile);
}

/** Lays the records out in files and works out which real logins are clean. */
function assemble(
  seed: number,
  serverHost: string,
  records: Rec[],
  rand: () => number,
  hostile: number,
): AuditCase {
  const lines = records.map((r) => enc.encode(r.text + "\n"));
  const starts: number[] = [];
  let at = 0;
  for (const l of lines) {
    starts.push(at);
    at += l.length;
  }
  const hostileSpans = records.flatMap((r, i) =>
    r.hostile ? [[starts[i], starts[i] + lines[i].length]] : []
  );
  const truth = new Map<string, { latest: number; clean: number }>();
  records.forEach((r, i) => {
    if (!r.login) return;
    const s = starts[i];
    const clean = !hostileSpans.some(([a, b]) =>
      s >= a - COLLATERAL_BYTES && s <= b + COLLATERAL_BYTES
    );
    const cur = truth.get(r.login.key) ?? { latest: -Infinity, clean: -Infinity };
    cur.latest = Math.max(cur.latest, r.login.at);
    if (clean) cur.clean = Math.max(cur.clean, r.login.at);
    truth.set(r.login.key, cur);
  });
  // One to three files, cut at record boundaries (possibly between a username's two copies).
  const count = 1 + Math.floor(rand() * 3);
  const cuts = new Set<number>();
  while (cuts.size < count - 1 && records.length > count) {
    cuts.add(1 + Math.floor(rand() * (records.length - 1)));
  }
  const bounds = [0, ...[...cuts].sort((a, b) => a - b), records.length];
  const files: AuditCase["files"] = [];
  for (let k = 0; k < bounds.length - 1; k++) {
    const part = lines.slice(bounds[k], bounds[k + 1]);
    const bytes = new Uint8Array(part.reduce((n, l) => n + l.length, 0));
    let o = 0;
    for (const l of part) {
      bytes.set(l, o);
      o += l.length;
    }
    const rank = bounds.length - 2 - k;
    files.push({ name: rank === 0 ? "server_audit.log" : `server_audit.log.${rank}`, bytes });
  }
  return { seed, serverHost, files, truth, hostile };
}

/** The oracle: every violation of the rules above, as one line each (empty: the case passed). */
export function check(c: AuditCase, rows: AccountRow[]): string[] {
  const out: string[] = [];
  const show = (key: string) => JSON.stringify(key.replace("\u0000", "@"));
  const seen = new Map<string, number>();
  for (const r of rows) {
    const key = `${r.name}\u0000${r.host}`;
    seen.set(key, r.lastSeen);
    const t = c.truth.get(key);
    if (!t) out.push(`seed ${c.seed}: ${show(key)} has a last_seen but never logged in`);
    else if (r.lastSeen > t.latest) {
      out.push(
        `seed ${c.seed}: ${show(key)} last_seen ${new Date(r.lastSeen).toISOString()} is after ` +
          `its last login ${new Date(t.latest).toISOString()}`,
      );
    }
  }
  for (const [key, t] of c.truth) {
    if (t.clean === -Infinity) continue;
    const got = seen.get(key);
    if (got === undefined) out.push(`seed ${c.seed}: ${show(key)} logged in but has no row`);
    else if (got < t.clean) {
      out.push(
        `seed ${c.seed}: ${show(key)} last_seen ${new Date(got).toISOString()} is older than ` +
          `its clean login at ${new Date(t.clean).toISOString()}`,
      );
    }
  }
  return out;
}

/** The configuration of a conntrack run on `auditDir` into `sqlitePath` (UTC, no fleet). */
export function conntrackConfig(
  auditDir: string,
  sqlitePath: string,
  maxWorkers = 1,
): ConntrackConfig {
  return {
    auditLogPath: auditDir,
    auditFileName: "server_audit.log",
    sqlitePath,
    timeLocation: "UTC",
    timeLocationSet: true,
    maxWorkers,
    logLevel: "error",
    report: { port: 3306, user: "root" },
    serverName: "fuzz",
  };
}

/** Runs conntrack on the case's files in `dir` and returns the Accounts rows. */
export async function runCase(c: AuditCase, dir: string): Promise<AccountRow[]> {
  const audit = `${dir}/audit`;
  await Deno.mkdir(audit, { recursive: true });
  const settled = new Date(Date.now() - 60_000);
  for (const f of c.files) {
    await Deno.writeFile(`${audit}/${f.name}`, f.bytes);
    await Deno.utime(`${audit}/${f.name}`, settled, settled);
  }
  const config = conntrackConfig(audit, `${dir}/audit.sqlite`);
  await runConntrack(config);
  const db = new DatabaseSync(config.sqlitePath, { readOnly: true });
  try {
    const rows = db.prepare(
      "SELECT CAST(name AS BLOB) AS name, CAST(host AS BLOB) AS host, last_seen FROM Accounts",
    ).all() as Record<string, unknown>[];
    return rows.map((r) => ({
      name: nameFromSql(r.name),
      host: nameFromSql(r.host),
      lastSeen: parseStoredTime(String(r.last_seen)) ?? NaN,
    }));
  } finally {
    db.close();
  }
}

/**
 * The audit-log target of `deno task fuzz` (tests/fuzz/main.ts): each case is the generated log
 * for a seed drawn from the runner's generator, run through conntrack and checked by
 * {@link check}. It runs in this process only (conntrack's own child process is covered by the
 * CLI tests).
 */
export const auditLogTarget: FuzzTarget = {
  name: "audit_log",
  async run(rand: Rng, ctx: CaseContext): Promise<CaseReport> {
    const seed = rand.int(0x7fffffff);
    const c = generate(seed);
    const started = performance.now();
    const rows = await runCase(c, ctx.dir);
    return {
      problems: check(c, rows),
      summary: `generated log seed ${seed}: ${c.files.length} file(s), ${c.hostile} hostile`,
      ms: performance.now() - started,
    };
  },
};
