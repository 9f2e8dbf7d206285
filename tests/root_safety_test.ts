/**
 * Proof that whoever holds the `mysql` account cannot steer root's writes or signals through
 * this program. As root, against pid/state/metrics directories owned by mysql in which links
 * to root-only canary files were planted (at the pid file, the reload record, the state and
 * audit files and at many guessable temporary names): the daemon, `monitor --once`, `reload`
 * and `conntrack` leave every canary as it was, and a foreign pid written into the pid file
 * is never signalled. These tests need root (they create files for mysql and start the
 * program as root); elsewhere they are skipped and say so.
 */
import assert from "node:assert/strict";
import { runCli, spawnCli } from "./support/cli.ts";
import { Sandbox } from "./support/monitor_fixture.ts";
import { getpwnam } from "../src/system/libc.ts";
import { unlessRoot } from "./support/requires.ts";

const ROOT_ONLY = unlessRoot("root safety tests (chown, run_as drop)");
const NEEDS_ROOT = ROOT_ONLY ? " (skipped: needs root)" : "";
const mysql = getpwnam("mysql");

interface Canary {
  path: string;
  text: string;
}

/** Root-only files a successful attack would change, in a root-only directory. */
class Canaries implements AsyncDisposable {
  readonly list: Canary[] = [];
  private constructor(readonly dir: string) {}
  static async create(): Promise<Canaries> {
    const c = new Canaries(await Deno.makeTempDir({ prefix: "mmd-canary-" }));
    await Deno.chmod(c.dir, 0o700);
    return c;
  }
  /** A new canary file (root, 0600) with unique content. */
  async add(name: string): Promise<string> {
    const path = `${this.dir}/${name}`;
    const text = `canary ${name} ${crypto.randomUUID()}\n`;
    await Deno.writeTextFile(path, text, { mode: 0o600 });
    await Deno.chmod(path, 0o600);
    this.list.push({ path, text });
    return path;
  }
  /** Fails unless every canary still has its content, root as owner and mode 0600. */
  async assertUntouched(when: string): Promise<void> {
    for (const c of this.list) {
      const info = await Deno.lstat(c.path);
      assert.ok(info.isFile, `${when}: ${c.path} is no longer a file`);
      assert.equal(info.uid, 0, `${when}: ${c.path} was chowned`);
      assert.equal(info.gid, 0, `${when}: ${c.path} changed group`);
      assert.equal(info.mode! & 0o7777, 0o600, `${when}: ${c.path} changed mode`);
      assert.equal(await Deno.readTextFile(c.path), c.text, `${when}: ${c.path} was written`);
    }
    const dir = await Deno.stat(this.dir);
    assert.equal(dir.uid, 0, `${when}: the canary directory was chowned`);
    assert.equal(dir.mode! & 0o777, 0o700, `${when}: the canary directory changed mode`);
    const names = [...Deno.readDirSync(this.dir)].map((e) => e.name).sort();
    assert.deepEqual(names, this.list.map((c) => c.path.slice(this.dir.length + 1)).sort());
  }
  async [Symbol.asyncDispose]() {
    await Deno.remove(this.dir, { recursive: true });
  }
}

/** A symbolic link at `at` to `target`, owned by mysql as if mysql had planted it. */
async function plant(at: string, target: string): Promise<void> {
  await Deno.symlink(target, at);
  // lchown: Deno.chown follows links, so use the coreutils that does not.
  const r = await new Deno.Command("chown", { args: ["-h", "mysql:mysql", at] }).output();
  assert.equal(r.code, 0);
}

async function mysqlDir(path: string, mode: number): Promise<void> {
  await Deno.mkdir(path, { recursive: true });
  await Deno.chown(path, mysql!.uid, mysql!.gid);
  await Deno.chmod(path, mode);
}

