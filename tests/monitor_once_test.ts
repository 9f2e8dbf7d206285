/**
 * Safer one-shots, against a throwaway MariaDB: `monitor --once` without `-d` is a dry run and
 * says so, `--dry-run` is `-d 0`, and only an explicit `-d 2` locks an account.
 */
import assert from "node:assert/strict";
import { MariaDB } from "./support/mariadb.ts";
import {
  createMonitorAccount,
  fillSchema,
  isLocked,
  Sandbox,
  socketServer,
} from "./support/monitor_fixture.ts";
import { DRY_RUN_NOTE } from "../src/cli/monitor.ts";

Deno.test("monitor --once: a dry run unless -d 2 is given; --dry-run is -d 0", async () => {
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  await db.query("CREATE USER 'hal'@'%' IDENTIFIED BY 'x'");
  await db.query("GRANT ALL ON `hal\\_db`.* TO 'hal'@'%'");
  await fillSchema(db, "hal_db", 512);
  await using sb = await Sandbox.create([db]);
  await sb.writeConf(sb.globals() + socketServer(db, "db1"));
  await sb.writeUsers("hal,100K,200K\n");
  const wouldLock = /^db1\s+hal\s+.*over hard\s+would warn, would lock %$/m;

  // No -d: dry run, announced once on stderr; the account stays open.
  let r = await sb.run(["--once"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, wouldLock);
  assert.equal(r.stderr.split(DRY_RUN_NOTE).length - 1, 1, r.stderr);
  assert.match(await sb.auditLog(), /user=hal .*action=lock result=dry-run/);
  assert.equal(await isLocked(db, "hal", "%"), false);

  // --dry-run: the same level, asked for, so no note.
  r = await sb.run(["--once", "--dry-run"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, wouldLock);
  assert.ok(!r.stderr.includes(DRY_RUN_NOTE), r.stderr);
  r = await sb.run(["--once", "--dry-run", "-d", "0"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await isLocked(db, "hal", "%"), false);

  // --dry-run with an enforcing level is a usage error, and nothing runs.
  for (const level of ["1", "2"]) {
    r = await sb.run(["--once", "--dry-run", "-d", level]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^mysql_monitor_daemon: monitor: --dry-run is -d 0 and cannot be combined with -d ${level}$`,
        "m",
      ),
    );
    assert.equal(r.stdout, "");
  }
  assert.equal(await isLocked(db, "hal", "%"), false);

  // An explicit -d 2 enforces, without the note.
  r = await sb.run(["--once", "-d", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^db1\s+hal\s+.*locked\s+warned, lock %: ok$/m);
  assert.ok(!r.stderr.includes(DRY_RUN_NOTE), r.stderr);
  assert.ok(await isLocked(db, "hal", "%"));
});
