/**
 * The state store end to end: a full disk or a failing write withholds every lock of the cycle
 * (logged, counted, exit 1); old JSON state files are imported; lock records survive removing a
 * user, narrowing user@host and changing -t, and the tool cleans up its own locks; `--once`
 * creates state_dir like the daemon and waits for the per-server lock.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../src/config/config.ts";
import { MysqlServer } from "../src/monitor/server.ts";
import { Monitor } from "../src/monitor/monitor.ts";
import { ServerLock } from "../src/monitor/server_lock.ts";
import { StateStore, type StateWrites } from "../src/monitor/store.ts";
import { storeWrites } from "../src/monitor/store_testing.ts";
import { getpwnam } from "../src/system/libc.ts";
import { setupLogging, teardownLogging } from "../src/system/log.ts";
import { MariaDB } from "./support/mariadb.ts";
import {
  createMonitorAccount,
  fillSchema,
  isLocked,
  Sandbox,
  socketServer,
  sqliteLines,
} from "./support/monitor_fixture.ts";

function sample(text: string, name: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

async function overLimitUsers(db: MariaDB, users: string[], hosts = ["%"]): Promise<void> {
  for (const u of users) {
    for (const h of hosts) await db.query("CREATE USER ?@? IDENTIFIED BY 'x'", [u, h]);
    await fillSchema(db, u, 256);
  }
}

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  assert.equal(out.code, 0, `${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

Deno.test("state: a full disk under state_dir withholds every lock of the cycle, is counted, exits 1", async () => {
  assert.equal(Deno.uid(), 0, "this test mounts a tmpfs");
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  await overLimitUsers(db, ["dora", "dan"]);
  await using sb = await Sandbox.create([db]);
  await run("mount", ["-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", sb.state]);
  try {
    await sb.writeConf(sb.globals() + socketServer(db, "db1", "schema_mapping=name\n"));
    await sb.writeUsers("dora,1M,2M\ndan,1M,2M\n");
    // A first cycle under the limits creates the store.
    let r = await sb.run(["--once", "-d", "2"]);
    assert.equal(r.code, 0, r.stderr);
    await sb.writeUsers("dora,10K,100K\ndan,10K,100K\n");
    // Fill the file system to the last byte.
    const filler = await Deno.open(`${sb.state}/filler`, { write: true, create: true });
    const chunk = new Uint8Array(4096);
    try {
      for (;;) await filler.write(chunk);
    } catch (err) {
      assert.match(String(err), /No space left on device/);
    }
    for (let n = 1024; n >= 1; n = Math.floor(n / 2)) {
      try {
        for (;;) await filler.write(chunk.subarray(0, n));
      } catch { /* full at this size too */ }
    }
    filler.close();

    r = await sb.run(["--once", "-d", "2"]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /state store/);
    assert.equal(await isLocked(db, "dora", "%"), false, "locked without a durable record");
    assert.equal(await isLocked(db, "dan", "%"), false, "locked without a durable record");
    assert.ok((sample(await sb.metrics(), "mysql_monitor_state_write_errors_total") ?? 0) >= 1);

    // Space again: the next cycle locks and records.
    await Deno.remove(`${sb.state}/filler`);
    r = await sb.run(["--once", "-d", "2"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(await isLocked(db, "dora", "%"));
    assert.equal(sample(await sb.metrics(), "mysql_monitor_state_write_errors_total"), 0);
    assert.deepEqual(
      await sqliteLines(
        `${sb.state}/monitor.sqlite`,
        "SELECT user, state FROM locks ORDER BY user",
      ),
      ["dan|locked", "dora|locked"],
    );
  } finally {
    await run("umount", [sb.state]);
  }
});

/** The real store's writes, failing `intend` from the `failFrom`-th call on. */
function failingIntents(store: StateStore, failFrom: number): StateWrites {
  let calls = 0;
  return storeWrites(store, {
    intend(server, account, verb) {
      if (++calls >= failFrom) throw new Error("disk I/O error (injected)");
      store.intend(server, account, verb);
    },
  });
}

Deno.test("state: a failing intent write (through the store seam) stops every later lock of the cycle", async () => {
  const lines: string[] = [];
  await setupLogging({ target: { lines } });
  try {
    await using db = await MariaDB.start();
    await createMonitorAccount(db);
    const users = ["fa", "fb", "fc", "fd"];
    await overLimitUsers(db, users);
    await using sb = await Sandbox.create([db]);
    await sb.writeConf(sb.globals() + socketServer(db, "db1", "schema_mapping=name\n"));
    await sb.writeUsers(users.map((u) => `${u},10K,100K\n`).join(""));
    const monitor = new Monitor(await loadConfig(sb.dir), { debug: 2, shard: 0, shards: 1 }, {
      writes: (store) => failingIntents(store, 3),
    });
    const [report] = await monitor.runCycle();
    await monitor.close();
    assert.match(report.stateError ?? "", /injected/);
    assert.equal(monitor.stateWriteErrors, 1);
    const locked = [];
    for (const u of users) if (await isLocked(db, u, "%")) locked.push(u);
    assert.deepEqual(locked, ["fa", "fb"], "a lock was sent after the failed write");
    assert.match(report.users[2].actions.join(), /lock %: not sent/);
    assert.ok(
      lines.some((l) => /cannot write the state store .*injected/.test(l)),
      lines.join("\n"),
    );
    assert.deepEqual(
      await sqliteLines(
        `${sb.state}/monitor.sqlite`,
        "SELECT user, state FROM locks ORDER BY user",
      ),
      ["fa|locked", "fb|locked"],
    );
  } finally {
    await teardownLogging();
  }
});

