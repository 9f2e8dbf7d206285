/**
 * Generates realistic server_audit logs with ground truth, for the corpus tests and the
 * benchmark. The default shape is that of a server logging CONNECT, QUERY and TABLE events: a
 * few interleaved sessions writing short QUERY records (quoted SQL with escaped quotes, commas,
 * escaped newlines, the word CONNECT) and TABLE records (READ/WRITE), about 4 % CONNECT and 4 %
 * DISCONNECT lines, a median line of about 113 bytes (≈ 930 000 lines per 100 MiB), and clients
 * of MariaDB 12 logged with a new `host:port` per connection. `longLines`
 * keeps the older shape (whole sessions of 40–55 long queries, ≈ 157-byte lines, about 2 % of
 * each). Both have thousands of accounts (some with commas and quotes in the name, IPv6 and
 * MariaDB 12 `host:port` clients) and failed logins with hostile usernames that forge whole
 * records across newlines. Times are UTC wall clock.
 *
 * Usage: deno run -A scripts/bench/gen_audit.ts [--long-lines] DIR TOTAL_MB [FILES]
 * (prints the line statistics of what was written).
 * @module
 */
import { parseArgs } from "node:util";

/** Options for {@link generateAudit}. */
export interface GenOptions {
  dir: string;
  /** Base name of the live log; default server_audit.log. */
  base?: string;
  /** Number of files: the live log plus `files - 1` rotations. */
  files: number;
  bytesPerFile: number;
  accounts: number;
  seed?: number;
  /** First record's wall time (ms); default 2024-03-01 00:00:00. */
  start?: number;
  /** First connection id; default 1. */
  firstConnId?: number;
  /** Server host written in every record; default db1. */
  serverHost?: string;
  /** The older, sparser shape: ~157-byte lines, about 2 % connection events. */
  longLines?: boolean;
}

/** What was generated: the expected Accounts rows and where generation stopped. */
export interface GenResult {
  /** `user\u0000host` → latest successful login wall time (ms). */
  truth: Map<string, number>;
  /** Files written, oldest first. */
  paths: string[];
  /** Wall time and connection id after the last record (to continue a log). */
  next: { wall: number; connId: number };
  bytes: number;
  /** Line lengths and operation mix of what was written. */
  shape: CorpusShape;
}

/** A small deterministic PRNG (mulberry32): numbers in [0, 1) from `seed`. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/** `YYYYMMDD HH:MM:SS` of a wall time (an instant read in UTC). */
export function auditTime(wall: number): string {
  const d = new Date(wall);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())} ${
    pad(d.getUTCHours())
  }:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** `YYYY-MM-DD HH:MM:SS+00:00`: how a UTC wall time appears in Accounts.last_seen. */
export function utcLastSeen(wall: number): string {
  return new Date(wall).toISOString().replace("T", " ").replace(/\.\d+Z$/, "+00:00");
}

const TABLES = ["orders", "customers", "wp_posts", "wp_options", "sessions", "invoice_lines"];
const HOSTILE = [
  "x\n{T},{S},root,localhost,{C},0,CONNECT,,,0\nzz",
  "a,localhost,1,0,DISCONNECT,,,0\n{T},{S},admin,10.0.0.9,{C},0,CONNECT,,,0\n{T},{S},y",
  "robert'); DROP TABLE users;--",
  "evil,localhost,5,0,CONNECT,,,0",
];

/** One client session: who, its connection id, and how many records it still writes. */
interface Session {
  user: string;
  host: string;
  id: number;
  left: number;
}

