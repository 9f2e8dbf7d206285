/**
 * Benchmark of one monitor cycle on a large throwaway MariaDB: 2,000 users, 4,000 schemas and
 * 40,000 tables (defaults; see --help). Prints figures, asserts nothing.
 *
 * Compared, in the same run and alternating: the bare aggregate information_schema query timed
 * with the `mariadb` CLI, and `monitor --once` (as an operator runs it: `deno run -P=app`), whose
 * wall time includes Deno's start-up. Also `usage_source=datadir`, and the monitor's peak RSS
 * (from /usr/bin/time).
 *
 * Run: deno run -P=test scripts/bench/monitor_bench.ts [--users N] [--tables-per-schema N]
 *      [--engine MyISAM|Aria|InnoDB] [--rounds N]
 * @module
 */
import { parseArgs } from "node:util";
import { MariaDB } from "../../tests/support/mariadb.ts";
import { cliCommand, ROOT } from "../../tests/support/cli.ts";
import { createMonitorAccount, MONITOR_PASSWORD } from "../../tests/support/monitor_fixture.ts";

const { values } = parseArgs({
  options: {
    users: { type: "string", default: "2000" },
    "schemas-per-user": { type: "string", default: "2" },
    "tables-per-schema": { type: "string", default: "10" },
    engine: { type: "string", default: "MyISAM" },
    rounds: { type: "string", default: "3" },
    help: { type: "boolean" },
  },
});
if (values.help) {
  console.log(
    "deno run -P=test scripts/bench/monitor_bench.ts [--users 2000] [--schemas-per-user 2] " +
      "[--tables-per-schema 10] [--engine MyISAM] [--rounds 3]",
  );
  Deno.exit(0);
}
const USERS = Number(values.users);
const SCHEMAS = Number(values["schemas-per-user"]);
const TABLES = Number(values["tables-per-schema"]);
const ROUNDS = Number(values.rounds);
const ENGINE = String(values.engine);

const dec = new TextDecoder();

