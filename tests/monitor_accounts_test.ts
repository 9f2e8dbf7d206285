/**
 * Never the wrong account, against real servers: sessions are ended only for the exact account
 * locked (case, accents, trailing spaces, several hosts), statements work under a global
 * NO_BACKSLASH_ESCAPES, `prefix` takes the longest account name, only growth grants (also
 * through roles) charge a schema, global grants and unknown users are reported, and a size the
 * server cannot read never unlocks.
 */
import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import { loadConfig } from "../src/config/config.ts";
import { Monitor } from "../src/monitor/monitor.ts";
import { setupLogging, teardownLogging } from "../src/system/log.ts";
import { MariaDB } from "./support/mariadb.ts";
import {
  createMonitorAccount,
  fillSchema,
  isLocked,
  Sandbox,
  schemaBytes,
  socketServer,
} from "./support/monitor_fixture.ts";

/** An open session as `user`, over the socket or TCP; `alive()` says whether it still works. */
async function session(db: MariaDB, user: string, tcp = false, password = "x") {
  const conn = await mysql.createConnection({ ...db.connectionOptions(user, password, tcp) });
  conn.on("error", () => {});
  const [[row]] = await conn.query("SELECT CONNECTION_ID() AS id") as unknown as [{ id: number }[]];
  return {
    id: Number(row.id),
    async alive(): Promise<boolean> {
      try {
        await conn.query("SELECT 1");
        return true;
      } catch {
        return false;
      }
    },
    close: () => conn.destroy(),
  };
}

async function dirBytes(path: string): Promise<number> {
  let total = 0;
  for await (const e of Deno.readDir(path)) {
    if (e.isFile) total += (await Deno.lstat(`${path}/${e.name}`)).size;
  }
  return total;
}

