/**
 * Crash safety end to end: `monitor --once -d 2` over 150 accounts above their limits, frozen by
 * the test-only fault hook at named steps of its run and killed with SIGKILL there, again and
 * again; after every kill no account is locked without a record in the state store, and clean
 * runs (with -t 1, then -t 2) leave every account locked while over its limit and unlocked
 * once under it.
 */
import assert from "node:assert/strict";
import { runCli } from "./support/cli.ts";
import { MariaDB } from "./support/mariadb.ts";
import {
  createMonitorAccount,
  Sandbox,
  socketServer,
  sqliteLines,
} from "./support/monitor_fixture.ts";

const USERS = Array.from({ length: 150 }, (_, i) => `c${String(i).padStart(3, "0")}`);
const FAULT_ENV = "MYSQL_MONITOR_TEST_FAULT";

async function lockedAccounts(db: MariaDB): Promise<Set<string>> {
  const rows = await db.query<{ u: string }>(
    "SELECT User AS u FROM mysql.global_priv WHERE User LIKE 'c%' AND JSON_VALUE(Priv, '$.account_locked') IN ('1', 'true')",
  );
  return new Set(rows.map((r) => r.u));
}

/** Runs `--once -d 2` frozen at `fault` and kills it with SIGKILL there. */
async function killAt(sb: Sandbox, fault: string): Promise<void> {
  const child = sb.spawn(["--once", "-d", "2"], { [FAULT_ENV]: fault });
  child.stdout.cancel();
  let stderr = "";
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const deadline = Date.now() + 60_000;
  while (!stderr.includes("fault: frozen at") && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    stderr += value;
  }
  const [step, n = "1"] = fault.split("@");
  assert.ok(stderr.includes(`fault: frozen at ${step}@${n}`), `${fault}: ${stderr.slice(-3000)}`);
  child.kill("SIGKILL");
  const status = await child.status;
  assert.equal(status.signal, "SIGKILL");
  await reader.cancel();
}

Deno.test("crash: SIGKILL at any step never strands a lock; clean runs finish every lock and unlock, -t 1 then -t 2", async () => {
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  for (const u of USERS) {
    await db.query("CREATE USER ?@'%' IDENTIFIED BY 'x'", [u]);
    await db.query(`CREATE DATABASE \`${u}\``);
    await db.query(`CREATE TABLE \`${u}\`.t (b BLOB) ENGINE=MyISAM`);
    await db.query(`INSERT INTO \`${u}\`.t VALUES (REPEAT('x', 8192))`);
  }
  await using sb = await Sandbox.create([db]);
  await sb.writeConf(sb.globals() + socketServer(db, "db1", "schema_mapping=name\n"));
  const store = `${sb.state}/monitor.sqlite`;
  /** Every locked account has a record (locked, or an intent the next run resolves). */
  const noStrandedLock = async (when: string) => {
    const records = new Set(
      await sqliteLines(store, "SELECT user FROM locks WHERE server = 'db1'"),
    );
    for (const u of await lockedAccounts(db)) {
      assert.ok(records.has(u), `${when}: ${u} is locked without a record`);
    }
  };
  const points = new Set<string>();

  // Over the limits: killed at six different steps of six runs.
  await sb.writeUsers(USERS.map((u) => `${u},2K,4K\n`).join(""));
  for (const fault of ["scanned", "intent@1", "altered@40", "confirmed@75", "intent@20"]) {
    await killAt(sb, fault);
    points.add(fault.split("@")[0]);
    await noStrandedLock(`killed at ${fault}`);
  }
  const before = await lockedAccounts(db);
  assert.ok(before.size >= 100 && before.size < USERS.length, `${before.size} locked so far`);
  // The previous run left an intent: this one resolves it, then is killed before recording.
  await killAt(sb, "recorded");
  points.add("recorded");
  await noStrandedLock("killed at recorded");

  let r = await sb.run(["--once", "-d", "2", "-t", "1"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await lockedAccounts(db)).size, USERS.length, "not every account is locked");
  assert.deepEqual(
    await sqliteLines(
      store,
      "SELECT state, COUNT(*) FROM locks WHERE server = 'db1' GROUP BY state",
    ),
    [`locked|${USERS.length}`],
  );
  assert.doesNotMatch(r.stdout, /admin-locked/);

  // Under the limits: killed during the unlocks.
  await sb.writeUsers(USERS.map((u) => `${u},1G,2G\n`).join(""));
  for (const fault of ["resolved", "intent@20", "altered@40", "confirmed@30"]) {
    await killAt(sb, fault);
    points.add(fault.split("@")[0]);
    await noStrandedLock(`killed at ${fault}`);
  }
  assert.ok((await lockedAccounts(db)).size < USERS.length);
  // Clean runs as two shards: each unlocks its own users, every lock is lifted.
  for (const shard of ["0", "1"]) {
    r = await sb.run(["--once", "-d", "2", "-s", shard, "-t", "2"]);
    assert.equal(r.code, 0, r.stderr);
  }
  assert.equal((await lockedAccounts(db)).size, 0, "a lock was stranded");
  assert.deepEqual(await sqliteLines(store, "SELECT COUNT(*) FROM locks"), ["0"]);
  assert.ok(points.size >= 5, [...points].join(","));

  // The hook is inert with the binary's own permission set (it may not read the variable).
  const paths = [sb.dir, db.dir];
  const inert = await runCli(["monitor", "-c", sb.dir, "--once"], {
    read: paths,
    write: paths,
    env: { [FAULT_ENV]: "scanned" },
  });
  assert.equal(inert.code, 0, inert.stderr);
  assert.doesNotMatch(inert.stderr, /fault:/);
});
