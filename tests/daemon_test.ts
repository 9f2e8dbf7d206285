/**
 * End to end: the monitor as a daemon, started as root with run_as=mysql against a throwaway
 * MariaDB, through the CLI with the binary's permission set (plus the sandbox paths).
 */
import assert from "node:assert/strict";
import { permissionFlags, runCli, spawnCli } from "./support/cli.ts";
import { MariaDB } from "./support/mariadb.ts";
import { createMonitorAccount, fillSchema, isLocked, Sandbox } from "./support/monitor_fixture.ts";
import { NotifySocket } from "./support/notify_socket.ts";
import { gone, until, within } from "./support/wait.ts";
import { unlessRoot } from "./support/requires.ts";
import { getpwnam } from "../src/system/libc.ts";

const RUN_AS = "mysql";

/** A daemon started in the background; stderr is collected as it arrives. */
class Daemon implements AsyncDisposable {
  stderr = "";
  readonly exited: Promise<Deno.CommandStatus>;
  #pump: Promise<void>;
  constructor(readonly child: Deno.ChildProcess) {
    this.exited = child.status;
    this.#pump = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        this.stderr += chunk;
      }
    })();
    child.stdout.cancel();
  }
  get pid(): number {
    return this.child.pid;
  }
  async [Symbol.asyncDispose]() {
    try {
      this.child.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.exited;
    await this.#pump.catch(() => {});
  }
}

/** The sandbox's metrics file, or "" while the daemon has not written it yet. */
async function metricsNow(sb: Sandbox): Promise<string> {
  try {
    return await sb.metrics();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return "";
    throw err;
  }
}

function sample(text: string, name: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(name + "{") || l.startsWith(name + " "));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

/** A sandbox readable by run_as, talking TCP to `db` (its socket sits in a root-only dir). */
async function daemonSandbox(db: MariaDB, limits: string): Promise<Sandbox> {
  const sb = await Sandbox.create([db]);
  await Deno.chmod(sb.dir, 0o755);
  // Let the daemon create its output directories for run_as itself.
  await Deno.remove(`${sb.dir}/out`, { recursive: true });
  await Deno.remove(sb.state, { recursive: true });
  await sb.writeConf(
    sb.globals(`run_as=${RUN_AS}\npid_file=${sb.dir}/run/monitor.pid\n`) +
      `[server main]\ndb_host=127.0.0.1\ndb_port=${db.port}\ndb_user=monitor\nmonitor_interval_sec=1\n`,
  );
  await sb.writeUsers(limits);
  return sb;
}

function startDaemon(sb: Sandbox, env: Record<string, string> = {}): Daemon {
  return new Daemon(
    spawnCli(["monitor", "-c", sb.dir, "-d", "2"], { read: [sb.dir], write: [sb.dir], env }),
  );
}

function threadIds(pid: number): { tid: string; uid: number[]; gid: number[]; groups: number[] }[] {
  return [...Deno.readDirSync(`/proc/${pid}/task`)].map((e) => {
    const status = Deno.readTextFileSync(`/proc/${pid}/task/${e.name}/status`);
    const get = (k: string) =>
      status.match(new RegExp(`^${k}:\\s*(.*)$`, "m"))![1].trim().split(/\s+/).filter(Boolean)
        .map(Number);
    return { tid: e.name, uid: get("Uid"), gid: get("Gid"), groups: get("Groups") };
  });
}

const DROP_TEST =
  "daemon: root drops to run_as on every thread; reload locks; broken reloads keep the old config; SIGTERM exits clean";

