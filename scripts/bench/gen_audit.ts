/**
 * Generates realistic server_audit logs with ground truth, for the corpus tests and the
 * benchmark: mostly QUERY records with quoted SQL (commas, escaped quotes, the word CONNECT),
 * about 4 % connection events, thousands of accounts (some with commas and quotes in the name,
 * IPv6 and MariaDB 12 `host:port` clients), and failed logins with hostile usernames that forge
 * whole records across newlines. Times are UTC wall clock.
 *
 * Usage: deno run -A scripts/bench/gen_audit.ts DIR TOTAL_MB [FILES]
 * @module
 */

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
}

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
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

/** `YYYYMMDD HH:MM:SS` of a wall time. */
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

/** Writes the files and returns the ground truth. */
export async function generateAudit(o: GenOptions): Promise<GenResult> {
  const rand = rng(o.seed ?? 1);
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
    return { user, host, stored };
  });
  const truth = new Map<string, number>();
  let wall = o.start ?? Date.UTC(2024, 2, 1);
  let connId = o.firstConnId ?? 1;
  let queryId = 1000;
  const paths: string[] = [];
  const enc = new TextEncoder();
  const width = o.files - 1 >= 10 ? 2 : 1;
  let total = 0;
  await Deno.mkdir(o.dir, { recursive: true });
  for (let f = o.files - 1; f >= 0; f--) {
    const path = `${o.dir}/${base}${f === 0 ? "" : "." + pad(f, width)}`;
    paths.push(path);
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    let written = 0;
    let batch: string[] = [];
    let batchLen = 0;
    const emit = (line: string) => {
      batch.push(line);
      batchLen += line.length;
    };
    while (written < o.bytesPerFile) {
      const t = auditTime(wall);
      const r = rand();
      if (r < 0.004) {
        // Failed login with a hostile name, written twice like the server does.
        const tpl = HOSTILE[Math.floor(rand() * HOSTILE.length)];
        const user = tpl.replaceAll("{T}", t).replaceAll("{S}", server).replaceAll(
          "{C}",
          String(connId + 3),
        );
        const id = connId++;
        emit(`${t},${server},${user},localhost,${id},0,FAILED_CONNECT,,,1045\n`);
        emit(`${t},${server},${user},localhost,${id},0,DISCONNECT,,,0\n`);
      } else {
        const a = accounts[Math.floor(rand() * accounts.length)];
        const id = connId++;
        emit(`${t},${server},${a.user},${a.host},${id},0,CONNECT,app,,0\n`);
        const key = `${a.user}\u0000${a.stored}`;
        if ((truth.get(key) ?? -Infinity) < wall) truth.set(key, wall);
        const queries = 40 + Math.floor(rand() * 16);
        for (let q = 0; q < queries; q++) {
          const tbl = TABLES[Math.floor(rand() * TABLES.length)];
          const sql = rand() < 0.02
            ? `SELECT \\'a,CONNECT,b\\', \\'1,0,CONNECT,,,0\\' FROM ${tbl}`
            : rand() < 0.5
            ? `SELECT id, name, created_at FROM ${tbl} WHERE name = \\'n${
              Math.floor(rand() * 1e6)
            }\\' AND status IN (1,2,3) ORDER BY id LIMIT 50`
            : `UPDATE ${tbl} SET value = \\'${
              Math.floor(rand() * 1e9)
            }\\', updated = NOW() WHERE id = ${Math.floor(rand() * 1e7)}`;
          emit(`${t},${server},${a.user},${a.host},${id},${queryId++},QUERY,app,'${sql}',0\n`);
        }
        emit(`${t},${server},${a.user},${a.host},${id},0,DISCONNECT,,,0\n`);
      }
      if (rand() < 0.3) wall += 1000;
      if (batchLen > 1 << 20) {
        const bytes = enc.encode(batch.join(""));
        await file.write(bytes);
        written += bytes.length;
        batch = [];
        batchLen = 0;
      }
    }
    if (batch.length) {
      const bytes = enc.encode(batch.join(""));
      await file.write(bytes);
      written += bytes.length;
    }
    file.close();
    total += written;
  }
  return { truth, paths, next: { wall, connId }, bytes: total };
}

if (import.meta.main) {
  const [dir, mb, files] = Deno.args;
  if (!dir || !mb) {
    console.error("usage: gen_audit.ts DIR TOTAL_MB [FILES]");
    Deno.exit(2);
  }
  const n = Number(files ?? 10);
  const r = await generateAudit({
    dir,
    files: n,
    bytesPerFile: (Number(mb) << 20) / n,
    accounts: 5000,
  });
  console.log(`${r.bytes} bytes in ${r.paths.length} files, ${r.truth.size} accounts`);
}