/** Writes the files and returns the ground truth. */
export async function generateAudit(o: GenOptions): Promise<GenResult> {
  const rand = rng(o.seed ?? 1);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)];
  const num = (n: number) => Math.floor(rand() * n);
  const base = o.base ?? "server_audit.log";
  const server = o.serverHost ?? "db1";
  const accounts = Array.from({ length: o.accounts }, (_, i) => {
    const kind = i % 50;
    const user = kind === 7 ? `we,ird${i}` : kind === 11 ? `o'brien"${i}` : `user${i}`;
    const host = kind === 3
      ? "2001:db8::1"
      : kind === 5
      ? `[2001:db8::${i % 100}]:${40000 + i}`
      : kind === 9
      ? `10.1.${i % 250}.7:${50000 + (i % 1000)}`
      : i % 2
      ? "localhost"
      : `10.0.${(i >> 8) & 255}.${i & 255}`;
    const stored = kind === 5
      ? host.replace(/^\[(.*)\]:\d+$/, "$1")
      : kind === 9
      ? host.replace(/:\d+$/, "")
      : host;
    // MariaDB >= 12.0.1 logs the client's port, a new one for each connection.
    const withPort = kind === 5 ? `[${stored}]` : kind === 9 ? stored : undefined;
    return { user, host, stored, withPort };
  });
  const truth = new Map<string, number>();
  let wall = o.start ?? Date.UTC(2024, 2, 1);
  let connId = o.firstConnId ?? 1;
  let queryId = 1000;
  const paths: string[] = [];
  const enc = new TextEncoder();
  const width = o.files - 1 >= 10 ? 2 : 1;
  let total = 0;
  let t = auditTime(wall);
  let batch: string[] = [];
  let batchLen = 0;
  /** Bytes written since the last successful login (see `hostile`). */
  let sinceLogin = Infinity;
  const lengths = new Uint32Array(4097);
  const ops: Record<string, number> = {};
  let lines = 0;
  /** Adds one line (with its newline) of operation `op` to the current file. */
  const emit = (line: string, op: string) => {
    batch.push(line);
    batchLen += line.length;
    lines++;
    sinceLogin += line.length;
    lengths[Math.min(line.length, 4096)]++;
    ops[op] = (ops[op] ?? 0) + 1;
  };
  const login = (a: (typeof accounts)[number], id: number, host = a.host) => {
    sinceLogin = 0;
    emit(`${t},${server},${a.user},${host},${id},0,CONNECT,app,,0\n`, "CONNECT");
    const key = `${a.user}\u0000${a.stored}`;
    if ((truth.get(key) ?? -Infinity) < wall) truth.set(key, wall);
  };
  const hostile = () => {
    // A failed login with a hostile name, written twice like the server does.
    const user = pick(HOSTILE).replaceAll("{T}", t).replaceAll("{S}", server)
      .replaceAll("{C}", String(connId + 3));
    const id = connId++;
    emit(`${t},${server},${user},localhost,${id},0,FAILED_CONNECT,,,1045\n`, "FAILED_CONNECT");
    emit(`${t},${server},${user},localhost,${id},0,DISCONNECT,,,0\n`, "DISCONNECT");
  };
  /** The dense default: short QUERY/TABLE records of a few interleaved sessions. */
  const open: Session[] = [];
  const denseStep = () => {
    if (rand() < 0.3) t = auditTime(wall += 1000);
    if (open.length < 4 && rand() < 0.05) {
      // A genuine login within a username's reach before a forged record is refused with it
      // (docs/conntrack.md "Hostile usernames"), so forged records keep their distance from logins.
      if (rand() < 0.01 && sinceLogin > 400) return hostile();
      const a = pick(accounts);
      const id = connId++;
      const host = a.withPort ? `${a.withPort}:${32768 + num(28000)}` : a.host;
      login(a, id, host);
      open.push({ user: a.user, host, id, left: 10 + num(27) });
      return;
    }
    if (open.length === 0) return;
    const k = num(open.length);
    const s = open[k];
    const head = `${t},${server},${s.user},${s.host},${s.id}`;
    if (s.left-- <= 0) {
      emit(`${head},0,DISCONNECT,app,,0\n`, "DISCONNECT");
      open.splice(k, 1);
      return;
    }
    const tbl = pick(TABLES);
    if (rand() < 0.25) {
      const op = rand() < 0.7 ? "READ" : "WRITE";
      emit(`${head},${queryId},${op},app,${tbl},\n`, op);
      return;
    }
    emit(`${head},${queryId++},QUERY,app,'${shortSql(tbl)}',0\n`, "QUERY");
  };
  const shortSql = (tbl: string): string => {
    const r = rand();
    if (r < 0.02) return `SELECT \\'a,CONNECT,b\\', \\'1,0,CONNECT,,,0\\' FROM ${tbl}`;
    if (r < 0.05) return `SELECT id,\\nname\\nFROM ${tbl}\\nWHERE note = \\'it\\\\\\'s, ok\\'`;
    if (r < 0.1) {
      const rows = Array.from({ length: 8 + num(20) }, () => `(${num(1e6)}, \\'v${num(1e4)}\\')`);
      return `INSERT INTO ${tbl} (id, v) VALUES ${rows.join(",")}`;
    }
    if (r < 0.2) return pick(["COMMIT", "BEGIN", "SET autocommit=1", "SELECT 1"]);
    if (r < 0.5) return `SELECT name FROM ${tbl} WHERE id = ${num(1e6)}`;
    if (r < 0.7) return `SELECT * FROM ${tbl} WHERE slug = \\'p${num(1e5)}\\'`;
    if (r < 0.85) return `UPDATE ${tbl} SET hits = hits + 1 WHERE id = ${num(1e6)}`;
    return `INSERT INTO ${tbl} (a, b) VALUES (${num(1e4)}, \\'x,y\\')`;
  };
  /** The older shape (`longLines`): whole sessions of 40–55 long queries each. */
  const longStep = () => {
    if (rand() < 0.004) hostile();
    else {
      const a = pick(accounts);
      const id = connId++;
      login(a, id);
      const queries = 40 + num(16);
      for (let q = 0; q < queries; q++) {
        const tbl = pick(TABLES);
        const sql = rand() < 0.02
          ? `SELECT \\'a,CONNECT,b\\', \\'1,0,CONNECT,,,0\\' FROM ${tbl}`
          : rand() < 0.5
          ? `SELECT id, name, created_at FROM ${tbl} WHERE name = \\'n${
            num(1e6)
          }\\' AND status IN (1,2,3) ORDER BY id LIMIT 50`
          : `UPDATE ${tbl} SET value = \\'${num(1e9)}\\', updated = NOW() WHERE id = ${num(1e7)}`;
        emit(
          `${t},${server},${a.user},${a.host},${id},${queryId++},QUERY,app,'${sql}',0\n`,
          "QUERY",
        );
      }
      emit(`${t},${server},${a.user},${a.host},${id},0,DISCONNECT,,,0\n`, "DISCONNECT");
    }
    if (rand() < 0.3) t = auditTime(wall += 1000);
  };
  const step = o.longLines ? longStep : denseStep;
  await Deno.mkdir(o.dir, { recursive: true });
  for (let f = o.files - 1; f >= 0; f--) {
    const path = `${o.dir}/${base}${f === 0 ? "" : "." + pad(f, width)}`;
    paths.push(path);
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    let written = 0;
    const flush = async () => {
      const bytes = enc.encode(batch.join(""));
      await file.write(bytes);
      written += bytes.length;
      batch = [];
      batchLen = 0;
    };
    while (written + batchLen < o.bytesPerFile) {
      step();
      if (batchLen > 1 << 20) await flush();
    }
    // The last file closes its sessions, so every login's DISCONNECT is written.
    if (f === 0) {
      while (open.length) {
        const s = open.pop()!;
        emit(`${t},${server},${s.user},${s.host},${s.id},0,DISCONNECT,app,,0\n`, "DISCONNECT");
      }
    }
    if (batch.length) await flush();
    file.close();
    total += written;
  }
  let seen = 0;
  let median = 0;
  while (median < lengths.length && (seen += lengths[median]) * 2 < lines) median++;
  const percent: Record<string, number> = {};
  for (const [op, n] of Object.entries(ops)) percent[op] = (100 * n) / lines;
  return {
    truth,
    paths,
    next: { wall: wall + 1000, connId },
    bytes: total,
    shape: {
      lines,
      medianLineBytes: median,
      linesPer100MiB: Math.round((lines * 100 * 1048576) / total),
      percent,
    },
  };
}

