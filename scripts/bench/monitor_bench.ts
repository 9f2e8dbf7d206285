/**
 * Benchmark of monitor cycles on large throwaway MariaDB servers, compared with the floor: the
 * bare `GROUP BY table_schema` aggregate over information_schema.TABLES, timed with the `mariadb`
 * CLI in the same rounds (alternating, medians).
 *
 * Data sets (MyISAM tables; each user has a `bu<N>\_%` schema grant), built once and kept under
 * `.test-tmp/bench-monitor/<name>/` for the next run (delete the directory to rebuild):
 * - `small`: 2,000 users, 4,000 schemas, 40,000 tables — cycles with 4 listed users and with all
 *   2,000 (information_schema), and all with `usage_source=datadir`;
 * - `large`: 10,000 users, 40,000 schemas, 100,000 tables — all users, both sources.
 *
 * Each cycle is `monitor --once -d 0` as an operator runs it (`deno run -P=app`, any extra V8
 * flags from --v8-flags); its cost is the scan's `mysql_monitor_scan_duration_seconds` (the whole
 * process, Deno's start-up included, is printed beside it), its memory the peak RSS from
 * /usr/bin/time. The longest event-loop stall is measured on the same cycles run in this
 * process, with a 5 ms timer.
 *
 * Run: deno run -P=test scripts/bench/monitor_bench.ts [--sets small,large] [--rounds 3]
 *      [--v8-flags FLAGS]
 * Prints figures and ratios, one per line; asserts nothing.
 * @module
 */
import { parseArgs } from "node:util";
import { MariaDB } from "../../tests/support/mariadb.ts";
import { cliCommand, ROOT } from "../../tests/support/cli.ts";
import { createMonitorAccount, MONITOR_PASSWORD } from "../../tests/support/monitor_fixture.ts";
import { loadConfig } from "../../src/config/config.ts";
import { Monitor } from "../../src/monitor/monitor.ts";
import { setupLogging, teardownLogging } from "../../src/system/log.ts";

const { values } = parseArgs({
  options: {
    sets: { type: "string", default: "small,large" },
    rounds: { type: "string", default: "3" },
    "v8-flags": { type: "string", default: "" },
    help: { type: "boolean" },
  },
});
if (values.help) {
  console.log(
    "deno run -P=test scripts/bench/monitor_bench.ts [--sets small,large] [--rounds 3] " +
      "[--v8-flags FLAGS]",
  );
  Deno.exit(0);
}
const ROUNDS = Number(values.rounds);
const V8_FLAGS = String(values["v8-flags"]);

interface DataSet {
  name: string;
  users: number;
  schemasPerUser: number;
  /** Tables of schema number `s` of a user. */
  tables: (s: number) => number;
}

const SETS: Record<string, DataSet> = {
  small: { name: "small", users: 2000, schemasPerUser: 2, tables: () => 10 },
  large: { name: "large", users: 10_000, schemasPerUser: 4, tables: (s) => (s % 2 ? 2 : 3) },
};

const dec = new TextDecoder();

