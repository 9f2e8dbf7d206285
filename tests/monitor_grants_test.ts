/**
 * The minimal grants documented in docs/monitor.md are sufficient: the account is created from
 * that page's own SQL block and used, over TCP as a non-root account, for lock/unlock cycles with
 * both usage sources.
 */
import assert from "node:assert/strict";
import { ROOT } from "./support/cli.ts";
import { MariaDB } from "./support/mariadb.ts";
import { fillSchema, isLocked, MONITOR_PASSWORD, Sandbox } from "./support/monitor_fixture.ts";

async function documentedGrants(): Promise<string[]> {
  const page = await Deno.readTextFile(`${ROOT}/docs/monitor.md`);
  const section = page.split("\n## Minimal grants for the monitor account\n")[1];
  assert.ok(section, "docs/monitor.md has no section Minimal grants for the monitor account");
  const block = /```sql\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, "docs/monitor.md has no sql block under Minimal grants");
  return block.split(";").map((s) => s.trim()).filter(Boolean);
}

async function dirBytes(path: string): Promise<number> {
  let total = 0;
  for await (const e of Deno.readDir(path)) {
    if (e.isFile) total += (await Deno.lstat(`${path}/${e.name}`)).size;
  }
  return total;
}

Deno.test("grants: the documented minimal grants run lock/unlock cycles (information_schema and datadir)", async () => {
  await using db = await MariaDB.start();
  const statements = await documentedGrants();
  assert.ok(statements.length >= 3);
  for (const host of ["localhost", "127.0.0.1"]) {
    for (const sql of statements) {
      await db.query(
        sql.replaceAll("'localhost'", `'${host}'`).replace("<password>", MONITOR_PASSWORD),
      );
    }
  }
  const [grants] = await db.query<Record<string, string>>("SHOW GRANTS FOR 'monitor'@'127.0.0.1'")
    .then((rows) => [
      rows.map((r) => Object.values(r)[0]),
    ]);
  assert.ok(
    !grants.some((g) => /GRANT ALL|SUPER|SELECT ON \*\.\*|WITH GRANT OPTION/.test(g)),
    grants.join("\n"),
  );

  await db.query("CREATE USER 'frank'@'%' IDENTIFIED BY 'x'");
  await db.query("GRANT ALL ON `frank\\_%`.* TO 'frank'@'%'");
  await db.query("GRANT ALL ON `fr-ank`.* TO 'frank'@'%'");
  await fillSchema(db, "frank_a", 512);
  await fillSchema(db, "fr-ank", 256); // directory name fr@002dank
  await using sb = await Sandbox.create([db]);
  await sb.writeUsers("frank,100K,400K\n");
  const server = (source: string) =>
    `[server db1]\ndb_host=127.0.0.1\ndb_port=${db.port}\ndb_user=monitor\nusage_source=${source}\n`;

  for (const source of ["information_schema", "datadir"]) {
    await sb.writeConf(sb.globals() + server(source));
    let r = await sb.run(["--once", "-d", "2"]);
    assert.equal(r.code, 0, `${source}: ${r.stderr}`);
    assert.ok(await isLocked(db, "frank", "%"), `${source}: not locked`);
    const m = await sb.metrics();
    const bytes = Number(
      /mysql_user_storage_bytes\{server="db1",user="frank",shard="0"\} (\d+)/.exec(m)?.[1],
    );
    if (source === "datadir") {
      const expected = (await dirBytes(`${db.datadir}/frank_a`)) +
        (await dirBytes(`${db.datadir}/fr@002dank`));
      assert.equal(bytes, expected, "datadir usage differs from the files");
    } else {
      assert.ok(bytes > 400 * 1024, `usage ${bytes}`);
    }
    // Back under: move the data out of the user's schemas; the tool unlocks its own lock.
    await db.query("RENAME TABLE frank_a.t TO fr_other_t_tmp_holder.t").catch(async () => {
      await db.query("CREATE DATABASE fr_other_t_tmp_holder");
      await db.query("RENAME TABLE frank_a.t TO fr_other_t_tmp_holder.t");
    });
    await db.query("RENAME TABLE `fr-ank`.t TO fr_other_t_tmp_holder.t2");
    r = await sb.run(["--once", "-d", "2"]);
    assert.equal(r.code, 0, `${source}: ${r.stderr}`);
    assert.equal(await isLocked(db, "frank", "%"), false, `${source}: not unlocked`);
    await db.query("RENAME TABLE fr_other_t_tmp_holder.t TO frank_a.t");
    await db.query("RENAME TABLE fr_other_t_tmp_holder.t2 TO `fr-ank`.t");
  }
});

Deno.test("grants: a read-only monitor account (no CREATE USER, CONNECTION ADMIN, PROCESS) is enough for -d 1", async () => {
  await using db = await MariaDB.start();
  await db.query("CREATE USER 'monitor'@'localhost' IDENTIFIED BY ?", [MONITOR_PASSWORD]);
  await db.query("GRANT SHOW VIEW ON *.* TO 'monitor'@'localhost'");
  await db.query("GRANT SELECT ON mysql.global_priv TO 'monitor'@'localhost'");
  await db.query("GRANT SELECT ON mysql.db TO 'monitor'@'localhost'");
  await db.query("GRANT SELECT ON mysql.roles_mapping TO 'monitor'@'localhost'");
  await db.query("CREATE USER 'gina'@'%' IDENTIFIED BY 'x'");
  await db.query("GRANT ALL ON gina.* TO 'gina'@'%'");
  await fillSchema(db, "gina", 256);
  await using sb = await Sandbox.create([db]);
  await sb.writeConf(sb.globals() + `[server db1]\ndb_socket=${db.socket}\ndb_user=monitor\n`);
  await sb.writeUsers("gina,10K,100K\n");
  let r = await sb.run(["--once", "-d", "1"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^db1\s+gina\s+.*over hard\s+warned, would lock %$/m);
  // At -d 2 the missing privilege shows as a failed lock, not as a crash.
  r = await sb.run(["--once", "-d", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^db1\s+gina\s+.*lock %: failed$/m);
  assert.match(r.stderr, /could not lock gina@%: .*CREATE USER/);
  assert.equal(await isLocked(db, "gina", "%"), false);
});