Deno.test({ name: DROP_TEST, ignore: unlessRoot(DROP_TEST) }, async () => {
  const user = getpwnam(RUN_AS);
  assert.ok(user, `the test needs the ${RUN_AS} user`);
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  await db.query("CREATE USER 'eve'@'%' IDENTIFIED BY 'x'");
  await db.query("GRANT ALL ON `eve`.* TO 'eve'@'%'");
  await fillSchema(db, "eve", 512);
  await using sb = await daemonSandbox(db, "eve,10GB,20GB\n");
  await using notify = await NotifySocket.listen(`${sb.dir}/notify.sock`);
  const pidFile = `${sb.dir}/run/monitor.pid`;

  await using d = startDaemon(sb, {
    NOTIFY_SOCKET: notify.path,
    WATCHDOG_USEC: "1000000",
    JOURNAL_STREAM: "8:12345",
  });
  await notify.waitFor(/^READY=1/).catch((err) => {
    throw new Error(`${err.message}; daemon stderr: ${d.stderr}`);
  });
  assert.equal((await Deno.readTextFile(pidFile)).trim(), String(d.pid));
  await notify.waitFor(/^WATCHDOG=1$/);
  // Under systemd (JOURNAL_STREAM) log lines carry journald priorities.
  assert.match(d.stderr, /^<6>daemon: dropped root: running as mysql /m);
  await until("a first scan", async () => sample(await metricsNow(sb), "mysql_monitor_up") === 1);

  // Every thread runs as run_as with exactly its groups.
  const threads = threadIds(d.pid);
  assert.ok(threads.length > 1);
  for (const t of threads) {
    assert.deepEqual(t.uid, [user.uid, user.uid, user.uid, user.uid], `thread ${t.tid} uid`);
    assert.deepEqual(t.gid, [user.gid, user.gid, user.gid, user.gid], `thread ${t.tid} gid`);
    assert.deepEqual(t.groups, [user.gid], `thread ${t.tid} groups`);
  }
  // What it writes after the drop belongs to run_as.
  for (const p of [pidFile, sb.prom, sb.state, sb.audit]) {
    assert.equal((await Deno.stat(p)).uid, user.uid, `${p} owner`);
  }

  // A second instance of the same shard is refused.
  // A broken pid lock would let it run as a second daemon: the hang guard ends it then.
  const second = await sb.run(["-d", "2"], {}, [], 60_000);
  assert.equal(second.code, 1);
  assert.match(second.stderr, new RegExp(`another instance is running \\(pid ${d.pid}\\)`));
  assert.equal(await isLocked(db, "eve", "%"), false);

  // `reload` with a valid new limit: the daemon applies it and locks eve.
  await sb.writeUsers("eve,100K,200K\n");
  const ok = await runCli(["reload", "-c", sb.dir], { read: [sb.dir], write: [sb.dir] });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout.trim(), `monitor (pid ${d.pid}) reloaded its configuration`);
  await notify.waitFor(/^RELOADING=1\nMONOTONIC_USEC=\d+$/);
  await until("eve locked", () => isLocked(db, "eve", "%"));
  await until("locked in metrics", async () => {
    const m = await metricsNow(sb);
    return sample(m, "mysql_user_account_locked") === 1 &&
      sample(m, "mysql_monitor_config_last_reload_successful") === 1;
  });

  // `reload` with a broken file refuses and signals nothing.
  await sb.writeUsers("eve,100K,200K\nbob,lots\n");
  const record = `${pidFile}.reload`;
  const generation = JSON.parse(await Deno.readTextFile(record)).generation;
  const refused = await runCli(["reload", "-c", sb.dir], { read: [sb.dir], write: [sb.dir] });
  assert.equal(refused.code, 78);
  assert.match(refused.stderr, new RegExp(`^mysql_monitor_daemon: ${sb.dir}/search_user:2: `));
  assert.equal(JSON.parse(await Deno.readTextFile(record)).generation, generation);

  // A raw SIGHUP with the broken file: the daemon keeps running on the old configuration.
  const scanned = sample(await sb.metrics(), "mysql_monitor_last_scan_timestamp_seconds")!;
  Deno.kill(d.pid, "SIGHUP");
  await until(
    "the failed reload in metrics",
    async () => sample(await metricsNow(sb), "mysql_monitor_config_last_reload_successful") === 0,
  );
  assert.match(
    d.stderr,
    /reload failed, the previous configuration stays in force: .*search_user:2: /,
  );
  await until(
    "metrics still updating",
    async () =>
      sample(await metricsNow(sb), "mysql_monitor_last_scan_timestamp_seconds")! > scanned,
  );
  assert.equal(await isLocked(db, "eve", "%"), true, "old limits still enforced");

  // SIGTERM: clean exit, pid file removed, systemd told.
  Deno.kill(d.pid, "SIGTERM");
  const status = await within("the daemon's exit after SIGTERM", d.exited);
  assert.equal(status.code, 0, d.stderr);
  await notify.waitFor(/^STOPPING=1$/);
  await assert.rejects(Deno.stat(pidFile), Deno.errors.NotFound);
});

