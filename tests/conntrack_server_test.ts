import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import { MariaDB } from "./support/mariadb.ts";
import { sandbox, settle } from "./support/conntrack.ts";
import { DatabaseSync } from "node:sqlite";

/** Tries to log in and returns whether it worked. */
async function login(db: MariaDB, user: string, password: string, tcp: boolean): Promise<boolean> {
  try {
    const c = await mysql.createConnection({ ...db.connectionOptions(user, password, tcp) });
    await c.query("SELECT 'a,CONNECT,b', 1");
    await c.end();
    return true;
  } catch {
    return false;
  }
}

Deno.test("conntrack against a real MariaDB: real, failed and hostile logins; rotation between runs", async () => {
  await using db = await MariaDB.start({ audit: { rotations: 12 } });
  const auditDir = db.auditLog!.replace(/\/[^/]*$/, "");
  await using box = await sandbox({ auditDir });
  await db.query("CREATE USER 'alice'@'%' IDENTIFIED BY 'pw'");
  await db.query("CREATE USER 'bob'@'localhost' IDENTIFIED BY 'pw'");
  await db.query("CREATE USER 'we,ird'@'%' IDENTIFIED BY 'pw'");
  assert.ok(await login(db, "alice", "pw", true));
  assert.ok(await login(db, "bob", "pw", false));
  assert.ok(await login(db, "we,ird", "pw", true));
  // Failed and hostile logins: a username can carry whole forged records.
  const forged = (who: string) =>
    `x\n20240101 00:00:00,${"srv"},${who},localhost,99,0,CONNECT,,,0\nzz`;
  assert.ok(!(await login(db, "alice", "wrong", true)));
  assert.ok(!(await login(db, forged("root"), "pw", true)));
  assert.ok(!(await login(db, "mallory,localhost,5,0,CONNECT,,,0", "pw", true)));
  assert.ok(!(await login(db, "q'uo\"te", "pw", false)));
  const host = (await db.query<{ h: string }>("SELECT @@hostname AS h"))[0].h;
  assert.ok(
    !(await login(
      db,
      `a\n${today()},${host},carol,localhost,98,0,CONNECT,,,0\n${today()},${host},b`,
      "pw",
      true,
    )),
  );
  await settle(auditDir);
  const log = await Deno.readTextFile(db.auditLog!);

  const first = await box.run();
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, "");
  const names = (rows: string[]) => rows.map((r) => r.split("|").slice(0, 2).join("|"));
  assert.deepEqual(names(box.accounts()), [
    "alice|localhost",
    "bob|localhost",
    "root|localhost",
    "we,ird|localhost",
  ]);
  // Every last_seen is a real CONNECT time of this run's log, in the configured zone (UTC).
  for (const row of box.accounts()) {
    const [, , seen] = row.split("|");
    assert.match(seen, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00:00$/);
    assert.ok(log.includes(seen.slice(0, 19).replaceAll("-", "").replace(/^(\d{8}) /, "$1 ")));
  }
  assert.match(first.stderr, /rejected: /);
  assert.doesNotMatch(first.stderr, /^\s+at /m);
  const events = new DatabaseSync(box.sqlite, { readOnly: true });
  const failed = events.prepare(
    "SELECT kind, name, last_retcode FROM conntrack_events ORDER BY name",
  ).all()
    .map((r) => `${r.kind}|${r.name}|${r.last_retcode}`);
  events.close();
  assert.ok(failed.includes("failed|alice|1045"), failed.join("\n"));
  assert.ok(failed.includes(`failed|q'uo"te|1045`), failed.join("\n"));
  assert.ok(failed.includes(`multiline|${forged("root")}|1045`), failed.join("\n"));

  // Rotate, log in again (bob over TCP now), rotate once more: the next run reads .01 and .02.
  const before = Object.fromEntries(
    box.accounts().map((r) => [r.split("|").slice(0, 2).join("|"), r]),
  );
  await db.query("SET GLOBAL server_audit_file_rotate_now = ON");
  await new Promise((r) => setTimeout(r, 1100));
  assert.ok(await login(db, "bob", "pw", true));
  await db.query("SET GLOBAL server_audit_file_rotate_now = ON");
  assert.ok((await Deno.stat(`${db.auditLog}.02`)).isFile, "zero-padded rotation names expected");
  await settle(auditDir);
  const second = await box.run("-v");
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /^conntrack: [12] of 3 audit files had new data/);
  const after = Object.fromEntries(
    box.accounts().map((r) => [r.split("|").slice(0, 2).join("|"), r]),
  );
  assert.equal(after["alice|localhost"], before["alice|localhost"]);
  assert.ok(
    after["bob|localhost"] > before["bob|localhost"],
    `${after["bob|localhost"]} vs ${before["bob|localhost"]}`,
  );
  assert.equal(Object.keys(after).length, 4);
});

function today(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())} ${p(d.getHours())}:${
    p(d.getMinutes())
  }:${p(d.getSeconds())}`;
}