async function mariadbClient(db: MariaDB, sql: string, args: string[] = []): Promise<string> {
  const child = new Deno.Command("mariadb", {
    args: [
      "--no-defaults",
      "-S",
      db.socket,
      "-u",
      "root",
      "--batch",
      "--skip-column-names",
      ...args,
    ],
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

const t0 = performance.now();
await using db = await MariaDB.start({
  args: [
    "--innodb-buffer-pool-size=512M",
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-doublewrite=0",
  ],
});
await createMonitorAccount(db);
console.log(`server ${db.dir} (socket ${db.socket})`);

// Build the data set in batches of multi-statement scripts over the socket.
const parallel = 4;
const batches: string[] = [];
for (let u = 0; u < USERS; u++) {
  let sql =
    `CREATE USER 'bu${u}'@'%' IDENTIFIED BY 'x';\nGRANT ALL ON \`bu${u}\\_%\`.* TO 'bu${u}'@'%';\n`;
  for (let s = 0; s < SCHEMAS; s++) {
    const schema = `bu${u}_s${s}`;
    sql += `CREATE DATABASE \`${schema}\`;\n`;
    for (let t = 0; t < TABLES; t++) {
      sql +=
        `CREATE TABLE \`${schema}\`.t${t} (id INT PRIMARY KEY, v VARCHAR(64)) ENGINE=${ENGINE};\n` +
        `INSERT INTO \`${schema}\`.t${t} VALUES (1, REPEAT('x', ${(u * 7 + t) % 60})), (2, 'y');\n`;
    }
  }
  batches.push(sql);
}
let next = 0;
await Promise.all(Array.from({ length: parallel }, async () => {
  while (next < batches.length) {
    const chunk = batches.slice(next, next + 50).join("");
    next += 50;
    await mariadbClient(db, chunk);
  }
}));
const [{ n }] = await db.query<{ n: number }>(
  "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA LIKE 'bu%'",
);
const built = (performance.now() - t0) / 1000;
console.log(
  `built ${USERS} users, ${USERS * SCHEMAS} schemas, ${n} ${ENGINE} tables in ${
    built.toFixed(1)
  } s`,
);

// Configuration: every user with limits that are not reached (the cycle does no locking).
const dir = await Deno.makeTempDir({ prefix: "mmd-bench-" });
await Deno.mkdir(`${dir}/state`);
await Deno.writeTextFile(`${dir}/passwd`, `${MONITOR_PASSWORD}\n`, { mode: 0o600 });
await Deno.chmod(`${dir}/passwd`, 0o600);
await Deno.writeTextFile(
  `${dir}/search_user`,
  Array.from({ length: USERS }, (_, u) => `bu${u},1G,2G\n`).join(""),
);
const conf = (source: string) =>
  `passwd_file=${dir}/passwd\nprometheus_file=${dir}/m.prom\naudit_log=${dir}/audit.log\n` +
  `state_dir=${dir}/state\nlru_size=${Math.max(USERS, 1)}\n` +
  `[server bench]\ndb_socket=${db.socket}\ndb_user=monitor\nusage_source=${source}\n`;

const BARE = "SELECT TABLE_SCHEMA, SUM(COALESCE(DATA_LENGTH,0) + COALESCE(INDEX_LENGTH,0)) " +
  "FROM information_schema.TABLES WHERE TABLE_SCHEMA NOT IN " +
  "('mysql','information_schema','performance_schema','sys') GROUP BY TABLE_SCHEMA;\n";

async function timeBare(): Promise<number> {
  const start = performance.now();
  const out = await mariadbClient(db, BARE);
  const ms = performance.now() - start;
  if (out.split("\n").length < USERS * SCHEMAS) throw new Error("bare query returned too few rows");
  return ms / 1000;
}

async function timeOnce(source: string): Promise<{ wall: number; scan: number; rssKiB: number }> {
  await Deno.writeTextFile(`${dir}/search.conf`, conf(source));
  const paths = [dir, db.dir];
  const args = cliCommand(["monitor", "-c", dir, "--once", "-d", "0"], {
    read: paths,
    write: paths,
  });
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
  if (rows !== USERS) throw new Error(`expected ${USERS} rows, got ${rows}`);
  const metrics = await Deno.readTextFile(`${dir}/m.prom`);
  const scan = Number(/mysql_monitor_scan_duration_seconds\{[^}]*\} ([\d.]+)/.exec(metrics)?.[1]);
  const rssKiB = Number(stderr.trim().split("\n").at(-1));
  return { wall, scan, rssKiB };
}

// Warm-up, then alternate so both see the same cache state.
await timeBare();
await timeOnce("information_schema");
const bare: number[] = [];
const once: { wall: number; scan: number; rssKiB: number }[] = [];
const datadir: { wall: number; scan: number; rssKiB: number }[] = [];
for (let i = 0; i < ROUNDS; i++) {
  bare.push(await timeBare());
  once.push(await timeOnce("information_schema"));
  datadir.push(await timeOnce("datadir"));
}
const b = median(bare);
const w = median(once.map((o) => o.wall));
const s = median(once.map((o) => o.scan));
const dw = median(datadir.map((o) => o.wall));
const ds = median(datadir.map((o) => o.scan));
const rss = Math.max(...once.map((o) => o.rssKiB), ...datadir.map((o) => o.rssKiB));
const f = (x: number) => `${x.toFixed(3)} s`;
console.log(
  `\nmedian of ${ROUNDS} rounds (${USERS} users, ${USERS * SCHEMAS} schemas, ${n} tables):`,
);
console.log(`  bare aggregate query, mariadb CLI       ${f(b)}`);
console.log(`  monitor --once, information_schema:`);
console.log(`    whole process (deno start-up included) ${f(w)}  = ${(w / b).toFixed(2)} x bare`);
console.log(`    scan + decisions (scan_duration)       ${f(s)}  = ${(s / b).toFixed(2)} x bare`);
console.log(`  monitor --once, usage_source=datadir:`);
console.log(`    whole process                          ${f(dw)}  = ${(dw / b).toFixed(2)} x bare`);
console.log(`    scan + decisions (scan_duration)       ${f(ds)}`);
console.log(`  peak RSS of the monitor process          ${(rss / 1024).toFixed(1)} MiB`);
await Deno.remove(dir, { recursive: true });
await db.stop();
