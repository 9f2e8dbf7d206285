/**
 * End to end: the metrics file passes `promtool check metrics`, is read by a real
 * node_exporter textfile collector, and shards split the users disjointly and completely.
 */
import assert from "node:assert/strict";
import { freePort, MariaDB } from "./support/mariadb.ts";
import {
  createMonitorAccount,
  fillSchema,
  Sandbox,
  socketServer,
  sqliteLines,
} from "./support/monitor_fixture.ts";
import { shardOf } from "../src/monitor/shard.ts";
import { promtool } from "./support/promtool.ts";

const ODD_USER = 'q"uo\\te';

Deno.test("metrics: promtool accepts the file and node_exporter's textfile collector reads it", async () => {
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  for (const u of ["alice", ODD_USER]) {
    await db.query("CREATE USER ?@'%' IDENTIFIED BY 'x'", [u]);
  }
  await fillSchema(db, "alice", 256);
  await fillSchema(db, ODD_USER, 64);
  await using sb = await Sandbox.create([db]);
  await sb.writeConf(sb.globals() + socketServer(db, "db1", "schema_mapping=name\n"));
  await sb.writeUsers(`alice,10K,100K\n${ODD_USER},1M,2M\n`);
  const r = await sb.run(["--once", "-d", "2"]);
  assert.equal(r.code, 0, r.stderr);
  const text = await sb.metrics();
  assert.match(
    text,
    /^mysql_user_storage_bytes\{server="db1",user="q\\"uo\\\\te",shard="0"\} \d+$/m,
  );
  for (
    const name of [
      "mysql_user_storage_bytes",
      "mysql_user_storage_soft_limit_bytes",
      "mysql_user_storage_hard_limit_bytes",
      "mysql_user_account_locked",
      "mysql_monitor_up",
      "mysql_monitor_last_scan_timestamp_seconds",
      "mysql_monitor_scan_duration_seconds",
      "mysql_monitor_errors_total",
    ]
  ) {
    assert.match(text, new RegExp(`^# HELP ${name} .+\\n# TYPE ${name} (gauge|counter)$`, "m"));
  }
  // No timestamps: every sample line is "name{labels} value".
  for (const line of text.split("\n").filter((l) => l && !l.startsWith("#"))) {
    assert.match(line, /^[a-z_]+\{[^}]*\} [0-9.e+-]+$/, line);
  }
  const check = await promtool(sb.prom);
  assert.equal(check.code, 0, check.output);
  assert.equal(check.output.trim(), "", `promtool lint findings: ${check.output}`);

  const port = freePort();
  const exporter = new Deno.Command("/usr/bin/prometheus-node-exporter", {
    args: [
      `--collector.textfile.directory=${sb.dir}/out`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--collector.disable-defaults",
      "--collector.textfile",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    let body = "";
    for (let i = 0; i < 100 && !body; i++) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`);
        body = await res.text();
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.match(body, /^node_textfile_scrape_error 0$/m);
    assert.match(body, /^mysql_user_storage_bytes\{server="db1",shard="0",user="alice"\} \d+$/m);
    assert.match(
      body,
      /^mysql_user_storage_bytes\{server="db1",shard="0",user="q\\"uo\\\\te"\} \d+$/m,
    );
    assert.match(body, /^mysql_user_account_locked\{server="db1",shard="0",user="alice"\} 1$/m);
    assert.match(body, /^mysql_monitor_up\{server="db1",shard="0"\} 1$/m);
  } finally {
    exporter.kill("SIGTERM");
    await exporter.status;
  }
});

Deno.test("shards: -s N -t 3 split the users disjointly and completely, each into its own files", async () => {
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  const users = Array.from({ length: 15 }, (_, i) => `u${i}`);
  for (const u of users) {
    await db.query("CREATE USER ?@'%'", [u]);
    await db.query(`CREATE DATABASE \`${u}\``);
    await db.query(`CREATE TABLE \`${u}\`.t (x INT) ENGINE=MyISAM`);
    await db.query(`INSERT INTO \`${u}\`.t VALUES (1)`);
  }
  await using sb = await Sandbox.create([db]);
  await sb.writeConf(sb.globals() + socketServer(db, "db1", "schema_mapping=name\n"));
  await sb.writeUsers(users.map((u) => `${u},1M,2M\n`).join(""));
  const seen = new Map<string, number>();
  for (let shard = 0; shard < 3; shard++) {
    const r = await sb.run(["--once", "-s", String(shard), "-t", "3"]);
    assert.equal(r.code, 0, r.stderr);
    const text = await Deno.readTextFile(`${sb.dir}/out/monitor_shard${shard}.prom`);
    const mine = [
      ...text.matchAll(
        /^mysql_user_storage_bytes\{server="db1",user="([^"]+)",shard="(\d)"\} (\d+)$/gm,
      ),
    ];
    for (const [, user, label, bytes] of mine) {
      assert.equal(label, String(shard));
      assert.ok(!seen.has(user), `${user} reported by shards ${seen.get(user)} and ${shard}`);
      assert.equal(shardOf(user, 3), shard);
      assert.ok(Number(bytes) > 0, `${user} not measured`);
      seen.set(user, shard);
    }
  }
  assert.deepEqual([...seen.keys()].sort(), [...users].sort());
  // One state store shared by the shards, holding every user's figures.
  const rows = await sqliteLines(
    `${sb.state}/monitor.sqlite`,
    "SELECT COUNT(*) FROM user_figures WHERE server = 'db1'",
  );
  assert.deepEqual(rows, [String(users.length)]);
  assert.ok(new Set(seen.values()).size === 3, "a shard got no user");
  await assert.rejects(Deno.stat(sb.prom), "an unsharded metrics file was written");
});
