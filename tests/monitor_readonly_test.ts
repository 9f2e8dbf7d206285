/**
 * The grace and the write-brake against a real MariaDB, through the CLI: a braked account can
 * SELECT and DELETE but not INSERT or CREATE (new sessions; an open session keeps its schema's
 * privileges until it selects the schema again, as docs/write-brake.md says); restores are
 * exact (an administrator's added grant stays, one they removed is not added back); SIGKILL
 * between the intent and the REVOKE and between the REVOKE and its confirmation, then clean
 * runs, restore correctly; a grace in scans and a grace as a duration on the test clock; a
 * state store that refuses the intent sends no REVOKE.
 */
import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import { loadConfig } from "../src/config/config.ts";
import { Monitor } from "../src/monitor/monitor.ts";
import { storeWrites } from "../src/monitor/store_testing.ts";
import { setupLogging, teardownLogging } from "../src/system/log.ts";
import { ROOT } from "./support/cli.ts";
import { MariaDB } from "./support/mariadb.ts";
import {
  createMonitorAccount,
  fillSchema,
  isLocked,
  Sandbox,
  socketServer,
  sqliteLines,
} from "./support/monitor_fixture.ts";

const FAULT_ENV = "MYSQL_MONITOR_TEST_FAULT";
const CLOCK_ENV = "MYSQL_MONITOR_TEST_CLOCK";
const COLUMNS = ["Select", "Insert", "Update", "Delete", "Create", "Drop", "Index", "Alter"];

/** The monitor account with the minimal grants plus the one docs/write-brake.md documents. */
async function monitorWithBrakeGrant(db: MariaDB): Promise<void> {
  await createMonitorAccount(db);
  const page = await Deno.readTextFile(`${ROOT}/docs/write-brake.md`);
  const block = /```sql\n([\s\S]*?)```/.exec(page)?.[1];
  assert.ok(block, "docs/write-brake.md has no sql block");
  for (const host of ["localhost", "127.0.0.1"]) {
    for (const stmt of block.split(";").map((s) => s.trim()).filter(Boolean)) {
      await db.query(stmt.replace("'monitor'@'localhost'", `'monitor'@'${host}'`));
    }
  }
}

/** The schema-level privileges of `user`@`host`: `Db: SELECT,INSERT,…` lines, sorted. */
async function schemaPrivs(db: MariaDB, user: string, host = "%"): Promise<string[]> {
  const rows = await db.query<Record<string, string>>(
    `SELECT Db, ${COLUMNS.map((c) => `${c}_priv AS p${c}`).join(", ")} FROM mysql.db
      WHERE CAST(User AS BINARY) = CAST(? AS BINARY) AND CAST(Host AS BINARY) = CAST(? AS BINARY)`,
    [user, host],
  );
  return rows.map((r) =>
    `${r.Db}: ${COLUMNS.filter((c) => r[`p${c}`] === "Y").map((c) => c.toUpperCase()).join(",")}`
  ).sort();
}

/** A session of `user` (password x) with `schema` as its default schema. */
function session(db: MariaDB, user: string, schema: string) {
  return mysql.createConnection({ ...db.connectionOptions(user, "x"), database: schema });
}

/** The error message of `sql` in `conn`, or "ok". */
async function attempt(conn: mysql.Connection, sql: string): Promise<string> {
  try {
    await conn.query(sql);
    return "ok";
  } catch (err) {
    return (err as Error).message;
  }
}

