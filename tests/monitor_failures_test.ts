/**
 * End to end: servers that are down, refuse the password, hang, or give a partial scan. No
 * action is taken on such a server, `mysql_monitor_up` is 0 and `--once` exits 1, while the
 * healthy servers are still handled.
 */
import assert from "node:assert/strict";
import { cliCommand, ROOT } from "./support/cli.ts";
import { freePort, MariaDB } from "./support/mariadb.ts";
import { HANG_MS, until, within } from "./support/wait.ts";
import {
  createMonitorAccount,
  fillSchema,
  isLocked,
  Sandbox,
  socketServer,
} from "./support/monitor_fixture.ts";

/** A TCP server that accepts connections and never says a word (a hung server). */
function silentServer(): { port: number; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  (async () => {
    try {
      for await (const c of listener) conns.push(c);
    } catch { /* closed */ }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* gone */ }
      }
    },
  };
}

async function overHardUser(db: MariaDB, user = "eve") {
  await db.query("CREATE USER ?@'%' IDENTIFIED BY 'x'", [user]);
  await db.query(`GRANT ALL ON \`${user}\`.* TO ?@'%'`, [user]);
  await fillSchema(db, user, 512);
}

function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

Deno.test("monitor failures: two servers, one down and one hung; the healthy one is enforced, exit 1", async () => {
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  await overHardUser(db);
  const hung = silentServer();
  try {
    await using sb = await Sandbox.create([db]);
    const deadPort = freePort();
    await sb.writeConf(
      sb.globals("workers=3\nconnect_retries=2\n") + socketServer(db, "good") +
        `[server down]\ndb_host=127.0.0.1\ndb_port=${deadPort}\ndb_user=monitor\n` +
        `[server hung]\ndb_host=127.0.0.1\ndb_port=${hung.port}\ndb_user=monitor\nconnect_timeout_sec=1\nconnect_retries=0\n`,
    );
    await sb.writeUsers("eve,100K,200K\n");
    // The hung server's 1 s connect timeout ends the run (the stdout below says which timeout
    // fired); the hang guard only catches a run that never ends.
    const r = await sb.run(["--once", "-d", "2"], {}, [], HANG_MS);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^good\s+eve\s+.*locked\s+warned, lock %: ok$/m);
    assert.match(r.stdout, /^down\s+-\s+-\s+-\s+-\s+scan failed\s+none \(.*ECONNREFUSED.*\)$/m);
    assert.match(
      r.stdout,
      /^hung\s+-\s+-\s+-\s+-\s+scan failed\s+none \(connect (ETIMEDOUT|timed out after 1 s)\)$/m,
    );
    // Exponential backoff between attempts on the dead server.
    assert.match(r.stderr, /server down: connection attempt 1 failed \(.*\); retrying in 500 ms/);
    assert.match(r.stderr, /server down: connection attempt 2 failed \(.*\); retrying in 1000 ms/);
    assert.match(r.stderr, /ERROR monitor: server down: scan failed, no action taken/);
    assert.ok(await isLocked(db, "eve", "%"));
    const m = await sb.metrics();
    assert.equal(sample(m, "mysql_monitor_up", 'server="good",shard="0"'), 1);
    assert.equal(sample(m, "mysql_monitor_up", 'server="down",shard="0"'), 0);
    assert.equal(sample(m, "mysql_monitor_up", 'server="hung",shard="0"'), 0);
    assert.equal(sample(m, "mysql_monitor_errors_total", 'server="down",shard="0"'), 1);
    assert.equal(
      sample(m, "mysql_user_storage_bytes", 'server="down",user="eve",shard="0"'),
      undefined,
    );
  } finally {
    hung.close();
  }
});

