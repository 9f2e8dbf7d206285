/**
 * `monitor --once --json` and `--top` against a throwaway MariaDB: stdout is exactly one JSON
 * document whose keys are those of the example in docs/monitor.md; the largest tables of a user
 * over a limit come from the schemas charged to it (byte-exact), largest first, with DATA_FREE
 * from information_schema and without it from the datadir.
 */
import assert from "node:assert/strict";
import { ROOT } from "./support/cli.ts";
import { MariaDB } from "./support/mariadb.ts";
import {
  createMonitorAccount,
  fillSchema,
  Sandbox,
  socketServer,
} from "./support/monitor_fixture.ts";

/** The JSON example under "## JSON output" in docs/monitor.md. */
function documentedExample(): unknown {
  const doc = Deno.readTextFileSync(`${ROOT}/docs/monitor.md`);
  const section = doc.slice(doc.indexOf("## JSON output"));
  const m = /```json\n([\s\S]*?)\n```/.exec(section);
  assert.ok(m, "docs/monitor.md has no JSON example under '## JSON output'");
  return JSON.parse(m[1]);
}

/**
 * The key paths of `value` (`servers[].users[].forecast.samples`); arrays contribute the keys
 * of all their elements, a null value only its own path.
 */
function keyPaths(value: unknown, prefix = "", out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) keyPaths(v, `${prefix}[]`, out);
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      const path = prefix ? `${prefix}.${k}` : k;
      out.add(path);
      keyPaths(v, path, out);
    }
  }
  return out;
}

interface JsonTable {
  schema: string;
  table: string;
  bytes: number;
  data_free_bytes: number | null;
}

Deno.test("monitor --once --json: one document with the documented keys; --top lists the largest tables of users over a limit", async () => {
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  for (const u of ["hal", "Hal", "ivy"]) {
    await db.query(`CREATE USER '${u}'@'%' IDENTIFIED BY 'x'`);
  }
  await fillSchema(db, "hal", 768, "big");
  await fillSchema(db, "hal", 256, "mid");
  await fillSchema(db, "hal", 16, "small");
  await db.query("CREATE VIEW `hal`.`v` AS SELECT id FROM `hal`.`big`");
  // Hal's schema differs from hal's only in case: never part of hal's tables.
  await fillSchema(db, "Hal", 2048, "other");
  await fillSchema(db, "ivy", 64);
  await using sb = await Sandbox.create([db]);
  const conf = (extra = "") =>
    sb.writeConf(sb.globals() + socketServer(db, "db1", `schema_mapping=name\n${extra}`));
  await conf();
  await sb.writeUsers("hal,100K,200K\nivy,10M,20M\nnobody,1M,2M\n");

  // The table: hal's three tables (not the view, not Hal's), largest first.
  let r = await sb.run(["--once"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split("\n");
  const at = lines.indexOf("hal on db1: largest tables");
  assert.ok(at > 0, r.stdout);
  assert.match(lines[at + 1], /^ {2}TABLE\s+SIZE\s+RECLAIMABLE$/);
  assert.deepEqual(
    lines.slice(at + 2, at + 5).map((l) => l.trim().split(/\s+/)[0]),
    ["hal.big", "hal.mid", "hal.small"],
  );
  assert.deepEqual(lines.slice(at + 5), [""], r.stdout);
  assert.doesNotMatch(r.stdout, /ivy on db1: largest|Hal\.other/);

  // --top 0 reads none.
  r = await sb.run(["--once", "--top", "0"]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout, /largest tables/);

  // JSON: stdout is the document alone; its keys are the documented ones.
  r = await sb.run(["--once", "--json", "--top", "2"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  // Every key is documented, and every documented key is there (those of a released lock's
  // entry need one, which this run has not).
  const documented = keyPaths(documentedExample());
  const given = keyPaths(doc);
  assert.deepEqual([...given].filter((k) => !documented.has(k)), [], "undocumented keys");
  assert.deepEqual(
    [...documented].filter((k) => !given.has(k)),
    ["servers[].released[].user", "servers[].released[].actions"],
  );
  assert.equal(doc.schema_version, 1);
  assert.equal(doc.dry_run, true);
  assert.equal(doc.ok, true);
  assert.deepEqual(doc.errors, []);
  assert.equal(doc.servers.length, 1);
  const server = doc.servers[0];
  assert.equal(server.server, "db1");
  assert.equal(server.up, true);
  assert.equal(server.top_tables_error, null);
  const users = new Map(server.users.map((u: { user: string }) => [u.user, u]));
  assert.deepEqual([...users.keys()], ["hal", "ivy", "nobody"]);
  // deno-lint-ignore no-explicit-any
  const hal = users.get("hal") as any;
  assert.equal(hal.status, "over hard");
  assert.equal(hal.soft_bytes, 100 * 1024);
  assert.equal(hal.hard_bytes, 200 * 1024);
  assert.equal(hal.locked, false);
  assert.deepEqual(hal.actions, ["would warn", "would lock %"]);
  const tables = hal.top_tables as JsonTable[];
  assert.deepEqual(tables.map((t) => `${t.schema}.${t.table}`), ["hal.big", "hal.mid"]);
  assert.ok(tables[0].bytes > tables[1].bytes && tables[1].bytes > 256 * 1024);
  for (const t of tables) assert.equal(typeof t.data_free_bytes, "number");
  const [usage] = await db.query<{ b: string }>(
    "SELECT SUM(DATA_LENGTH + INDEX_LENGTH) AS b FROM information_schema.TABLES WHERE CAST(TABLE_SCHEMA AS BINARY) = 'hal'",
  );
  assert.equal(hal.usage_bytes, Number(usage.b));
  // deno-lint-ignore no-explicit-any
  const ivy = users.get("ivy") as any;
  assert.equal(ivy.status, "ok");
  assert.deepEqual(ivy.top_tables, []);
  // The second scan gives a forecast (usage unchanged: a rate of 0).
  assert.equal(ivy.forecast.growth_bytes_per_hour, 0);
  assert.equal(ivy.forecast.seconds_to_hard_limit, null);
  // deno-lint-ignore no-explicit-any
  const nobody = users.get("nobody") as any;
  assert.equal(nobody.status, "no account");
  assert.equal(nobody.usage_bytes, null);
  assert.equal(nobody.forecast, null);

  // From the datadir: sizes of the files of each table, no reclaimable figure.
  await conf("usage_source=datadir\n");
  r = await sb.run(["--once", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const fromDir = JSON.parse(r.stdout).servers[0].users[0];
  assert.equal(fromDir.user, "hal");
  const dirTables = fromDir.top_tables as JsonTable[];
  // A view's definition is a file of the directory too, counted in the usage like the rest.
  assert.deepEqual(dirTables.map((t) => t.table), ["big", "mid", "small", "v"]);
  const fileBytes = async (t: string) =>
    (await Deno.stat(`${db.datadir}/hal/${t}.ibd`)).size +
    (await Deno.stat(`${db.datadir}/hal/${t}.frm`)).size;
  assert.equal(dirTables[0].bytes, await fileBytes("big"));
  assert.equal(dirTables[2].bytes, await fileBytes("small"));
  for (const t of dirTables) assert.equal(t.data_free_bytes, null);
});

Deno.test("monitor: --json and --top go with --once only", async () => {
  await using sb = await Sandbox.create();
  for (const args of [["--json"], ["--top", "3"]]) {
    const r = await sb.run(args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`monitor: --${args[0].slice(2)} goes with --once`));
    assert.equal(r.stdout, "");
  }
  const r = await sb.run(["--once", "--top", "x"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--top takes a whole number, got "x"/);
});
