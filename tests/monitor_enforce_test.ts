/**
 * End to end: warn / lock / unlock cycles against a throwaway MariaDB, through the CLI, with a
 * monitor account that holds only the documented minimal grants.
 */
import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import { MariaDB } from "./support/mariadb.ts";
import {
  createMonitorAccount,
  fillSchema,
  isLocked,
  Sandbox,
  schemaBytes,
  socketServer,
} from "./support/monitor_fixture.ts";

function metric(text: string, name: string, user: string): number | undefined {
  const esc = user.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
  const line = text.split("\n").find((l) => l.startsWith(`${name}{server="db1",user="${esc}",`));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

Deno.test("monitor e2e: -d 0 and -d 1 change nothing; -d 2 warns once, locks, kills sessions, unlocks only its own locks", async () => {
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  // o'brien: two accounts; schemas by grants with an escaped \_ and a _ wildcard.
  for (const host of ["%", "localhost"]) {
    await db.query("CREATE USER ?@? IDENTIFIED BY 'x'", ["o'brien", host]);
  }
  await db.query("GRANT ALL ON `ob\\_%`.* TO ?@'%'", ["o'brien"]);
  await db.query("GRANT ALL ON `ob\\_one`.* TO ?@'localhost'", ["o'brien"]); // ob_one again: counts once
  await db.query("GRANT INSERT ON `ob_x`.* TO ?@'localhost'", ["o'brien"]); // _ wildcard: matches obzx
  await db.query("GRANT SELECT ON `obXone`.* TO ?@'localhost'", ["o'brien"]); // read-only: not charged
  await fillSchema(db, "ob_one", 1536);
  await fillSchema(db, "ob_two", 512);
  await fillSchema(db, "obzx", 256);
  await fillSchema(db, "obXone", 1024); // not matched: the grant escapes the underscore
  // bob: above soft only. carol: locked by an administrator. ops/root/monitor: protected.
  for (const u of ["bob", "carol", "ops"]) {
    await db.query("CREATE USER ?@'%' IDENTIFIED BY 'x'", [u]);
    await db.query(`GRANT ALL ON \`${u}\\_db\`.* TO ?@'%'`, [u]);
    await fillSchema(db, `${u}_db`, 1024);
  }
  await db.query("ALTER USER 'carol'@'%' ACCOUNT LOCK");
  await db.query("GRANT ALL ON `ops\\_db`.* TO 'monitor'@'localhost'");

  await using sb = await Sandbox.create([db]);
  await sb.writeConf(sb.globals("protected_users=ops\n") + socketServer(db, "db1"));
  await sb.writeUsers(
    "o'brien,1M,2M\nbob,512K,100M\ncarol,1K,2K\nops,1K,2K\nroot,1K\nmonitor,1K\n",
  );
  const expectedObrien = (await schemaBytes(db, "ob_one")) + (await schemaBytes(db, "ob_two")) +
    (await schemaBytes(db, "obzx"));
  const allUnlocked = async () => {
    for (
      const [u, h] of [["o'brien", "%"], ["o'brien", "localhost"], ["bob", "%"], ["ops", "%"], [
        "root",
        "localhost",
      ], ["monitor", "localhost"]]
    ) {
      assert.equal(await isLocked(db, u, h), false, `${u}@${h} locked`);
    }
  };

  // -d 0: log only.
  let r = await sb.run(["--once", "-d", "0"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^db1\s+o'brien\s+\S+\s+1MiB\s+2MiB\s+over hard\s+would warn, would lock %, would lock localhost$/m,
  );
  assert.match(r.stderr, /dry run: server db1: would lock "o'brien@%"/);
  // The configuration warning about a protected user is given whatever the level.
  assert.match(
    r.stderr,
    /WARNING monitor: server db1: user ops uses \S+, above the hard limit 2KiB, but is protected and is never locked/,
  );
  assert.match(r.stdout, /^db1\s+ops\s+.*protected\s+would warn, protected: not locked$/m);
  await allUnlocked();
  assert.match(
    await sb.auditLog(),
    /user="o'brien" host=% usage=\d+ limit=2097152 action=lock result=dry-run/,
  );
  // -d 1: warnings, still no lock.
  r = await sb.run(["--once", "-d", "1"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /WARNING monitor: server db1: user bob uses \S+, above the soft limit 512KiB/,
  );
  assert.match(
    r.stderr,
    /ERROR monitor: server db1: "o'brien@%" uses \S+, above the hard limit 2MiB; would lock \(not at -d 1\)/,
  );
  await allUnlocked();
  assert.equal(metric(await sb.metrics(), "mysql_user_storage_bytes", "o'brien"), expectedObrien);

  // -d 2: lock. An open session of o'brien is ended.
  const session = await mysql.createConnection({
    socketPath: db.socket,
    user: "o'brien",
    password: "x",
  });
  session.on("error", () => {});
  r = await sb.run(["--once", "-d", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^db1\s+o'brien\s+\S+\s+1MiB\s+2MiB\s+locked\s+lock %: ok, lock localhost: ok$/m,
  );
  assert.match(r.stdout, /^db1\s+carol\s+.*admin-locked\s+-$/m);
  assert.match(r.stdout, /^db1\s+ops\s+.*protected\s+-$/m, "protected warning repeated");
  assert.match(r.stdout, /^db1\s+monitor\s+.*protected\s+/m);
  assert.match(
    r.stderr,
    /search_user:5: user root is protected and is never locked; remove it from search_user/,
  );
  assert.match(
    r.stderr,
    /ERROR monitor: server db1: locked "o'brien@%": uses \S+, above the hard limit 2MiB\n[\s\S]*ERROR monitor: server db1: ended 1 open session\(s\) of "o'brien"/,
  );
  assert.ok(await isLocked(db, "o'brien", "%"));
  assert.ok(await isLocked(db, "o'brien", "localhost"));
  await assert.rejects(session.query("SELECT 1"), "the open session survived the lock");
  session.destroy();
  await assert.rejects(
    mysql.createConnection({ socketPath: db.socket, user: "o'brien", password: "x" }),
    /locked/i,
  );
  for (
    const [u, h] of [["bob", "%"], ["ops", "%"], ["root", "localhost"], ["monitor", "localhost"]]
  ) {
    assert.equal(await isLocked(db, u, h), false, `${u}@${h}`);
  }
  let m = await sb.metrics();
  assert.equal(metric(m, "mysql_user_account_locked", "o'brien"), 1);
  assert.equal(metric(m, "mysql_user_account_locked", "carol"), 1);
  assert.equal(metric(m, "mysql_user_account_locked", "bob"), 0);

  // Next cycle: nothing new to say.
  const auditBefore = (await sb.auditLog()).split("\n").length;
  r = await sb.run(["--once", "-d", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /above the soft limit/, "soft warning repeated");
  assert.equal(
    (await sb.auditLog()).split("\n").length,
    auditBefore,
    "new audit lines without new actions",
  );

  // An administrator unlocks one of our locks while usage is still above the hard limit: the
  // tool forgets its old lock and locks again.
  await db.query("ALTER USER ?@'%' ACCOUNT UNLOCK", ["o'brien"]);
  await db.query("ALTER USER ?@'localhost' ACCOUNT UNLOCK", ["o'brien"]);
  r = await sb.run(["--once", "-d", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^db1\s+o'brien\s+.*locked\s+forget %, forget localhost, lock %: ok, lock localhost: ok$/m,
  );
  assert.ok(await isLocked(db, "o'brien", "%"));
  assert.equal(metric(await sb.metrics(), "mysql_user_account_locked", "o'brien"), 1);

  // Usage falls under the soft limit: our locks are lifted; carol's administrator lock stays.
  await db.query("DROP DATABASE ob_one");
  await db.query("DROP DATABASE ob_two");
  await db.query("DROP DATABASE carol_db");
  r = await sb.run(["--once", "-d", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^db1\s+o'brien\s+\S+\s+1MiB\s+2MiB\s+ok\s+back under soft, unlock %: ok, unlock localhost: ok$/m,
  );
  assert.equal(await isLocked(db, "o'brien", "%"), false);
  assert.equal(await isLocked(db, "o'brien", "localhost"), false);
  assert.ok(await isLocked(db, "carol", "%"), "an administrator's lock was lifted");
  m = await sb.metrics();
  assert.equal(metric(m, "mysql_user_account_locked", "o'brien"), 0);
  assert.equal(metric(m, "mysql_user_storage_bytes", "o'brien"), await schemaBytes(db, "obzx"));
  const audit = await sb.auditLog();
  assert.match(
    audit,
    /user="o'brien" host=localhost usage=\d+ limit=2097152 action=lock result="?ok/,
  );
  assert.match(audit, /user="o'brien" host=% usage=\d+ limit=1048576 action=unlock result=ok/);
  // The one open session was ended once, after the first locks.
  assert.equal(audit.match(/action=end_sessions result="ended 1"/g)?.length, 1, audit);
  assert.equal(audit.match(/action=end_sessions/g)?.length, 2, audit); // lock, relock
  assert.doesNotMatch(audit, /user=carol .*action=(un)?lock/);
});

Deno.test("monitor e2e: user@host in search_user locks only that account", async () => {
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  for (const host of ["%", "localhost"]) {
    await db.query("CREATE USER 'dave'@? IDENTIFIED BY 'x'", [host]);
  }
  await db.query("GRANT ALL ON `dave`.* TO 'dave'@'%'");
  await fillSchema(db, "dave", 512);
  await using sb = await Sandbox.create([db]);
  await sb.writeConf(sb.globals() + socketServer(db, "db1", "schema_mapping=name\n"));
  await sb.writeUsers("dave@localhost,100K,200K\n");
  const r = await sb.run(["--once", "-d", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(await isLocked(db, "dave", "localhost"));
  assert.equal(await isLocked(db, "dave", "%"), false);
});