Deno.test("state: a lost answer to ALTER USER (through the actions seam) leaves the intent; the next run finishes it", async () => {
  const lines: string[] = [];
  await setupLogging({ target: { lines } });
  try {
    await using db = await MariaDB.start();
    await createMonitorAccount(db);
    const users = ["la", "lb", "lc"];
    await overLimitUsers(db, users);
    await using sb = await Sandbox.create([db]);
    await sb.writeConf(sb.globals() + socketServer(db, "db1", "schema_mapping=name\n"));
    await sb.writeUsers(users.map((u) => `${u},10K,100K\n`).join(""));
    let calls = 0;
    const lossy = new Monitor(await loadConfig(sb.dir), { debug: 2, shard: 0, shards: 1 }, {
      server: (conn) =>
        new class extends MysqlServer {
          override async setLocked(user: string, host: string, locked: boolean) {
            await super.setLocked(user, host, locked);
            // The server applied the second lock, but its answer never arrived.
            if (++calls === 2) {
              throw Object.assign(new Error("Query inactivity timeout"), {
                code: "PROTOCOL_SEQUENCE_TIMEOUT",
                fatal: true,
              });
            }
          }
        }(conn),
    });
    await lossy.runCycle();
    await lossy.close();
    const state = `${sb.state}/monitor.sqlite`;
    assert.deepEqual(await sqliteLines(state, "SELECT user, state FROM locks ORDER BY user"), [
      "la|locked",
      "lb|locking",
    ]);
    assert.equal(await isLocked(db, "lc", "%"), false, "sent after the answer was lost");
    assert.ok(lines.some((l) => /no answer to lock lb@%/.test(l)), lines.join("\n"));
    // A clean run: lb's lock reached the server, so it is the tool's; lc gets locked.
    const r = await sb.run(["--once", "-d", "2"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /a lock of lb@% was interrupted after the server applied it/);
    assert.deepEqual(await sqliteLines(state, "SELECT user, state FROM locks ORDER BY user"), [
      "la|locked",
      "lb|locked",
      "lc|locked",
    ]);
  } finally {
    await teardownLogging();
  }
});

Deno.test("state: old JSON state files are imported once and kept as .migrated; their locks stay the tool's", async () => {
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  await overLimitUsers(db, ["gus", "gil"]);
  await db.query("ALTER USER 'gus'@'%' ACCOUNT LOCK");
  await db.query("ALTER USER 'gil'@'%' ACCOUNT LOCK");
  await using sb = await Sandbox.create([db]);
  await sb.writeConf(sb.globals() + socketServer(db, "db1", "schema_mapping=name\n"));
  await sb.writeUsers("gus,1M,2M\ngil,1M,2M\n");
  const old = (user: string) =>
    JSON.stringify({
      version: 1,
      users: [[user, { warned: true, overHard: true, lockedByUs: ["%"] }]],
      errorsTotal: 2,
      lastUsers: [],
    });
  await Deno.writeTextFile(`${sb.state}/db1.json`, old("gus"));
  await Deno.writeTextFile(`${sb.state}/db1_shard1.json`, old("gil"));
  const r = await sb.run(["--once", "-d", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /imported the old state file .*db1\.json \(1 lock record\(s\)\)/);
  // Usage is under the limits: both locks, known as the tool's, are lifted.
  assert.equal(await isLocked(db, "gus", "%"), false);
  assert.equal(await isLocked(db, "gil", "%"), false);
  for (const f of ["db1.json", "db1_shard1.json"]) {
    await Deno.stat(`${sb.state}/${f}.migrated`);
    await assert.rejects(Deno.stat(`${sb.state}/${f}`));
  }
  assert.equal((await Deno.stat(`${sb.state}/monitor.sqlite`)).mode! & 0o777, 0o600);
  assert.match(await sb.metrics(), /mysql_monitor_errors_total\{server="db1",shard="0"\} 2/);
});

Deno.test("state: records survive -t changes; removed users and narrowed user@host get their locks lifted", async () => {
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  await overLimitUsers(db, ["hal", "hob", "hue"], ["%", "localhost"]);
  await using sb = await Sandbox.create([db]);
  await sb.writeConf(sb.globals() + socketServer(db, "db1", "schema_mapping=name\n"));
  await sb.writeUsers("hal,10K,100K\nhob,10K,100K\nhue,10K,100K\n");
  // Locked by two shards.
  for (const s of ["0", "1"]) {
    const r = await sb.run(["--once", "-d", "2", "-s", s, "-t", "2"]);
    assert.equal(r.code, 0, r.stderr);
  }
  for (const u of ["hal", "hob", "hue"]) assert.ok(await isLocked(db, u, "localhost"), u);
  // hal leaves search_user; hob is narrowed to hob@%; hue stays. One process (-t 1) now.
  await sb.writeUsers("hob@%,10K,100K\nhue,10K,100K\n");
  const r = await sb.run(["--once", "-d", "2", "-t", "1"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /unlocked hal@%, which this tool had locked: hal is no longer in search_user/,
  );
  assert.match(
    r.stderr,
    /unlocked hob@localhost, which this tool had locked: search_user now limits only hob@%/,
  );
  assert.match(
    r.stdout,
    /^db1\s+hal\s+-\s+-\s+-\s+not monitored\s+unlock %: ok, unlock localhost: ok$/m,
  );
  assert.equal(await isLocked(db, "hal", "%"), false);
  assert.equal(await isLocked(db, "hal", "localhost"), false);
  assert.equal(await isLocked(db, "hob", "localhost"), false);
  assert.ok(await isLocked(db, "hob", "%"), "hob@% is still over and limited");
  assert.ok(await isLocked(db, "hue", "%"));
  assert.ok(await isLocked(db, "hue", "localhost"));
  // Under the limit, with -t 3: the records made by -t 2 are still the tool's.
  await sb.writeUsers("hob@%,1G,2G\nhue,1G,2G\n");
  for (const s of ["0", "1", "2"]) {
    const out = await sb.run(["--once", "-d", "2", "-s", s, "-t", "3"]);
    assert.equal(out.code, 0, out.stderr);
  }
  for (const u of ["hob", "hue"]) {
    for (const h of ["%", "localhost"]) assert.equal(await isLocked(db, u, h), false, `${u}@${h}`);
  }
  assert.deepEqual(await sqliteLines(`${sb.state}/monitor.sqlite`, "SELECT COUNT(*) FROM locks"), [
    "0",
  ]);
});

Deno.test("state: --once creates state_dir like the daemon (0700, run_as's) and waits for the server's lock", async () => {
  const mysql = getpwnam("mysql");
  assert.ok(mysql, "the test needs the mysql user");
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  await overLimitUsers(db, ["ivy"]);
  await using sb = await Sandbox.create([db]);
  // run_as must reach state_dir and write the metrics and audit files once root is dropped.
  await Deno.chmod(sb.dir, 0o755);
  await Deno.chown(`${sb.dir}/out`, mysql.uid, mysql.gid);
  await Deno.chmod(db.dir, 0o755); // and the server's socket
  const state = `${sb.dir}/var/state`;
  await sb.writeConf(
    sb.globals(`state_dir=${state}\nrun_as=mysql\n`) +
      socketServer(db, "db1", "schema_mapping=name\n"),
  );
  await sb.writeUsers("ivy,10K,100K\n");
  // Another process (here: this test) holds the lock of db1.
  // (as the daemon would have left them: state_dir and its lock file belong to run_as)
  await Deno.mkdir(`${sb.dir}/var`, { mode: 0o755 });
  await Deno.mkdir(state, { mode: 0o700 });
  await Deno.chown(state, mysql.uid, mysql.gid);
  const held = await ServerLock.acquire(state, "db1", { owner: mysql });
  const child = sb.spawn(["--once", "-d", "2"]);
  // It says when it finds the lock held; until the lock is released it must not act.
  let stderr = "";
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  while (!/waiting for another monitor process/.test(stderr)) {
    const { value, done } = await reader.read();
    assert.ok(!done, `--once ended without waiting for the lock: ${stderr}`);
    stderr += value;
  }
  assert.equal(await isLocked(db, "ivy", "%"), false, "acted without the server's lock");
  held.release();
  for (let r = await reader.read(); !r.done; r = await reader.read()) stderr += r.value;
  const status = await child.status;
  await child.stdout.cancel();
  assert.equal(status.code, 0, stderr);
  assert.ok(await isLocked(db, "ivy", "%"));

  // A fresh state_dir is created 0700 for run_as, the store 0600.
  await Deno.remove(`${sb.dir}/var`, { recursive: true });
  const r = await sb.run(["--once", "-d", "2", "-d", "2"]);
  assert.equal(r.code, 0, r.stderr);
  for (const [path, mode] of [[state, 0o700], [`${state}/monitor.sqlite`, 0o600]] as const) {
    const st = await Deno.stat(path);
    assert.equal(st.mode! & 0o777, mode, path);
    assert.equal(st.uid, mysql.uid, `${path} owner`);
  }
  // Root created the missing parent for itself (0755); only state_dir is handed to run_as.
  const parent = await Deno.stat(`${sb.dir}/var`);
  assert.equal(parent.uid, 0);
  assert.equal(parent.mode! & 0o777, 0o755);
});