Deno.test("monitor failures: wrong password and a partial scan take no action; prometheus_truncate=0 keeps the last series", async () => {
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  await overHardUser(db);
  await using sb = await Sandbox.create([db]);
  await sb.writeConf(sb.globals("prometheus_truncate=0\n") + socketServer(db, "db1"));
  await sb.writeUsers("eve,100K,200K\n");
  // A dry run records the figures.
  let r = await sb.run(["--once", "-d", "0"]);
  assert.equal(r.code, 0, r.stderr);
  const bytes = sample(
    await sb.metrics(),
    "mysql_user_storage_bytes",
    'server="db1",user="eve",shard="0"',
  );
  assert.ok(bytes && bytes > 200 * 1024);

  await sb.writePasswd("wrong-password\n");
  r = await sb.run(["--once", "-d", "2"]);
  assert.equal(r.code, 1);
  assert.match(
    r.stdout,
    /^db1\s+-.*scan failed\s+none \(Access denied for user 'monitor'@'localhost' \(using password: YES\)\)$/m,
  );
  assert.doesNotMatch(r.stderr + r.stdout, /wrong-password|m0n1tor/, "the password leaked");
  assert.doesNotMatch(r.stderr, /retrying/, "an authentication error is not retried");
  assert.equal(await isLocked(db, "eve", "%"), false);
  let m = await sb.metrics();
  assert.equal(sample(m, "mysql_monitor_up", 'server="db1",shard="0"'), 0);
  assert.equal(
    sample(m, "mysql_user_storage_bytes", 'server="db1",user="eve",shard="0"'),
    bytes,
    "last series not kept",
  );
  assert.ok(sample(m, "mysql_monitor_last_scan_timestamp_seconds", 'server="db1",shard="0"'));

  // Partial scan: the grants cannot be read, so nothing is decided even though usage could be.
  await sb.writePasswd(`x\n${(await import("./support/monitor_fixture.ts")).MONITOR_PASSWORD}\n`);
  await sb.writeConf(
    sb.globals("prometheus_truncate=1\n") + socketServer(db, "db1", "passwd_index=1\n"),
  );
  await db.query("REVOKE SELECT ON mysql.db FROM 'monitor'@'localhost'");
  r = await sb.run(["--once", "-d", "2"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /server db1: scan failed, no action taken: .*denied.*/);
  assert.equal(await isLocked(db, "eve", "%"), false);
  m = await sb.metrics();
  assert.equal(sample(m, "mysql_monitor_up", 'server="db1",shard="0"'), 0);
  assert.equal(
    sample(m, "mysql_user_storage_bytes", 'server="db1",user="eve",shard="0"'),
    undefined,
    "truncate=1 kept a series",
  );
  assert.equal(sample(m, "mysql_monitor_errors_total", 'server="db1",shard="0"'), 2);

  // Query timeout: another session holds a write lock on the account table, so the monitor's
  // read waits; after query_timeout_sec the scan is given up without any action.
  await db.query("GRANT SELECT ON mysql.db TO 'monitor'@'localhost'");
  await sb.writeConf(
    sb.globals() + socketServer(db, "db1", "passwd_index=1\nquery_timeout_sec=1\n"),
  );
  const blocker = await db.connect();
  try {
    await blocker.query("LOCK TABLES mysql.global_priv WRITE");
    r = await sb.run(["--once", "-d", "2"], {}, [], HANG_MS);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /server db1: scan failed, no action taken: .*timeout/i);
  } finally {
    await blocker.query("UNLOCK TABLES");
    await blocker.end();
  }
  assert.equal(await isLocked(db, "eve", "%"), false);
  // And with the lock gone, the same configuration enforces.
  r = await sb.run(["--once", "-d", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(await isLocked(db, "eve", "%"));
});

Deno.test("monitor loop: a hung server does not delay the others; SIGTERM stops cleanly", async () => {
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  await overHardUser(db);
  const hung = silentServer();
  try {
    await using sb = await Sandbox.create([db]);
    await sb.writeConf(
      sb.globals("workers=2\n") + socketServer(db, "good", "monitor_interval_sec=1\n") +
        `[server hung]\ndb_host=127.0.0.1\ndb_port=${hung.port}\ndb_user=monitor\nconnect_timeout_sec=120\n`,
    );
    await sb.writeUsers("eve,100K,200K\n");
    const paths = [sb.dir, db.dir];
    const child = new Deno.Command(Deno.execPath(), {
      args: cliCommand(["monitor", "-c", sb.dir], { read: paths, write: paths }),
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // The good server is scanned (twice: interval 1 s) while the hung one is still connecting.
    let metrics = "";
    await until("the good server scanned and its user locked", async () => {
      metrics = await sb.metrics().catch((err) => {
        if (err instanceof Deno.errors.NotFound) return ""; // not written yet
        throw err;
      });
      return /mysql_monitor_up\{server="good",shard="0"\} 1/.test(metrics) &&
        /action=lock result=ok/.test(await sb.auditLog());
    });
    assert.match(metrics, /mysql_monitor_up\{server="good",shard="0"\} 1/);
    assert.doesNotMatch(metrics, /server="hung"/, "the hung server finished?");
    assert.ok(await isLocked(db, "eve", "%"));
    // The hung server would hold a stop that waits for it for its 120 s connect timeout; the
    // hang guard is half of that.
    child.kill("SIGTERM");
    const out = await within("exit after SIGTERM", child.output(), HANG_MS);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.match(stderr, /INFO daemon: stopped/);
    // The final metrics include the abandoned server as down.
    assert.match(await sb.metrics(), /mysql_monitor_up\{server="hung",shard="0"\} 0/);
  } finally {
    hung.close();
  }
});