async function mariadbClient(db: MariaDB, sql: string): Promise<string> {
  const child = new Deno.Command("mariadb", {
    args: ["--no-defaults", "-S", db.socket, "-u", "root", "--batch", "--skip-column-names"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(sql));
  await w.close();
  const out = await child.output();
  if (out.code !== 0) throw new Error(`mariadb failed: ${dec.decode(out.stderr).slice(0, 500)}`);
  return dec.decode(out.stdout);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Starts the data set's server, building the data on first use. */
async function serverFor(set: DataSet): Promise<MariaDB> {
  const keep = `${ROOT}/.test-tmp/bench-monitor/${set.name}`;
  const built = await Deno.stat(`${keep}/built`).then(() => true, () => false);
  if (!built) await Deno.remove(keep, { recursive: true }).catch(() => {});
  const db = await MariaDB.start({
    keep,
    args: ["--innodb-buffer-pool-size=64M", "--open-files-limit=65535"],
    startTimeoutSec: 600,
  });
  if (built) return db;
  const t0 = performance.now();
  await createMonitorAccount(db);
  let next = 0;
  const step = 100;
  await Promise.all(Array.from({ length: 3 }, async () => {
    while (next < set.users) {
      const from = next;
      next = Math.min(set.users, next + step);
      let sql = "";
      for (let u = from; u < next; u++) {
        sql += `CREATE USER 'bu${u}'@'%' IDENTIFIED BY 'x';\n` +
          `GRANT ALL ON \`bu${u}\\_%\`.* TO 'bu${u}'@'%';\n`;
        for (let s = 0; s < set.schemasPerUser; s++) {
          const schema = `bu${u}_s${s}`;
          sql += `CREATE DATABASE \`${schema}\`;\n`;
          for (let t = 0; t < set.tables(s); t++) {
            sql +=
              `CREATE TABLE \`${schema}\`.t${t} (id INT PRIMARY KEY, v VARCHAR(64)) ENGINE=MyISAM;\n` +
              `INSERT INTO \`${schema}\`.t${t} VALUES (1, REPEAT('x', ${(u * 7 + t) % 60}));\n`;
          }
        }
      }
      await mariadbClient(db, sql);
    }
  }));
  await Deno.writeTextFile(`${keep}/built`, new Date().toISOString() + "\n");
  console.log(`built data set ${set.name} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return db;
}

const BARE = "SELECT TABLE_SCHEMA, SUM(COALESCE(DATA_LENGTH,0) + COALESCE(INDEX_LENGTH,0)) " +
  "FROM information_schema.TABLES WHERE TABLE_SCHEMA NOT IN " +
  "('mysql','information_schema','performance_schema','sys') GROUP BY TABLE_SCHEMA;\n";

/** A configuration directory for `users` listed users and one usage source. */
async function configDir(db: MariaDB, users: number, source: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "mmd-bench-" });
  await Deno.mkdir(`${dir}/state`);
  await Deno.writeTextFile(`${dir}/passwd`, `${MONITOR_PASSWORD}\n`, { mode: 0o600 });
  await Deno.chmod(`${dir}/passwd`, 0o600);
  await Deno.writeTextFile(
    `${dir}/search_user`,
    Array.from({ length: users }, (_, u) => `bu${u},1G,2G\n`).join(""),
  );
  await Deno.writeTextFile(
    `${dir}/search.conf`,
    `passwd_file=${dir}/passwd\nprometheus_file=${dir}/m.prom\naudit_log=${dir}/audit.log\n` +
      `state_dir=${dir}/state\nrun_as=root\npid_file=${dir}/pid\nlru_size=${users}\n` +
      `[server bench]\ndb_socket=${db.socket}\ndb_user=monitor\nusage_source=${source}\n` +
      `datadir=${db.datadir}\n`,
  );
  return dir;
}

interface Cycle {
  /** The scan (mysql_monitor_scan_duration_seconds). */
  scan: number;
  /** The whole `--once` process. */
  wall: number;
  rssKiB: number;
}

async function timeOnce(db: MariaDB, dir: string, users: number): Promise<Cycle> {
  const paths = [dir, db.dir];
  const args = cliCommand(["monitor", "-c", dir, "--once", "-d", "0"], {
    read: paths,
    write: paths,
  });
  if (V8_FLAGS) args.splice(args.indexOf("-P=app"), 0, `--v8-flags=${V8_FLAGS}`);
  const start = performance.now();
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "%M", Deno.execPath(), ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const wall = (performance.now() - start) / 1000;
  const stderr = dec.decode(out.stderr);
  if (out.code !== 0) throw new Error(`monitor --once failed: ${stderr.slice(-1000)}`);
  const rows = dec.decode(out.stdout).trim().split("\n").length - 1;
  if (rows !== users) throw new Error(`expected ${users} rows, got ${rows}`);
  const metrics = await Deno.readTextFile(`${dir}/m.prom`);
  const scan = Number(/mysql_monitor_scan_duration_seconds\{[^}]*\} ([\d.]+)/.exec(metrics)?.[1]);
  return { wall, scan, rssKiB: Number(stderr.trim().split("\n").at(-1)) };
}

async function timeBare(db: MariaDB, schemas: number): Promise<number> {
  const start = performance.now();
  const out = await mariadbClient(db, BARE);
  const s = (performance.now() - start) / 1000;
  if (out.trim().split("\n").length < schemas) throw new Error("bare query returned too few rows");
  return s;
}

/** Nanoseconds this thread has waited for a CPU (it was runnable, the machine was busy). */
function runqueueWaitNs(): number {
  return Number(Deno.readTextFileSync("/proc/thread-self/schedstat").split(" ")[1]);
}

/**
 * The longest gap between 5 ms timer ticks while one cycle runs in this process: as measured,
 * and net of the time the thread waited for a CPU during the gap (what other processes on a
 * loaded machine cost it, not what the monitor's own work blocked).
 */
async function longestStall(dir: string): Promise<{ raw: number; net: number }> {
  await setupLogging({ target: { lines: [] } });
  const monitor = new Monitor(await loadConfig(dir), { debug: 0, shard: 0, shards: 1 });
  let last = performance.now();
  let lastWait = runqueueWaitNs();
  let raw = 0;
  let net = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const wait = runqueueWaitNs();
    raw = Math.max(raw, now - last);
    net = Math.max(net, now - last - (wait - lastWait) / 1e6);
    last = now;
    lastWait = wait;
  }, 5);
  try {
    const [report] = await monitor.runCycle();
    if (!report.up) throw new Error(`in-process cycle failed: ${report.error}`);
  } finally {
    clearInterval(timer);
    await monitor.close();
    await teardownLogging();
  }
  return { raw, net };
}

const f = (x: number) => `${x.toFixed(3)} s`;
const r = (x: number) => `${x.toFixed(3)}x`;

console.log(
  `machine: ${Deno.build.arch}, load average ${
    (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ")
  } (other work may be running)${V8_FLAGS ? `; monitor V8 flags: ${V8_FLAGS}` : ""}`,
);
for (const name of String(values.sets).split(",")) {
  const set = SETS[name];
  if (!set) throw new Error(`unknown data set ${name}; use small or large`);
  const db = await serverFor(set);
  try {
    const schemas = set.users * set.schemasPerUser;
    const [{ n }] = await db.query<{ n: number }>(
      "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA LIKE 'bu%'",
    );
    console.log(`\ndata set ${name}: ${set.users} users, ${schemas} schemas, ${n} tables`);
    const runs: [string, number, string][] = name === "small"
      ? [
        ["4 listed users, information_schema", 4, "information_schema"],
        [`all ${set.users} users, information_schema`, set.users, "information_schema"],
        [`all ${set.users} users, datadir`, set.users, "datadir"],
      ]
      : [
        [`all ${set.users} users, information_schema`, set.users, "information_schema"],
        [`all ${set.users} users, datadir`, set.users, "datadir"],
      ];
    const dirs = await Promise.all(runs.map(([, users, source]) => configDir(db, users, source)));
    // Warm-up, then alternate so every measurement sees the same cache state and load.
    await timeBare(db, schemas);
    for (let i = 0; i < runs.length; i++) await timeOnce(db, dirs[i], runs[i][1]);
    const bare: number[] = [];
    const cycles: Cycle[][] = runs.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      bare.push(await timeBare(db, schemas));
      for (let i = 0; i < runs.length; i++) cycles[i].push(await timeOnce(db, dirs[i], runs[i][1]));
    }
    const b = median(bare);
    console.log(`  bare GROUP BY table_schema (mariadb CLI), median of ${ROUNDS}: ${f(b)}`);
    for (let i = 0; i < runs.length; i++) {
      const scan = median(cycles[i].map((c) => c.scan));
      const wall = median(cycles[i].map((c) => c.wall));
      const rss = Math.max(...cycles[i].map((c) => c.rssKiB)) / 1024;
      // The highest of the rounds, and their median: one GC more or less moves a run by MiBs.
      const rssMedian = median(cycles[i].map((c) => c.rssKiB)) / 1024;
      console.log(
        `  ${runs[i][0]}: cycle ${f(scan)} (whole process ${f(wall)}), peak RSS ${
          rss.toFixed(1)
        } MiB (median of ${ROUNDS}: ${rssMedian.toFixed(1)} MiB)`,
      );
      console.log(
        `ratio ${name} ${runs[i][0]} / bare query: ${r(scan / b)} (whole process ${r(wall / b)})`,
      );
    }
    const peak = Math.max(...cycles.flat().map((c) => c.rssKiB)) / 1024;
    console.log(`peak RSS ${name} (${set.users} users): ${peak.toFixed(1)} MiB`);
    for (let i = 0; i < runs.length; i++) {
      const stall = await longestStall(dirs[i]);
      console.log(
        `longest event-loop stall ${name} ${runs[i][0]}: ${stall.net.toFixed(0)} ms ` +
          `(${stall.raw.toFixed(0)} ms including waits for a CPU)`,
      );
    }
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  } finally {
    await db.stop();
  }
}
