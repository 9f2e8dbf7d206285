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

  const first = await box.run();
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, "");
  // Exactly the real accounts, each with the time of its last CONNECT line written by the
  // server (the server's clock is UTC here, as is TimeLocation).
  const real = ["alice", "bob", "root", "we,ird"];
  assert.deepEqual(box.accounts(), await expectedAccounts(auditDir, host, real));
  assert.deepEqual(box.accounts().map((r) => r.split("|")[0]), real);
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
  const before = box.accounts();
  await db.query("SET GLOBAL server_audit_file_rotate_now = ON");
  await new Promise((r) => setTimeout(r, 1100));
  assert.ok(await login(db, "bob", "pw", true));
  await db.query("SET GLOBAL server_audit_file_rotate_now = ON");
  assert.ok((await Deno.stat(`${db.auditLog}.02`)).isFile, "zero-padded rotation names expected");
  await settle(auditDir);
  const second = await box.run("-v");
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /^conntrack: [12] of 3 audit files had new data/);
  const after = box.accounts();
  assert.deepEqual(after, await expectedAccounts(auditDir, host, real));
  assert.equal(after[0], before[0], "alice did not log in again");
  assert.ok(after[1] > before[1], `bob: ${after[1]} vs ${before[1]}`);
});

/**
 * `name|host|last_seen` rows expected for `users`, from the server's own CONNECT lines in every
 * audit file (each line read as a whole record: these users have no commas after the name).
 */
async function expectedAccounts(dir: string, host: string, users: string[]): Promise<string[]> {
  const latest = new Map<string, string>();
  for await (const e of Deno.readDir(dir)) {
    const text = await Deno.readTextFile(`${dir}/${e.name}`);
    for (const line of text.split("\n")) {
      for (const user of users) {
        const prefix = `,${host},${user},localhost,`;
        const m = /^(\d{4})(\d\d)(\d\d) (\d\d:\d\d:\d\d),/.exec(line);
        if (m && line.startsWith(prefix, 17) && /,\d+,0,CONNECT,[^,]*,[^,]*,0$/.test(line)) {
          const seen = `${m[1]}-${m[2]}-${m[3]} ${m[4]}+00:00`;
          if ((latest.get(user) ?? "") < seen) latest.set(user, seen);
        }
      }
    }
  }
  return [...latest].map(([user, seen]) => `${user}|localhost|${seen}`).sort();
}

function today(): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())} ${p(d.getHours())}:${
    p(d.getMinutes())
  }:${p(d.getSeconds())}`;
}