function sample(text: string, name: string, user: string): number | undefined {
  const line = text.split("\n").find((l) =>
    l.startsWith(`${name}{`) && l.includes(`user="${user}"`)
  );
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

/**
 * User `user`@'%' (password x) with schema `user` of about 256 KiB and `grants` on it, and a
 * sandbox watching it with hard_action=readonly and limits 10K/100K.
 */
async function brakeSetup(db: MariaDB, user: string, grants: string): Promise<Sandbox> {
  await db.query("CREATE USER ?@'%' IDENTIFIED BY 'x'", [user]);
  await fillSchema(db, user, 256);
  await db.query(`GRANT ${grants} ON \`${user}\`.* TO ?@'%'`, [user]);
  const sb = await Sandbox.create([db]);
  await sb.writeConf(
    sb.globals("hard_action=readonly\n") + socketServer(db, "db1", "schema_mapping=name\n"),
  );
  await sb.writeUsers(`${user},10K,100K\n`);
  return sb;
}

Deno.test("readonly: a braked account reads and deletes but cannot write; restored exactly, byte-exact names, _ as data", async () => {
  await using db = await MariaDB.start();
  await monitorWithBrakeGrant(db);
  await db.query("CREATE USER 'r_o'@'%' IDENTIFIED BY 'x'");
  await db.query("CREATE USER 'R_O'@'%' IDENTIFIED BY 'x'");
  await fillSchema(db, "r_o", 256);
  await db.query("GRANT ALL ON `r\\_o`.* TO 'r_o'@'%'");
  // A wildcard row (`_` is a wildcard here), a global INSERT and a lookalike account: the brake
  // takes the wildcard row's and the global INSERT too, never the other account's.
  await db.query("GRANT SELECT, INSERT ON `r_o`.* TO 'r_o'@'%'");
  await db.query("GRANT INSERT ON *.* TO 'r_o'@'%'");
  await db.query("GRANT ALL ON `r\\_o`.* TO 'R_O'@'%'");
  await db.query("CREATE USER 'orph'@'%' IDENTIFIED BY 'x'");
  await fillSchema(db, "orph", 256);
  await db.query("GRANT SELECT, INSERT ON orph.* TO 'orph'@'%'");
  const before = await schemaPrivs(db, "r_o");
  assert.deepEqual(before, [
    "r\\_o: SELECT,INSERT,UPDATE,DELETE,CREATE,DROP,INDEX,ALTER",
    "r_o: SELECT,INSERT",
  ]);
  await using sb = await Sandbox.create([db]);
  await sb.writeConf(
    sb.globals("hard_action=readonly\n") + socketServer(db, "db1", "schema_mapping=name\n"),
  );
  await sb.writeUsers("r_o,10K,100K\norph,10K,100K\n");
  const open = await session(db, "r_o", "r_o");
  try {
    const r = await sb.run(["--once", "-d", "2"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /r_o .*readonly .*readonly %: ok/);
    assert.deepEqual(await schemaPrivs(db, "r_o"), [
      "r\\_o: SELECT,DELETE,DROP",
      "r_o: SELECT",
    ]);
    const [g] = await db.query<{ a: string }>(
      "SELECT JSON_VALUE(Priv, '$.access') AS a FROM mysql.global_priv WHERE User = 'r_o'",
    );
    assert.equal(BigInt(g.a) & 2n, 0n, "global INSERT revoked");
    assert.deepEqual(await schemaPrivs(db, "R_O"), [
      "r\\_o: SELECT,INSERT,UPDATE,DELETE,CREATE,DROP,INDEX,ALTER",
    ]);
    assert.equal(await isLocked(db, "r_o", "%"), false, "readonly never locks");
    assert.deepEqual(
      await sqliteLines(
        `${sb.state}/monitor.sqlite`,
        "SELECT level, db, privs, state FROM brakes ORDER BY level, db",
      ),
      [
        "db|orph|INSERT|revoked",
        "db|r\\_o|INSERT,UPDATE,CREATE,INDEX,ALTER|revoked",
        "db|r_o|INSERT|revoked",
        "global||INSERT|revoked",
      ],
    );
    assert.equal(sample(await sb.metrics(), "mysql_user_account_readonly", "r_o"), 1);
    const doc = JSON.parse((await sb.run(["--once", "--json", "-d", "0"])).stdout);
    assert.deepEqual(
      doc.servers[0].users.map((u: { user: string; status: string; readonly: boolean }) =>
        `${u.user} ${u.status} ${u.readonly}`
      ),
      ["r_o readonly true", "orph readonly true"],
    );
    assert.match(await sb.auditLog(), /user=r_o host=% .*action=revoke result="ok: revoked /);

    // A new session: reads and deletes, cannot insert, update or create.
    const fresh = await session(db, "r_o", "r_o");
    try {
      assert.equal(await attempt(fresh, "SELECT COUNT(*) FROM t"), "ok");
      assert.match(await attempt(fresh, "INSERT INTO t (b) VALUES ('x')"), /INSERT command denied/);
      assert.match(await attempt(fresh, "UPDATE t SET b = 'y'"), /UPDATE command denied/);
      assert.match(await attempt(fresh, "CREATE TABLE t2 (i INT)"), /CREATE command denied/);
      assert.equal(await attempt(fresh, "DELETE FROM t WHERE id = 1"), "ok");
    } finally {
      await fresh.end();
    }
    // The session that was open keeps its global privileges (here INSERT on *.*) for its whole
    // life, even after it selects the schema again: documented, not hidden.
    assert.equal(await attempt(open, "INSERT INTO t (b) VALUES ('x')"), "ok");
    await open.query("USE r_o");
    assert.equal(await attempt(open, "INSERT INTO t (b) VALUES ('x')"), "ok");
  } finally {
    await open.end();
  }

  // Meanwhile an administrator removes DELETE (not the tool's) and adds SELECT on another schema.
  await db.query("REVOKE DELETE ON `r\\_o`.* FROM 'r_o'@'%'");
  await db.query("CREATE DATABASE other");
  await db.query("GRANT SELECT ON other.* TO 'r_o'@'%'");
  assert.deepEqual(await schemaPrivs(db, "orph"), ["orph: SELECT"]);
  // Still over: a second run changes nothing for r_o; orph, no longer listed, is restored.
  await sb.writeUsers("r_o,10K,100K\n");
  const again = await sb.run(["--once", "-d", "2"]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /r_o .*readonly/);
  assert.match(again.stdout, /orph .*not monitored .*restore %: ok/);
  assert.match(
    again.stderr,
    /restored "INSERT on `orph`\.\*" to orph@%: "orph is no longer in search_user"/,
  );
  assert.deepEqual(await schemaPrivs(db, "orph"), ["orph: SELECT,INSERT"]);
  // Back under: exactly the revoked privileges come back.
  await db.query("DROP TABLE `r_o`.t");
  const back = await sb.run(["--once", "-d", "2"]);
  assert.equal(back.code, 0, back.stderr);
  assert.match(back.stdout, /restore %: ok/);
  assert.deepEqual(await schemaPrivs(db, "r_o"), [
    "other: SELECT",
    "r\\_o: SELECT,INSERT,UPDATE,CREATE,DROP,INDEX,ALTER",
    "r_o: SELECT,INSERT",
  ]);
  const [g] = await db.query<{ a: string }>(
    "SELECT JSON_VALUE(Priv, '$.access') AS a FROM mysql.global_priv WHERE User = 'r_o'",
  );
  assert.equal(BigInt(g.a) & 2n, 2n, "global INSERT restored");
  assert.deepEqual(await sqliteLines(`${sb.state}/monitor.sqlite`, "SELECT * FROM brakes"), []);
  assert.equal(sample(await sb.metrics(), "mysql_user_account_readonly", "r_o"), 0);
});

/** Runs `--once -d 2` frozen at `fault` and kills it with SIGKILL there. */
async function killAt(sb: Sandbox, fault: string): Promise<void> {
  const child = sb.spawn(["--once", "-d", "2"], { [FAULT_ENV]: fault });
  child.stdout.cancel();
  let stderr = "";
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  while (!stderr.includes("fault: frozen at")) {
    const { value, done } = await reader.read();
    if (done) break;
    stderr += value;
  }
  assert.ok(stderr.includes(`fault: frozen at ${fault}`), `${fault}: ${stderr.slice(-3000)}`);
  child.kill("SIGKILL");
  assert.equal((await child.status).signal, "SIGKILL");
  await reader.cancel();
}

Deno.test("readonly: SIGKILL between intent and REVOKE, between REVOKE and confirm, and during a restore; clean runs finish every record", async () => {
  await using db = await MariaDB.start();
  await monitorWithBrakeGrant(db);
  await using sb = await brakeSetup(db, "kx", "SELECT, INSERT, CREATE");
  const store = `${sb.state}/monitor.sqlite`;
  const rows = () => sqliteLines(store, "SELECT db, privs, pending, state FROM brakes");

  await killAt(sb, "intent@1");
  assert.deepEqual(await rows(), ["kx||INSERT,CREATE|revoking"], "intent on disk before REVOKE");
  assert.deepEqual(await schemaPrivs(db, "kx"), ["kx: SELECT,INSERT,CREATE"], "nothing sent");

  // The next run finds the REVOKE did not happen, drops the intent, brakes anew — killed after.
  await killAt(sb, "altered@1");
  assert.deepEqual(await schemaPrivs(db, "kx"), ["kx: SELECT"]);
  assert.deepEqual(await rows(), ["kx||INSERT,CREATE|revoking"]);

  // A clean run finds the REVOKE happened: recorded as the tool's.
  const clean = await sb.run(["--once", "-d", "2"]);
  assert.equal(clean.code, 0, clean.stderr);
  assert.deepEqual(await rows(), ["kx|INSERT,CREATE||revoked"]);

  // Back under: killed after the GRANT, before its confirmation; a clean run drops the record.
  await db.query("DROP TABLE kx.t");
  await killAt(sb, "altered@1");
  assert.deepEqual(await rows(), ["kx|INSERT,CREATE|INSERT,CREATE|restoring"]);
  assert.deepEqual(await schemaPrivs(db, "kx"), ["kx: SELECT,INSERT,CREATE"]);
  const done = await sb.run(["--once", "-d", "2"]);
  assert.equal(done.code, 0, done.stderr);
  assert.deepEqual(await rows(), []);
  assert.deepEqual(await schemaPrivs(db, "kx"), ["kx: SELECT,INSERT,CREATE"]);
});

Deno.test("grace: a duration on the test clock, then N scans; pending shown in --once, the metric and the audit log", async () => {
  await using db = await MariaDB.start();
  await monitorWithBrakeGrant(db);
  await db.query("CREATE USER 'gd'@'%' IDENTIFIED BY 'x'");
  await fillSchema(db, "gd", 256);
  await db.query("GRANT ALL ON gd.* TO 'gd'@'%'");
  await using sb = await Sandbox.create([db]);
  const conf = (extra: string) =>
    sb.writeConf(sb.globals(extra) + socketServer(db, "db1", "schema_mapping=name\n"));
  await conf("hard_grace=1h\nhard_action=readonly\n");
  await sb.writeUsers("gd,10K,100K\n");
  const T = 1_900_000_000;
  const at = (t: number) => sb.run(["--once", "-d", "2"], { [CLOCK_ENV]: String(t) });

  const first = await at(T);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /gd .*over hard .*over hard, readonly in 1h/);
  assert.equal(
    sample(await sb.metrics(), "mysql_user_storage_hard_exceeded_since_seconds", "gd"),
    T,
  );
  assert.match(await sb.auditLog(), /user=gd .*action=grace_started result="pending: due in 1h"/);
  assert.deepEqual(await schemaPrivs(db, "gd"), [
    "gd: SELECT,INSERT,UPDATE,DELETE,CREATE,DROP,INDEX,ALTER",
  ]);

  const json = JSON.parse(
    (await sb.run(["--once", "--json", "-d", "0"], { [CLOCK_ENV]: String(T + 60) })).stdout,
  );
  const gd = json.servers[0].users[0];
  assert.equal(gd.hard_exceeded_since, new Date(T * 1000).toISOString());
  assert.equal(gd.readonly, false);
  assert.ok(gd.actions.includes("over hard, readonly in 59m"), gd.actions.join());

  const half = await at(T + 1800);
  assert.match(half.stdout, /over hard, readonly in 30m/);
  assert.deepEqual(await schemaPrivs(db, "gd"), [
    "gd: SELECT,INSERT,UPDATE,DELETE,CREATE,DROP,INDEX,ALTER",
  ]);
  assert.equal(
    sample(await sb.metrics(), "mysql_user_storage_hard_exceeded_since_seconds", "gd"),
    T,
  );

  const open = await session(db, "gd", "gd");
  try {
    const due = await at(T + 3600);
    assert.match(due.stdout, /readonly %: ok/);
    assert.deepEqual(await schemaPrivs(db, "gd"), ["gd: SELECT,DELETE,DROP"]);
    // An open session keeps its default schema's privileges until it selects it again.
    assert.equal(await attempt(open, "INSERT INTO t (b) VALUES ('x')"), "ok");
    await open.query("USE gd");
    assert.match(await attempt(open, "INSERT INTO t (b) VALUES ('x')"), /INSERT command denied/);
    assert.equal(await attempt(open, "DELETE FROM t WHERE id = 1"), "ok");
  } finally {
    await open.end();
  }
  assert.match(await sb.auditLog(), /action=grace_ended result=enforced/);

  // Back under: restored, the metric is gone.
  await db.query("DROP TABLE gd.t");
  await at(T + 4000);
  assert.equal(
    sample(await sb.metrics(), "mysql_user_storage_hard_exceeded_since_seconds", "gd"),
    undefined,
  );
  assert.deepEqual(await schemaPrivs(db, "gd"), [
    "gd: SELECT,INSERT,UPDATE,DELETE,CREATE,DROP,INDEX,ALTER",
  ]);

  // N scans with the lock: two scans above go by, the third locks.
  await conf("hard_grace=3 scans\n");
  await fillSchema(db, "gd", 256);
  const s1 = await sb.run(["--once", "-d", "2"]);
  assert.match(s1.stdout, /over hard, locking after 2 more scans/);
  const s2 = await sb.run(["--once", "-d", "2"]);
  assert.match(s2.stdout, /over hard, locking after 1 more scan\b/);
  assert.equal(await isLocked(db, "gd", "%"), false);
  const s3 = await sb.run(["--once", "-d", "2"]);
  assert.match(s3.stdout, /lock %: ok/);
  assert.equal(await isLocked(db, "gd", "%"), true);
});

Deno.test("readonly: a state store that refuses the brake intent — no REVOKE reaches the server", async () => {
  const lines: string[] = [];
  await setupLogging({ target: { lines } });
  try {
    await using db = await MariaDB.start();
    await monitorWithBrakeGrant(db);
    await using sb = await brakeSetup(db, "sf", "SELECT, INSERT");
    const monitor = new Monitor(await loadConfig(sb.dir), { debug: 2, shard: 0, shards: 1 }, {
      writes: (store) =>
        storeWrites(store, {
          intendBrake() {
            throw new Error("database or disk is full (injected)");
          },
        }),
    });
    const [report] = await monitor.runCycle();
    await monitor.close();
    assert.match(report.stateError ?? "", /injected/);
    assert.equal(monitor.stateWriteErrors, 1);
    assert.deepEqual(await schemaPrivs(db, "sf"), ["sf: SELECT,INSERT"], "a REVOKE was sent");
    assert.match(report.users[0].actions.join(), /readonly %: failed|not sent/);
  } finally {
    await teardownLogging();
  }
});

Deno.test("readonly: without the documented grant the REVOKE is refused; the error says what is missing and nothing is recorded", async () => {
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  await using sb = await brakeSetup(db, "ng", "SELECT, INSERT");
  const r = await sb.run(["--once", "-d", "2"]);
  assert.match(r.stdout, /ng .*readonly %: failed/);
  assert.match(
    r.stderr,
    /could not "revoke INSERT on `ng`\.\* from ng@%": .*Access denied.* needs .*WITH GRANT OPTION/,
  );
  assert.deepEqual(await schemaPrivs(db, "ng"), ["ng: SELECT,INSERT"]);
  assert.deepEqual(await sqliteLines(`${sb.state}/monitor.sqlite`, "SELECT * FROM brakes"), []);
});
