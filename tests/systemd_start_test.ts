/**
 * The monitor unit as shipped, started the way systemd would start it (no systemd here): as
 * `User=mysql` from the start, with the directories `RuntimeDirectory=`, `StateDirectory=` and
 * `LogsDirectory=` create (owned by mysql, with the unit's modes), the password handed over
 * through `$CREDENTIALS_DIRECTORY`, `NOTIFY_SOCKET` and the watchdog set, and the unit's own
 * ExecStart and ExecReload command lines (instance 1 of 2 shards). It must become ready,
 * reload, write its files as mysql and stop cleanly. Needs root to switch to mysql.
 */
import assert from "node:assert/strict";
import { cliCommand, ROOT } from "./support/cli.ts";
import { NotifySocket } from "./support/notify_socket.ts";
import { getpwnam } from "../src/system/libc.ts";
import { unlessRoot } from "./support/requires.ts";

const ROOT_ONLY = unlessRoot("systemd: the monitor unit starts as mysql");
const mysql = getpwnam("mysql");

function settings(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = line.match(/^([A-Za-z]+)=(.*)$/);
    if (m) map.set(m[1], m[2]);
  }
  return map;
}

/** The unit's command line for instance 1 of 2, as argv after the program name. */
function unitArgs(line: string): string[] {
  const [exe, ...args] = line.replaceAll("%i", "1").replaceAll("${SHARDS}", "2").split(/\s+/);
  assert.equal(exe, "/usr/local/sbin/mysql_monitor_daemon");
  return args;
}

async function mysqlDir(path: string, mode: number): Promise<void> {
  await Deno.mkdir(path, { recursive: true });
  await Deno.chown(path, mysql!.uid, mysql!.gid);
  await Deno.chmod(path, mode);
}

Deno.test({
  name: `systemd: the monitor unit starts as mysql, becomes ready, reloads and stops${
    ROOT_ONLY ? " (skipped: needs root)" : ""
  }`,
  ignore: ROOT_ONLY,
  async fn() {
    assert.ok(mysql, "the mysql user must exist (mariadb-server creates it)");
    const unit = settings(await Deno.readTextFile(`${ROOT}/systemd/mysql_monitor_daemon@.service`));
    assert.equal(unit.get("User"), "mysql");
    const top = await Deno.makeTempDir({ prefix: "mmd-unit-" });
    try {
      await Deno.chmod(top, 0o755);
      // What systemd creates before ExecStart.
      const run = `${top}/run/${unit.get("RuntimeDirectory")}`;
      const state = `${top}/lib/${unit.get("StateDirectory")}`;
      const logs = `${top}/log/${unit.get("LogsDirectory")}`;
      await mysqlDir(run, Number.parseInt(unit.get("RuntimeDirectoryMode")!, 8));
      await mysqlDir(state, Number.parseInt(unit.get("StateDirectoryMode")!, 8));
      await mysqlDir(logs, Number.parseInt(unit.get("LogsDirectoryMode")!, 8));
      const creds = `${top}/credentials`;
      const [credName] = unit.get("LoadCredential")!.split(":");
      await Deno.mkdir(creds);
      await Deno.writeTextFile(`${creds}/${credName}`, "secret-pw\n", { mode: 0o400 });
      await Deno.chown(`${creds}/${credName}`, mysql.uid, mysql.gid);
      await Deno.chmod(`${creds}/${credName}`, 0o400);
      await mysqlDir(creds, 0o500);
      // The configuration keeps the default layout, moved under `top`.
      const conf = `${top}/etc`;
      await Deno.mkdir(conf);
      await Deno.writeTextFile(
        `${conf}/search.conf`,
        `prometheus_file=${run}/mysql_monitor.prom\npid_file=${run}/mysql_monitor.pid\n` +
          `state_dir=${state}\naudit_log=${logs}/audit.log\nconnect_retries=0\n` +
          "[server main]\ndb_host=127.0.0.1\ndb_port=1\ndb_user=monitor\n",
      );
      await Deno.writeTextFile(`${conf}/search_user`, "eve,10GB\n");
      // mysql cannot read root's Deno cache: give it a copy, as a package would ship the binary.
      const denoDir = `${top}/deno`;
      const cache = Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`;
      await Deno.mkdir(denoDir);
      const cp = await new Deno.Command("cp", { args: ["-r", `${cache}/npm`, denoDir] }).output();
      assert.equal(cp.code, 0);
      const ch = await new Deno.Command("chown", { args: ["-R", "mysql:mysql", denoDir] }).output();
      assert.equal(ch.code, 0);
      await using notify = await NotifySocket.listen(`${top}/notify.sock`);
      await Deno.chmod(`${top}/notify.sock`, 0o777);
      const env = {
        HOME: top,
        DENO_DIR: denoDir,
        NO_COLOR: "1",
        CREDENTIALS_DIRECTORY: creds,
        NOTIFY_SOCKET: notify.path,
        WATCHDOG_USEC: "2000000",
        JOURNAL_STREAM: "8:1",
      };
      const asMysql = (args: string[]) =>
        new Deno.Command("setpriv", {
          args: [
            "--reuid=mysql",
            "--regid=mysql",
            "--init-groups",
            Deno.execPath(),
            ...cliCommand([...args, "-c", conf], { read: [top], write: [top] }),
          ],
          cwd: "/",
          env,
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        });
      const daemon = asMysql(unitArgs(unit.get("ExecStart")!)).spawn();
      let stderr = "";
      const pump = (async () => {
        for await (const c of daemon.stderr.pipeThrough(new TextDecoderStream())) stderr += c;
      })();
      daemon.stdout.cancel();
      try {
        await notify.waitFor(/^READY=1/).catch((err) => {
          throw new Error(`${err.message}; daemon stderr: ${stderr}`);
        });
        await notify.waitFor(/^WATCHDOG=1$/);
        assert.doesNotMatch(stderr, /dropped root/, "nothing to drop: it never was root");
        const pid = await Deno.lstat(`${run}/mysql_monitor_shard1.pid`);
        assert.equal(pid.uid, mysql.uid);
        const audit = await Deno.lstat(`${logs}/audit.log`);
        assert.equal(audit.uid, mysql.uid);
        assert.equal(audit.mode! & 0o777, 0o640);
        const deadline = Date.now() + 30_000;
        while (!(await Deno.lstat(`${run}/mysql_monitor_shard1.prom`).catch(() => undefined))) {
          assert.ok(Date.now() < deadline, `no metrics file; stderr: ${stderr}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        // ExecReload, as the unit runs it (same user, same credentials).
        const reload = await asMysql(unitArgs(unit.get("ExecReload")!)).output();
        const out = new TextDecoder().decode(reload.stdout);
        assert.equal(reload.code, 0, new TextDecoder().decode(reload.stderr));
        assert.equal(out.trim(), `monitor (pid ${daemon.pid}) reloaded its configuration`);
        await notify.waitFor(/^RELOADING=1/);
      } finally {
        daemon.kill("SIGTERM");
        const status = await daemon.status;
        await pump;
        assert.equal(status.code, 0, stderr);
      }
      await notify.waitFor(/^STOPPING=1$/);
      await assert.rejects(Deno.lstat(`${run}/mysql_monitor_shard1.pid`), Deno.errors.NotFound);
    } finally {
      await Deno.remove(top, { recursive: true });
    }
  },
});