/** The next pids the kernel will hand out, give or take: guessable temporary names. */
function nextPids(n: number): number[] {
  const last = Number(Deno.readTextFileSync("/proc/sys/kernel/ns_last_pid").trim());
  return Array.from({ length: n }, (_, i) => last + 1 + i);
}

/**
 * A monitor sandbox whose output directories belong to mysql, with links to canaries at every
 * name the program writes and at many guessable temporary names.
 */
async function hostileSandbox(canaries: Canaries): Promise<Sandbox> {
  const sb = await Sandbox.create();
  await Deno.chmod(sb.dir, 0o755);
  await Deno.remove(`${sb.dir}/out`, { recursive: true });
  await Deno.remove(sb.state, { recursive: true });
  await mysqlDir(`${sb.dir}/run`, 0o755);
  await mysqlDir(`${sb.dir}/out`, 0o755);
  await mysqlDir(sb.state, 0o700);
  await sb.writeConf(
    sb.globals(`run_as=mysql\npid_file=${sb.dir}/run/monitor.pid\n`) +
      "[server main]\ndb_host=127.0.0.1\ndb_port=1\ndb_user=monitor\nmonitor_interval_sec=1\n",
  );
  await sb.writeUsers("eve,10GB\n");
  const pids = nextPids(400);
  const names: [string, string][] = [
    [`${sb.dir}/run/monitor.pid.reload`, "reload"],
    [sb.prom, "prom"],
    [`${sb.state}/main.json`, "state"],
    [`${sb.state}/monitor.sqlite`, "store"],
    [`${sb.state}/monitor.sqlite-journal`, "store-journal"],
    [`${sb.state}/monitor.sqlite-wal`, "store-wal"],
    [`${sb.state}/monitor.sqlite-shm`, "store-shm"],
  ];
  for (const [at, name] of names) await plant(at, await canaries.add(name));
  const tmp = await canaries.add("tmp");
  for (const pid of pids) {
    for (const base of [sb.prom, `${sb.state}/main.json`, `${sb.dir}/run/monitor.pid.reload`]) {
      await plant(`${base}.tmp.${pid}`, tmp);
    }
  }
  return sb;
}

function paths(sb: Sandbox) {
  return { read: [sb.dir], write: [sb.dir] };
}

Deno.test({
  name:
    `root safety: a link at the pid file stops the daemon before anything is written${NEEDS_ROOT}`,
  ignore: ROOT_ONLY,
  async fn() {
    assert.ok(mysql, "the mysql user must exist (mariadb-server creates it)");
    await using canaries = await Canaries.create();
    await using sb = await hostileSandbox(canaries);
    await plant(`${sb.dir}/run/monitor.pid`, await canaries.add("pid"));
    const r = await runCli(["monitor", "-c", sb.dir, "-d", "0"], paths(sb));
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /monitor\.pid is a symbolic link; refusing to use it as the pid file: remove it$/m,
    );
    await canaries.assertUntouched("daemon with a link at the pid file");
  },
});