function sample(text: string, name: string, labels: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

Deno.test("accounts: locking jose ends only jose's sessions, not JOSE's, josé's or 'jose ''s", async () => {
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  for (const u of ["jose", "JOSE", "josé"]) {
    await db.query("CREATE USER ?@'%' IDENTIFIED BY 'x'", [u]);
  }
  // An anonymous account lets a client log in as 'jose ' (trailing space) over TCP.
  await db.query("CREATE USER ''@'127.0.0.1'");
  await fillSchema(db, "jose", 256);
  for (const u of ["JOSE", "josé"]) await fillSchema(db, u, 16);
  const jose = await session(db, "jose");
  const others = {
    JOSE: await session(db, "JOSE"),
    josé: await session(db, "josé"),
    "jose ": await session(db, "jose ", true, ""),
  };
  const [spaced] = await db.query<{ u: string }>(
    "SELECT HEX(USER) AS u FROM information_schema.PROCESSLIST WHERE ID = ?",
    [others["jose "].id],
  );
  assert.equal(spaced.u, "6A6F736520", "the session's user name keeps its trailing space");

  await using sb = await Sandbox.create([db]);
  await sb.writeConf(sb.globals() + socketServer(db, "db1", "schema_mapping=name\n"));
  await sb.writeUsers("jose,10K,100K\nJOSE,10K,100K\njosé,10K,100K\n");
  const r = await sb.run(["--once", "-d", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(await isLocked(db, "jose", "%"));
  assert.equal(await isLocked(db, "JOSE", "%"), false);
  assert.equal(await isLocked(db, "josé", "%"), false);
  assert.equal(await jose.alive(), false, "jose's session survived");
  for (const [name, s] of Object.entries(others)) {
    assert.ok(await s.alive(), `the session of ${JSON.stringify(name)} was ended`);
    s.close();
  }
  assert.match(r.stderr, /ended 1 open session\(s\) of jose/);
  jose.close();
  // Usage too is byte-exact: jose is charged for schema jose only, not JOSE or josé.
  const bytes = /mysql_user_storage_bytes\{server="db1",user="jose",shard="0"\} (\d+)/.exec(
    await sb.metrics(),
  );
  assert.equal(Number(bytes?.[1]), await schemaBytes(db, "jose"));
  for (const source of ["information_schema", "datadir"]) {
    // One schema of three wanted: lookups by name instead of one aggregate; and the datadir.
    await sb.writeConf(
      sb.globals() +
        socketServer(db, "db1", `schema_mapping=name\nusage_source=${source}\n`),
    );
    await sb.writeUsers("jose,1G,2G\n");
    const again = await sb.run(["--once", "-d", "2", "-d", "0"]);
    assert.equal(again.code, 0, again.stderr);
    const m = /mysql_user_storage_bytes\{server="db1",user="jose",shard="0"\} (\d+)/.exec(
      await sb.metrics(),
    );
    const expected = source === "datadir"
      ? await dirBytes(`${db.datadir}/jose`)
      : await schemaBytes(db, "jose");
    assert.equal(Number(m?.[1]), expected, source);
  }
});

Deno.test("accounts: with user@'%' locked and user@localhost not, only the unambiguous session ends; the other is reported", async () => {
  // Without name resolution the server shows TCP clients by address, which 'localhost' cannot match.
  await using db = await MariaDB.start({ args: ["--skip-name-resolve"] });
  await createMonitorAccount(db);
  for (const h of ["%", "localhost"]) await db.query("CREATE USER 'kim'@? IDENTIFIED BY 'x'", [h]);
  await fillSchema(db, "kim", 256);
  const socket = await session(db, "kim"); // kim@localhost (the more specific account)
  const tcp = await session(db, "kim", true); // 127.0.0.1: only kim@'%' matches
  await using sb = await Sandbox.create([db]);
  await sb.writeConf(sb.globals() + socketServer(db, "db1", "schema_mapping=name\n"));
  await sb.writeUsers("kim@%,10K,100K\n");
  const r = await sb.run(["--once", "-d", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(await isLocked(db, "kim", "%"));
  assert.equal(await isLocked(db, "kim", "localhost"), false);
  assert.equal(await tcp.alive(), false, "kim@%'s session survived");
  assert.ok(await socket.alive(), "a session that may be kim@localhost's was ended");
  assert.match(
    r.stderr,
    new RegExp(`session ${socket.id} of kim from localhost left open: it may belong to an account`),
  );
  assert.match(
    await sb.auditLog(),
    /user=kim usage=\d+ limit=0 action=end_sessions result="ended 1, left 1 open"/,
  );
  socket.close();
  tcp.close();
});

Deno.test("accounts: a global NO_BACKSLASH_ESCAPES does not break locking, session ending and unlocking o'brien", async () => {
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  await db.query("CREATE USER ?@'%' IDENTIFIED BY 'x'", ["o'brien"]);
  await db.query("GRANT ALL ON `o'brien\\_%`.* TO ?@'%'", ["o'brien"]);
  await fillSchema(db, "o'brien_db", 256);
  await db.query("SET GLOBAL sql_mode = 'NO_BACKSLASH_ESCAPES,ANSI_QUOTES'");
  const s = await session(db, "o'brien");
  await using sb = await Sandbox.create([db]);
  await sb.writeConf(sb.globals() + socketServer(db, "db1"));
  await sb.writeUsers("o'brien,10K,100K\n");
  let r = await sb.run(["--once", "-d", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(await isLocked(db, "o'brien", "%"));
  assert.equal(await s.alive(), false);
  s.close();
  await sb.writeUsers("o'brien,1G,2G\n");
  r = await sb.run(["--once", "-d", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await isLocked(db, "o'brien", "%"), false);
});

Deno.test("accounts: prefix mapping charges each schema to the longest matching account name", async () => {
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  for (const u of ["ann", "ann_x"]) await db.query("CREATE USER ?@'%'", [u]);
  await fillSchema(db, "ann_a", 64);
  await fillSchema(db, "ann_x_big", 512); // ann_x's, not ann's
  await using sb = await Sandbox.create([db]);
  await sb.writeConf(sb.globals() + socketServer(db, "db1", "schema_mapping=prefix\n"));
  await sb.writeUsers("ann,200K,300K\nann_x,1G,2G\n");
  const r = await sb.run(["--once", "-d", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await isLocked(db, "ann", "%"), false, "ann was charged for ann_x_big");
  const m = await sb.metrics();
  const labels = (u: string) => `server="db1",user="${u}",shard="0"`;
  assert.equal(
    sample(m, "mysql_user_storage_bytes", labels("ann")),
    await schemaBytes(db, "ann_a"),
  );
  assert.equal(
    sample(m, "mysql_user_storage_bytes", labels("ann_x")),
    await schemaBytes(db, "ann_x_big"),
  );
});

Deno.test("accounts: grants — SELECT-only never charges, roles do, global grants and unknown users are reported once per load", async () => {
  const lines: string[] = [];
  await setupLogging({ target: { lines } });
  try {
    await using db = await MariaDB.start();
    await createMonitorAccount(db);
    for (const u of ["tom", "sue", "glob"]) await db.query("CREATE USER ?@'%'", [u]);
    await db.query("GRANT ALL ON `tom\\_db`.* TO 'tom'@'%'");
    await db.query("GRANT SELECT ON `tom\\_db`.* TO 'sue'@'%'"); // another tenant reads tom_db
    await db.query("GRANT UPDATE, DELETE ON `tom\\_db`.* TO 'sue'@'%'");
    await db.query("CREATE ROLE writer_r");
    await db.query("CREATE ROLE outer_r");
    await db.query("GRANT INSERT ON `sue\\_%`.* TO writer_r");
    await db.query("GRANT writer_r TO outer_r");
    await db.query("GRANT outer_r TO 'sue'@'%'"); // granted, not default
    await db.query("CREATE ROLE def_r");
    await db.query("GRANT CREATE ON `sue_extra`.* TO def_r");
    await db.query("GRANT def_r TO 'sue'@'%'");
    await db.query("SET DEFAULT ROLE def_r FOR 'sue'@'%'");
    await db.query("GRANT INSERT ON *.* TO 'glob'@'%'");
    await db.query("GRANT ALL ON `glob`.* TO 'glob'@'%'");
    await fillSchema(db, "tom_db", 512);
    await fillSchema(db, "sue_a", 64);
    await fillSchema(db, "sue_extra", 32);
    await fillSchema(db, "glob", 32);
    await using sb = await Sandbox.create([db]);
    await sb.writeConf(sb.globals() + socketServer(db, "db1"));
    await sb.writeUsers("tom,1G,2G\nsue,300K,400K\nglob,1G,2G\nghost,1G,2G\n");
    const monitor = new Monitor(await loadConfig(sb.dir), { debug: 2, shard: 0, shards: 1 });
    let [report] = await monitor.runCycle();
    const usage = Object.fromEntries(report.users.map((u) => [u.user, u]));
    assert.equal(usage.tom.usage, await schemaBytes(db, "tom_db"));
    assert.equal(
      usage.sue.usage,
      (await schemaBytes(db, "sue_a")) + (await schemaBytes(db, "sue_extra")),
      "sue: only her role grants count, not the read/update grant on tom_db",
    );
    assert.equal(usage.glob.usage, await schemaBytes(db, "glob"), "a global grant charged all");
    assert.equal(usage.ghost.status, "no account");
    assert.equal(await isLocked(db, "sue", "%"), false);
    assert.equal(report.unknownUsers, 1);
    assert.equal(report.globalGrantUsers, 1);
    const m = await Deno.readTextFile(sb.prom);
    assert.equal(sample(m, "mysql_monitor_unknown_users", 'server="db1",shard="0"'), 1);
    assert.equal(sample(m, "mysql_monitor_global_grant_users", 'server="db1",shard="0"'), 1);
    assert.doesNotMatch(m, /user="ghost"/, "an unknown user got series");
    const told = (re: RegExp) => lines.filter((l) => re.test(l)).length;
    const ghost = /ghost is listed in search_user but has no account on this server/;
    const glob = /user glob may write to every schema \(INSERT\/CREATE\/ALTER on "?\*\.\*"?\)/;
    assert.equal(told(ghost), 1, lines.join("\n"));
    assert.equal(told(glob), 1, lines.join("\n"));
    // Again: nothing new to say. After a reload: said once more.
    [report] = await monitor.runCycle();
    assert.equal(report.unknownUsers, 1);
    assert.equal(told(ghost), 1);
    monitor.reload(await loadConfig(sb.dir));
    await monitor.runCycle();
    assert.equal(told(ghost), 2);
    assert.equal(told(glob), 2);
    await monitor.close();
  } finally {
    await teardownLogging();
  }
});

Deno.test("accounts: a table whose size the server cannot read keeps the lock (incomplete scan)", async () => {
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  await db.query("CREATE USER 'una'@'%'");
  await fillSchema(db, "una", 512);
  // Other tenants' schemas: una's is looked up by name, not found in an aggregate over all.
  for (const other of ["vic", "wes"]) await fillSchema(db, other, 16);
  await db.query("CREATE TABLE una.small (x INT) ENGINE=MyISAM");
  await db.query("INSERT INTO una.small VALUES (1)");
  await using sb = await Sandbox.create([db]);
  await sb.writeConf(sb.globals() + socketServer(db, "db1", "schema_mapping=name\n"));
  await sb.writeUsers("una,100K,200K\n");
  let r = await sb.run(["--once", "-d", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(await isLocked(db, "una", "%"));
  // The big table goes; the small one becomes unreadable (its data file vanished).
  await db.query("DROP TABLE una.t");
  await db.query("FLUSH TABLES");
  await Deno.remove(`${db.datadir}/una/small.MYD`);
  r = await sb.run(["--once", "-d", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(await isLocked(db, "una", "%"), "unlocked on a size it could not read");
  assert.match(r.stderr, /the size of schema una could not be read completely/);
  assert.equal(
    sample(await sb.metrics(), "mysql_monitor_incomplete_schemas", 'server="db1",shard="0"'),
    1,
  );
  // Readable again (the broken table dropped): now it is under, and unlocked.
  await db.query("DROP TABLE una.small");
  r = await sb.run(["--once", "-d", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await isLocked(db, "una", "%"), false);
});