Deno.test("daemon: --daemon detaches into its own session and returns once it is ready", async () => {
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  await using sb = await daemonSandbox(db, "eve,10GB\n");
  const pidFile = `${sb.dir}/run/monitor.pid`;
  const options = { read: [sb.dir], write: [sb.dir], run: [Deno.execPath()] };
  const env = { MYSQL_MONITOR_DAEMON_RUN_FLAGS: JSON.stringify(permissionFlags(options)) };
  const r = await runCli(["monitor", "--daemon", "-c", sb.dir], { ...options, env });
  assert.equal(r.code, 0, r.stderr);
  const pid = Number(r.stdout.match(/started in the background, pid (\d+)$/m)![1]);
  try {
    assert.equal((await Deno.readTextFile(pidFile)).trim(), String(pid));
    // Field 6 of /proc/PID/stat is the session id: the daemon leads its own session.
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    assert.equal(Number(fields[3]), pid, "not a session leader");
    assert.equal(fields[4], "0", "still has a controlling terminal");
    // Broken configuration: refused on the terminal before anything detaches.
    await sb.writeUsers("eve,0\n");
    const bad = await runCli(["monitor", "--daemon", "-c", sb.dir], { ...options, env });
    assert.equal(bad.code, 78);
    assert.match(bad.stderr, new RegExp(`${sb.dir}/search_user:1: `));
    // A second daemon fails in the child; the parent relays why.
    await sb.writeUsers("eve,10GB\n");
    const twice = await runCli(["monitor", "--daemon", "-c", sb.dir], { ...options, env });
    assert.equal(twice.code, 1);
    assert.match(
      twice.stderr,
      new RegExp(`did not start \\(exit 1\\): another instance is running \\(pid ${pid}\\)`),
    );
  } finally {
    Deno.kill(pid, "SIGTERM");
  }
  await until("the pid file removed", () => gone(pidFile));
});

Deno.test("daemon: the binary's permission set refuses a write outside its paths", async () => {
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  await using sb = await Sandbox.create([db]);
  const outside = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "mmd-outside-" });
  try {
    await sb.writeConf(
      sb.globals().replace(/^prometheus_file=.*$/m, `prometheus_file=${outside}/monitor.prom`) +
        `[server main]\ndb_socket=${db.socket}\ndb_user=monitor\n`,
    );
    await sb.writeUsers("eve,10GB\n");
    const r = await sb.run(["--once", "-d", "0"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`cannot write the metrics file ${outside}/monitor.prom: .*write access`),
    );
    await assert.rejects(Deno.stat(`${outside}/monitor.prom`), Deno.errors.NotFound);
    // The same run with the path granted works: the refusal came from the permission set.
    const granted = await runCli(["monitor", "-c", sb.dir, "--once", "-d", "0"], {
      read: [sb.dir, db.dir, outside],
      write: [sb.dir, db.dir, outside],
    });
    assert.equal(granted.code, 0, granted.stderr);
    assert.match(await Deno.readTextFile(`${outside}/monitor.prom`), /^mysql_monitor_up\{/m);
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});

const UNREADABLE_TEST =
  "daemon: files run_as could not read after the drop are refused at start-up";

Deno.test({ name: UNREADABLE_TEST, ignore: unlessRoot(UNREADABLE_TEST) }, async () => {
  await using sb = await Sandbox.create();
  await Deno.chmod(sb.dir, 0o755);
  await sb.writeConf(
    sb.globals(`run_as=${RUN_AS}\npid_file=${sb.dir}/run/monitor.pid\n`) +
      "[server main]\ndb_host=127.0.0.1\ndb_port=1\ndb_user=monitor\n",
  );
  await sb.writeUsers("eve,10GB\n");
  // The state directory the sandbox made belongs to root: run_as could not replace files there.
  const state = await sb.run(["-d", "2"]);
  assert.equal(state.code, 78, state.stderr);
  assert.match(
    state.stderr,
    /state_dir=.*\/state: cannot create or rename files in .*\/state for run_as user mysql once root is dropped; run chown mysql .*\/state, or pick another directory$/m,
  );
  const mysql = getpwnam(RUN_AS)!;
  await Deno.chown(sb.state, mysql.uid, mysql.gid);
  // Same for the metrics directory, which must take an atomic rename.
  const prom = await sb.run(["-d", "2"]);
  assert.equal(prom.code, 78, prom.stderr);
  assert.match(
    prom.stderr,
    /prometheus_file=.*\/out\/monitor.prom: cannot create or rename files in .*\/out \(the file is replaced atomically\)/,
  );
  await Deno.chown(`${sb.dir}/out`, mysql.uid, mysql.gid);
  await Deno.chmod(`${sb.dir}/search_user`, 0o600);
  const r = await sb.run(["-d", "2"]);
  assert.equal(r.code, 78, r.stderr);
  assert.equal(
    r.stderr.trim(),
    `mysql_monitor_daemon: ${sb.dir}/search_user: run_as user mysql could not read this file after ` +
      `dropping root (cannot read ${sb.dir}/search_user), so SIGHUP could not reload it; make it ` +
      `readable: chmod 644 (it holds no secret) or chown mysql with mode 0600`,
  );
  await assert.rejects(Deno.stat(`${sb.dir}/run/monitor.pid`), Deno.errors.NotFound);
});
