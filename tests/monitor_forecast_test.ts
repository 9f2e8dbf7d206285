/**
 * The forecast against a throwaway MariaDB: two `--once` scans with the user's data growing in
 * between give a positive growth rate and a time to the hard limit in the metrics, "full in ~…"
 * under the table, and the samples in the state store's usage_history.
 */
import assert from "node:assert/strict";
import { MariaDB } from "./support/mariadb.ts";
import {
  createMonitorAccount,
  fillSchema,
  Sandbox,
  socketServer,
  sqliteLines,
} from "./support/monitor_fixture.ts";
import { promtool } from "./support/promtool.ts";

/** The value of `name`'s sample for user `user` in the metrics text, or undefined. */
function metric(text: string, name: string, user: string): number | undefined {
  const m = new RegExp(`^${name}\\{server="db1",user="${user}",shard="0"\\} (\\S+)$`, "m").exec(
    text,
  );
  return m ? Number(m[1]) : undefined;
}

Deno.test("forecast: two scans with growth give a positive rate, a time to the hard limit and 'full in'", async () => {
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  for (const u of ["hal", "ivy"]) {
    await db.query(`CREATE USER '${u}'@'%' IDENTIFIED BY 'x'`);
    await db.query(`GRANT ALL ON \`${u}\\_db\`.* TO '${u}'@'%'`);
    await fillSchema(db, `${u}_db`, 512);
  }
  await using sb = await Sandbox.create([db]);
  await sb.writeConf(sb.globals() + socketServer(db, "db1"));
  await sb.writeUsers("hal,40M,50M\nivy,40M,50M\n");

  let r = await sb.run(["--once"]);
  assert.equal(r.code, 0, r.stderr);
  // One scan: no rate yet.
  let prom = await sb.metrics();
  assert.equal(metric(prom, "mysql_user_storage_growth_bytes_per_hour", "hal"), undefined);
  assert.doesNotMatch(r.stdout, /full in/);

  await fillSchema(db, "hal_db", 2048);
  r = await sb.run(["--once"]);
  assert.equal(r.code, 0, r.stderr);
  prom = await sb.metrics();
  const rate = metric(prom, "mysql_user_storage_growth_bytes_per_hour", "hal");
  assert.ok(rate !== undefined && rate > 0, prom);
  const toHard = metric(prom, "mysql_user_storage_seconds_to_hard_limit", "hal");
  assert.ok(toHard !== undefined && toHard > 0, prom);
  // ivy did not grow: a rate of 0 and no time to the limit.
  assert.equal(metric(prom, "mysql_user_storage_growth_bytes_per_hour", "ivy"), 0);
  assert.equal(metric(prom, "mysql_user_storage_seconds_to_hard_limit", "ivy"), undefined);
  const check = await promtool(sb.prom);
  assert.equal(check.code, 0, check.output);
  assert.match(r.stdout, /^hal on db1: full in ~\d+(\.\d)? (h|days) \(growing \S+\/h\)$/m);
  assert.doesNotMatch(r.stdout, /^ivy on db1: full in/m);
  // The first scan's sample is stored; the second, seconds later, is not (one per 15 min).
  const rows = await sqliteLines(
    `${sb.state}/monitor.sqlite`,
    "SELECT server, user, count(*) FROM usage_history GROUP BY server, user ORDER BY user",
  );
  assert.deepEqual(rows, ["db1|hal|1", "db1|ivy|1"]);
});