/** Line statistics of a generated corpus (ASCII lines: characters are bytes). */
export interface CorpusShape {
  lines: number;
  /** Median line length, newline included. */
  medianLineBytes: number;
  /** Lines per 100 MiB. */
  linesPer100MiB: number;
  /** Share of lines by operation (CONNECT, DISCONNECT, QUERY, READ, …), in percent. */
  percent: Record<string, number>;
}

/** One line describing a corpus shape. */
export function describeShape(s: CorpusShape): string {
  const mix = Object.entries(s.percent).sort((a, b) => b[1] - a[1])
    .map(([op, p]) => `${op} ${p.toFixed(1)}%`).join(", ");
  return `${s.lines} lines, median ${s.medianLineBytes} bytes per line (newline included), ` +
    `${s.linesPer100MiB} lines per 100 MiB; ${mix}`;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: { "long-lines": { type: "boolean" } },
    allowPositionals: true,
  });
  const [dir, mb, files] = positionals;
  if (!dir || !mb) {
    console.error("usage: gen_audit.ts [--long-lines] DIR TOTAL_MB [FILES]");
    Deno.exit(2);
  }
  const n = Number(files ?? 10);
  const r = await generateAudit({
    dir,
    files: n,
    bytesPerFile: Math.floor((Number(mb) * 1048576) / n),
    accounts: 5000,
    longLines: values["long-lines"],
  });
  console.log(`${r.bytes} bytes in ${r.paths.length} files, ${r.truth.size} accounts`);
  console.log(describeShape(r.shape));
}
