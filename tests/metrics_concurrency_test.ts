/**
 * End to end: one daemon monitoring six servers rewrites one metrics file as each scan ends.
 * Readers polling the file the whole time must only ever see a complete file (every server's
 * `mysql_monitor_up`, every sample line well-formed, a final newline), and the daemon must
 * report no write error. MMD_METRICS_TEST_SECONDS sets how long it runs (default 6).
 */
import assert from "node:assert/strict";
import { spawnCli } from "./support/cli.ts";
import { MariaDB } from "./support/mariadb.ts";
import {
  createMonitorAccount,
  fillSchema,
  Sandbox,
  socketServer,
} from "./support/monitor_fixture.ts";
import { promtool } from "./support/promtool.ts";

const SERVERS = 6;
const SECONDS = Number(Deno.env.get("MMD_METRICS_TEST_SECONDS") ?? "6");

/** Why `text` is not a complete metrics file of the six servers, or undefined when it is. */
function incomplete(text: string): string | undefined {
  if (!text.endsWith("\n")) return "no final newline";
  for (let i = 1; i <= SERVERS; i++) {
    if (!new RegExp(`^mysql_monitor_up\\{server="db${i}",shard="0"\\} [01]$`, "m").test(text)) {
      return `mysql_monitor_up of db${i} missing`;
    }
  }
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
    if (!/^[a-z_]+\{[^}\n]*\} [0-9.e+-]+$/.test(line)) return `bad line ${JSON.stringify(line)}`;
  }
  return undefined;
}

Deno.test(`metrics: ${SERVERS} servers in one daemon, readers polling for ${SECONDS} s: no torn read, no write error`, async () => {
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  await db.query("CREATE USER 'eve'@'%' IDENTIFIED BY 'x'");
  await fillSchema(db, "eve", 64);
  await using sb = await Sandbox.create([db]);
  let conf = sb.globals("workers=6\n");
  for (let i = 1; i <= SERVERS; i++) {
    conf += socketServer(db, `db${i}`, "monitor_interval_sec=1\nschema_mapping=name\n");
  }
  await sb.writeConf(conf);
  await sb.writeUsers("eve,10GB,20GB\n");
  const paths = [sb.dir, db.dir];
  const child = spawnCli(["monitor", "-c", sb.dir, "-d", "0"], { read: paths, write: paths });
  let stderr = "";
  const pump = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  child.stdout.cancel();
  try {
    // Wait for a first complete file.
    const ready = Date.now() + 60_000;
    while (incomplete(await sb.metrics().catch(() => "")) !== undefined) {
      assert.ok(Date.now() < ready, `no complete metrics file; daemon stderr: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    let reads = 0;
    const torn: string[] = [];
    const stamps = new Set<string>();
    const until = Date.now() + SECONDS * 1000;
    const reader = async () => {
      while (Date.now() < until) {
        const text = await sb.metrics();
        reads++;
        const why = incomplete(text);
        if (why) torn.push(why);
        for (const m of text.matchAll(/^mysql_monitor_last_scan_timestamp_seconds\{.*$/gm)) {
          stamps.add(m[0]);
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    };
    await Promise.all([reader(), reader(), reader()]);
    const errors = stderr.split("\n").filter((l) => / (ERROR|WARNING) /.test(l));
    console.log(
      `${reads} reads, ${torn.length} torn, ${errors.length} errors, ${stamps.size} scan stamps`,
    );
    assert.deepEqual(torn, [], `${torn.length} of ${reads} reads were torn`);
    assert.deepEqual(errors, []);
    assert.ok(reads >= 100, `only ${reads} reads`);
    // The file kept changing while it was read: scans of several rounds were published.
    assert.ok(stamps.size >= 2 * SERVERS, `only ${stamps.size} distinct scan timestamps`);
    const check = await promtool(sb.prom);
    assert.equal(check.code, 0, check.output);
    // No temporary file is left behind beside the metrics file.
    const names = [...Deno.readDirSync(`${sb.dir}/out`)].map((e) => e.name).sort();
    assert.deepEqual(names.filter((n) => n.endsWith(".tmp")), []);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await pump;
  }
});