Deno.test({
  name:
    `root safety: daemon, reload and --once leave every canary alone; a foreign pid is never signalled${NEEDS_ROOT}`,
  ignore: ROOT_ONLY,
  async fn() {
    assert.ok(mysql, "the mysql user must exist (mariadb-server creates it)");
    await using canaries = await Canaries.create();
    await using sb = await hostileSandbox(canaries);
    const pidFile = `${sb.dir}/run/monitor.pid`;
    // A process mysql could name in the pid file; SIGHUP would end it.
    const victim = new Deno.Command("sleep", { args: ["120"] }).spawn();
    try {
      const daemon = spawnCli(["monitor", "-c", sb.dir, "-d", "0"], paths(sb));
      let stderr = "";
      const pump = (async () => {
        for await (const c of daemon.stderr.pipeThrough(new TextDecoderStream())) stderr += c;
      })();
      daemon.stdout.cancel();
      try {
        const deadline = Date.now() + 60_000;
        while (!/started: pid/.test(stderr)) {
          assert.ok(Date.now() < deadline, `daemon did not start: ${stderr}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.match(stderr, /dropped root: running as mysql/);
        const pidInfo = await Deno.lstat(pidFile);
        assert.ok(pidInfo.isFile);
        assert.equal(pidInfo.uid, mysql.uid, "the pid file is created by run_as, not root");

        // The daemon replaces the links at its output names (rename does not follow them); the
        // metrics file is written after the first scan, which may still run.
        for (const p of [sb.prom, `${pidFile}.reload`]) {
          while (!(await Deno.lstat(p)).isFile) {
            assert.ok(Date.now() < deadline, `${p} is still a link`);
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        // reload as root signals the verified daemon.
        const reload = await runCli(["reload", "-c", sb.dir], paths(sb));
        assert.equal(reload.code, 0, reload.stderr);
        assert.equal(
          reload.stdout.trim(),
          `monitor (pid ${daemon.pid}) reloaded its configuration`,
        );
        await canaries.assertUntouched("daemon running, after reload");

        // mysql writes a foreign pid into the pid file: refused, nobody signalled.
        await Deno.writeTextFile(pidFile, `${victim.pid}\n`);
        const foreign = await runCli(["reload", "-c", sb.dir], paths(sb));
        assert.equal(foreign.code, 1);
        assert.match(
          foreign.stderr,
          new RegExp(
            `monitor\\.pid names pid ${victim.pid}, but pid ${daemon.pid} holds its lock; refusing to signal either`,
          ),
        );
        assert.equal(foreign.stderr.trim().split("\n").length, 1, foreign.stderr);
      } finally {
        daemon.kill("SIGTERM");
        const status = await daemon.status;
        await pump;
        assert.equal(status.code, 0, stderr);
      }
      await canaries.assertUntouched("daemon stopped");

      // A stale pid file naming the victim, nobody holding its lock.
      await Deno.writeTextFile(pidFile, `${victim.pid}\n`);
      await Deno.chown(pidFile, mysql.uid, mysql.gid);
      const stale = await runCli(["reload", "-c", sb.dir], paths(sb));
      assert.equal(stale.code, 1);
      assert.match(stale.stderr, /no running monitor for shard 0/);

      // Another program holding the lock with its own pid written: not the monitor.
      const holder = new Deno.Command("flock", { args: ["-x", pidFile, "sleep", "60"] }).spawn();
      try {
        await Deno.writeTextFile(pidFile, `${holder.pid}\n`);
        const deadline = Date.now() + 10_000;
        let other;
        do {
          await new Promise((r) => setTimeout(r, 100));
          other = await runCli(["reload", "-c", sb.dir], paths(sb));
        } while (/no running monitor/.test(other.stderr) && Date.now() < deadline);
        assert.equal(other.code, 1);
        assert.match(
          other.stderr,
          /is held by a process that is not the monitor \(pid \d+ runs \/usr\/bin\/flock, not .*\); refusing to signal it/,
        );
      } finally {
        holder.kill("SIGKILL");
        await holder.status;
      }

      // --once as root drops to run_as before it writes anything.
      await Deno.remove(pidFile);
      const once = await runCli(["monitor", "-c", sb.dir, "--once", "-d", "0"], paths(sb));
      assert.equal(once.code, 1, once.stderr);
      assert.match(once.stderr, /dropped root: running as mysql/);
      await canaries.assertUntouched("--once");

      // The victim never got a signal.
      const alive = await Deno.readTextFile(`/proc/${victim.pid}/stat`);
      assert.doesNotMatch(alive.slice(alive.lastIndexOf(")") + 2), /^Z/);
    } finally {
      victim.kill("SIGKILL");
      await victim.status;
    }
  },
});

Deno.test({
  name:
    `root safety: a link at the audit log to a root file is refused at start-up, nothing written${NEEDS_ROOT}`,
  ignore: ROOT_ONLY,
  async fn() {
    assert.ok(mysql);
    await using canaries = await Canaries.create();
    await using sb = await hostileSandbox(canaries);
    await plant(sb.audit, await canaries.add("audit"));
    for (const args of [["-d", "0"], ["--once", "-d", "0"]]) {
      const r = await runCli(["monitor", "-c", sb.dir, ...args], paths(sb));
      assert.equal(r.code, 78, r.stderr);
      assert.match(
        r.stderr,
        /audit_log=.*audit\.log: cannot write .*audit\.log for run_as user mysql/,
      );
    }
    await canaries.assertUntouched("audit log is a link");
  },
});

Deno.test({
  name:
    `root safety: a state_dir that is mysql's link to a root directory is refused, nothing chowned${NEEDS_ROOT}`,
  ignore: ROOT_ONLY,
  async fn() {
    assert.ok(mysql);
    await using canaries = await Canaries.create();
    await canaries.add("secret");
    await using sb = await hostileSandbox(canaries);
    await Deno.remove(sb.state, { recursive: true });
    await plant(sb.state, canaries.dir);
    for (const args of [["-d", "0"], ["--once", "-d", "0"]]) {
      const r = await runCli(["monitor", "-c", sb.dir, ...args], paths(sb));
      assert.equal(r.code, 78, r.stderr);
      assert.match(
        r.stderr,
        /search\.conf: state_dir=.*\/state: .*\/state is a link that belongs to mysql \(uid \d+\); root does not write where another account can steer it/,
      );
    }
    await canaries.assertUntouched("state_dir is a link");
  },
});

Deno.test({
  name:
    `root safety: conntrack as root runs as the owner of the SQLite directory; links there reach no canary${NEEDS_ROOT}`,
  ignore: ROOT_ONLY,
  async fn() {
    assert.ok(mysql);
    await using canaries = await Canaries.create();
    const dir = await Deno.makeTempDir({ prefix: "mmd-conntrack-root-" });
    try {
      await Deno.chmod(dir, 0o755);
      const data = `${dir}/data`;
      await mysqlDir(data, 0o755);
      await Deno.writeTextFile(
        `${data}/server_audit.log`,
        "20250101 10:00:00,db,alice,10.0.0.1,1,0,CONNECT,,,0\n",
      );
      await Deno.chown(`${data}/server_audit.log`, mysql.uid, mysql.gid);
      const ini = `${dir}/conntracker.ini`;
      await Deno.writeTextFile(
        ini,
        `[default]\nAuditLogPath=${data}\nSqlitePath=${data}/audit.sqlite\nTimeLocation=UTC\n`,
      );
      const run = () => runCli(["conntrack", "-c", ini], { read: [dir], write: [dir] });
      // Links at the database and at its journal: the run fails as mysql, root follows none.
      await plant(`${data}/audit.sqlite`, await canaries.add("sqlite"));
      await plant(`${data}/audit.sqlite-journal`, await canaries.add("journal"));
      await plant(`${data}/audit.sqlite-wal`, await canaries.add("wal"));
      await plant(`${data}/audit.sqlite-shm`, await canaries.add("shm"));
      const bad = await run();
      assert.equal(bad.code, 1, bad.stderr);
      assert.match(bad.stderr, /audit\.sqlite/);
      await canaries.assertUntouched("conntrack with links at the database");
      // Without the links it works, as mysql, and the database is private.
      for (const s of ["", "-journal", "-wal", "-shm"]) {
        await Deno.remove(`${data}/audit.sqlite${s}`);
      }
      const ok = await run();
      assert.equal(ok.code, 0, ok.stderr);
      const db = await Deno.lstat(`${data}/audit.sqlite`);
      assert.equal(db.uid, mysql.uid, "created by mysql, not root");
      assert.equal(db.mode! & 0o777, 0o600);
      await canaries.assertUntouched("conntrack");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
