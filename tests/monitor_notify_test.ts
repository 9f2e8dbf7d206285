/**
 * Webhook notifications end to end: a throwaway MariaDB, `monitor --once`, and a local HTTP
 * receiver (Deno.serve on 127.0.0.1). Each state change of a user is one signed POST with the
 * documented body; a cycle without a change sends nothing; a dry run sends nothing; the metrics
 * count what was sent.
 */
import assert from "node:assert/strict";
import { MariaDB } from "./support/mariadb.ts";
import {
  createMonitorAccount,
  fillSchema,
  Sandbox,
  socketServer,
} from "./support/monitor_fixture.ts";
import { verifySignature } from "../src/notify/webhook.ts";
import { loadConfig } from "../src/config/config.ts";
import { Monitor } from "../src/monitor/monitor.ts";
import { setupLogging, teardownLogging } from "../src/system/log.ts";

const SECRET = "a-webhook-signing-secret-0123456789";

interface Received {
  headers: Headers;
  body: string;
}

Deno.test("notify: a user crossing the soft limit is one signed POST; hard, lock, back under and release follow", async () => {
  const got: Received[] = [];
  await using receiver = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      got.push({ headers: req.headers, body: await req.text() });
      return new Response("ok");
    },
  );
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  await db.query("CREATE USER 'hal'@'%' IDENTIFIED BY 'x'");
  await db.query("GRANT ALL ON `hal\\_db`.* TO 'hal'@'%'");
  await fillSchema(db, "hal_db", 512);
  await using sb = await Sandbox.create([db]);
  const secretFile = `${sb.dir}/notify.secret`;
  await Deno.writeTextFile(secretFile, `${SECRET}\n`, { mode: 0o600 });
  await Deno.chmod(secretFile, 0o600);
  await sb.writeConf(
    sb.globals(
      `notify_url=http://127.0.0.1:${receiver.addr.port}/hook\nnotify_secret_file=${secretFile}\n`,
    ) + socketServer(db, "db1"),
  );
  const sent = async () =>
    Number(
      /^mysql_monitor_notifications_total\{result="sent",shard="0"\} (\d+)$/m.exec(
        await sb.metrics(),
      )?.[1],
    );

  // Over the soft limit, under the hard one: one POST.
  await sb.writeUsers("hal,100K,100M\n");
  let r = await sb.run(["--once", "-d", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(got.length, 1, r.stderr);
  const [first] = got;
  const body = JSON.parse(first.body);
  assert.deepEqual(Object.keys(body).sort(), [
    "action",
    "event",
    "hard_bytes",
    "host",
    "id",
    "server",
    "soft_bytes",
    "time",
    "usage_bytes",
    "user",
  ]);
  assert.equal(body.event, "soft_exceeded");
  assert.equal(body.server, "db1");
  assert.equal(body.user, "hal");
  assert.equal(body.host, null);
  assert.equal(body.soft_bytes, 100 * 1024);
  assert.equal(body.hard_bytes, 100 * 1024 * 1024);
  assert.equal(body.action, "lock");
  assert.ok(body.usage_bytes > 100 * 1024);
  assert.match(body.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(first.headers.get("content-type"), "application/json");
  assert.equal(first.headers.get("x-mysql-monitor-event"), "soft_exceeded");
  assert.equal(first.headers.get("x-mysql-monitor-delivery"), body.id);
  const timestamp = first.headers.get("x-mysql-monitor-timestamp")!;
  const signature = first.headers.get("x-mysql-monitor-signature")!;
  assert.match(signature, /^sha256=[0-9a-f]{64}$/);
  assert.ok(verifySignature(SECRET, timestamp, first.body, signature, Number(timestamp)));
  assert.ok(
    !verifySignature(
      "another-secret-of-enough-length",
      timestamp,
      first.body,
      signature,
      Number(timestamp),
    ),
  );
  assert.equal(await sent(), 1);

  // No change: nothing sent.
  r = await sb.run(["--once", "-d", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(got.length, 1);
  assert.equal(await sent(), 0);

  // Over the hard limit: hard_exceeded, then locked.
  await sb.writeUsers("hal,100K,200K\n");
  r = await sb.run(["--once", "-d", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(got.slice(1).map((g) => JSON.parse(g.body).event), ["hard_exceeded", "locked"]);
  assert.equal(await sent(), 2);

  // Back under in a dry run: nothing; then enforced: soft_cleared and released.
  await sb.writeUsers("hal,10M,20M\n");
  r = await sb.run(["--once"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(got.length, 3);
  r = await sb.run(["--once", "-d", "2"]);
  assert.equal(r.code, 0, r.stderr);
  const last = got.slice(3).map((g) => JSON.parse(g.body));
  assert.deepEqual(last.map((b) => b.event), ["soft_cleared", "released"]);
  assert.equal(last[1].soft_bytes, 10 * 1024 * 1024);
  for (const g of got) {
    const ts = g.headers.get("x-mysql-monitor-timestamp")!;
    assert.ok(
      verifySignature(SECRET, ts, g.body, g.headers.get("x-mysql-monitor-signature")!, Number(ts)),
    );
  }
});

Deno.test("notify: the daemon's stop gives a stuck receiver its deadline, then counts the event dropped in the final metrics", async () => {
  const lines: string[] = [];
  await setupLogging({ target: { lines } });
  let seen!: () => void;
  const arrived = new Promise<void>((resolve) => seen = resolve);
  let unblock!: () => void;
  const never = new Promise<void>((resolve) => unblock = resolve);
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async () => {
    seen();
    await never; // answers only when the test is over
    return new Response("late");
  });
  try {
    await using db = await MariaDB.start();
    await createMonitorAccount(db);
    await db.query("CREATE USER 'hal'@'%' IDENTIFIED BY 'x'");
    await fillSchema(db, "hal", 256);
    await using sb = await Sandbox.create([db]);
    await sb.writeConf(
      sb.globals(`notify_url=http://127.0.0.1:${receiver.addr.port}/hook\n`) +
        socketServer(db, "db1", "schema_mapping=name\nmonitor_interval_sec=3600\n"),
    );
    await sb.writeUsers("hal,10K,1G\n");
    const monitor = new Monitor(await loadConfig(sb.dir), { debug: 2, shard: 0, shards: 1 });
    const loop = monitor.run();
    await arrived; // the soft_exceeded POST is in flight
    await monitor.stop();
    await loop;
    await monitor.close();
    const prom = await sb.metrics();
    assert.match(prom, /^mysql_monitor_notifications_total\{result="dropped",shard="0"\} 1$/m);
    assert.match(prom, /^mysql_monitor_notifications_total\{result="sent",shard="0"\} 0$/m);
    assert.ok(
      lines.some((l) =>
        /webhook: soft_exceeded of user hal on server db1 dropped after 1 attempt/.test(l)
      ),
      lines.join("\n"),
    );
  } finally {
    unblock();
    await receiver.shutdown();
    await teardownLogging();
  }
});
