/**
 * Forged records against a real MariaDB with server_audit: each class of forgery is sent the
 * only way an attacker can, as the username of a login attempt, and conntrack must neither
 * record a login that did not happen nor lose one that did.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import mysql from "mysql2/promise";
import { Findings, scanFile } from "../src/conntrack/scan.ts";
import { MariaDB } from "./support/mariadb.ts";
import { type Sandbox, sandbox, settle } from "./support/conntrack.ts";

/** Tries to log in (and run a query) and returns whether it worked. */
async function login(db: MariaDB, user: string, password: string, tcp = true): Promise<boolean> {
  try {
    const c = await mysql.createConnection(db.connectionOptions(user, password, tcp));
    await c.query("SELECT 1");
    await c.end();
    return true;
  } catch {
    return false;
  }
}

/** The server's wall clock as server_audit writes it (local time of this machine). */
function auditNow(offsetMs = 0): string {
  const d = new Date(Date.now() + offsetMs);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())} ${p(d.getHours())}:${
    p(d.getMinutes())
  }:${p(d.getSeconds())}`;
}

async function serverHost(db: MariaDB): Promise<string> {
  return (await db.query<{ h: string }>("SELECT @@hostname AS h"))[0].h;
}

async function connectionId(db: MariaDB): Promise<number> {
  return Number((await db.query<{ id: number }>("SELECT CONNECTION_ID() AS id"))[0].id);
}

/**
 * The latest CONNECT time the server wrote for `user`, as stored: lines read as whole records,
 * dated up to now (a forged line dated later is not the server's).
 */
async function lastConnect(dir: string, user: string): Promise<string | undefined> {
  const now = auditNow().replace(/^(\d{4})(\d\d)(\d\d) /, "$1-$2-$3 ") + "+00:00";
  let latest: string | undefined;
  for await (const e of Deno.readDir(dir)) {
    for (const line of (await Deno.readTextFile(`${dir}/${e.name}`)).split("\n")) {
      const m =
        /^(\d{4})(\d\d)(\d\d) (\d\d:\d\d:\d\d),[^,]*,([^,]*),[^,]*,\d+,0,CONNECT,[^,]*,[^,]*,0$/
          .exec(line);
      if (m && m[5] === user) {
        const seen = `${m[1]}-${m[2]}-${m[3]} ${m[4]}+00:00`;
        if (seen <= now && (!latest || seen > latest)) latest = seen;
      }
    }
  }
  return latest;
}

/** Waits (up to 30 s) until `path` holds at least `count` matches of `re` (a /g pattern). */
async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

async function untilWritten(path: string, re: RegExp, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (((await Deno.readTextFile(path)).match(re)?.length ?? 0) < count) {
    assert.ok(Date.now() < deadline, `${path}: fewer than ${count} matches of ${re}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function run(box: Sandbox, auditDir: string) {
  await settle(auditDir);
  const r = await box.run("-v");
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
  return r;
}

const names = (box: Sandbox) => box.accounts().map((a) => a.split("|")[0]);

Deno.test("forgery on a real server: a record dated 2099 hides no later login; a username over three lines forges no failed login", async () => {
  await using db = await MariaDB.start({ audit: { events: "CONNECT" } });
  const auditDir = db.auditLog!.replace(/\/[^/]*$/, "");
  await using box = await sandbox({ auditDir });
  await db.query("CREATE USER 'alice'@'%' IDENTIFIED BY 'pw'");
  const host = await serverHost(db);
  for (let i = 0; i < 4; i++) assert.ok(await login(db, "alice", "pw"));
  // A forged record dated 2099 inside a username, and a whole forged line dated 2099.
  assert.ok(
    !await login(db, `x\n20991231 23:59:59,${host},root,localhost,77,0,CONNECT,,,0\nzz`, "pw"),
  );
  assert.ok(
    !await login(
      db,
      `a,localhost,1,0,CHANGEUSER,,,0\n20991231 23:59:59,${host},eve,localhost,78,0,CONNECT,,,0`,
      "pw",
    ),
  );
  // A failed login of alice, backdated, forged over three lines.
  assert.ok(!await login(db, `x\nyy\n${auditNow(-30_000)},${host},alice`, "pw"));
  await new Promise((r) => setTimeout(r, 1100));
  for (let i = 0; i < 4; i++) assert.ok(await login(db, "alice", "pw"));
  // The server writes a DISCONNECT after the client has gone: wait for all eight, so that no
  // write lands after settle() and makes the log look live (its end would be held back).
  await untilWritten(db.auditLog!, /,alice,[^,]*,\d+,\d+,DISCONNECT,/g, 8);

  const r = await run(box, auditDir);
  assert.deepEqual(box.accounts(), [
    `alice|localhost|${await lastConnect(auditDir, "alice")}`,
    `root|localhost|${await lastConnect(auditDir, "root")}`,
  ]);
  assert.ok(!names(box).includes("eve"));
  assert.match(r.stderr, /rejected: /);
  const events = new DatabaseSync(box.sqlite, { readOnly: true });
  const failed = events.prepare("SELECT name FROM conntrack_events WHERE kind = 'failed'").all()
    .map((row) => String(row.name));
  events.close();
  assert.ok(!failed.includes("alice"), failed.join("\n"));
  assert.match(r.stderr, /inside a record whose username spans lines/);
});

Deno.test("forgery on a real server: a forged login whose second copy lands in the next file after rotation", async () => {
  await using db = await MariaDB.start({ audit: { events: "CONNECT", rotations: 5 } });
  const auditDir = db.auditLog!.replace(/\/[^/]*$/, "");
  await using box = await sandbox({ auditDir });
  await db.query("CREATE USER 'alice'@'%' IDENTIFIED BY 'pw'");
  const host = await serverHost(db);
  for (let i = 0; i < 5; i++) assert.ok(await login(db, "alice", "pw"));
  // The server writes a DISCONNECT after the client has gone: wait for all five, so that the
  // next record written is the forged login's.
  await untilWritten(db.auditLog!, /,alice,[^,]*,\d+,\d+,DISCONNECT,/g, 5);
  // Rotate right after the next record: the login record stays in this file, its DISCONNECT
  // (the username's second copy) opens the next one.
  const size = (await Deno.stat(db.auditLog!)).size;
  await db.query(`SET GLOBAL server_audit_file_rotate_size = ${size + 1}`);
  const forgedId = await connectionId(db) + 50; // in sequence, used by no real login here
  const t = auditNow();
  const user = `a,localhost,1,0,CHANGEUSER,,,0\n${t},${host},mallory,localhost,${forgedId},0,` +
    `CONNECT,,,0\n${t},${host},y`;
  assert.ok(!await login(db, user, "pw"));
  // The DISCONNECT comes after the client has gone; raise the limit again only once it has
  // rotated the file, or a quick SET would keep it from rotating at all.
  const older = `${db.auditLog}.1`;
  const deadline = Date.now() + 30_000;
  while (!await exists(older)) {
    assert.ok(Date.now() < deadline, `${older} never appeared: the server did not rotate`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await db.query("SET GLOBAL server_audit_file_rotate_size = 1000000000");
  for (let i = 0; i < 5; i++) assert.ok(await login(db, "alice", "pw"));
  assert.match(await Deno.readTextFile(older), /,FAILED_CONNECT,,,1045\n$/);
  assert.match(await Deno.readTextFile(db.auditLog!), /^[^\n]*\n[^\n]*\n[^\n]*,DISCONNECT,,,0\n/);
  // Read alone, the older file's copy looks like a real login: the boundary matters.
  const alone = new Findings();
  scanFile({
    path: older,
    start: 0,
    end: (await Deno.stat(older)).size,
    zone: "UTC",
  }, alone);
  assert.ok([...alone.logins.values()].some(([u]) => u === "mallory"));

  const r = await run(box, auditDir);
  assert.deepEqual(names(box), ["alice", "root"], r.stderr);
  assert.match(r.stderr, /server_audit\.log\.1:\d+: rejected: .*appears twice/);
});

Deno.test("forgery on a real server: a forged login amid a flood of logins is still caught by its copy", async () => {
  await using db = await MariaDB.start({ audit: { events: "CONNECT" } });
  const auditDir = db.auditLog!.replace(/\/[^/]*$/, "");
  await using box = await sandbox({ auditDir });
  await db.query("CREATE USER 'alice'@'%' IDENTIFIED BY 'pw'");
  const host = await serverHost(db);
  const forgedId = await connectionId(db) + 400;
  const user = (t: string) =>
    `a,localhost,1,0,CHANGEUSER,,,0\n${t},${host},mallory,localhost,${forgedId},0,CONNECT,,,0\n` +
    `${t},${host},y`;
  // 300 failed logins in parallel, the forged one (dated 30 s back) in the middle of them.
  const flood: Promise<boolean>[] = [];
  for (let i = 0; i < 300; i++) {
    flood.push(login(db, `flood${i}`, "x"));
    if (i === 150) flood.push(login(db, user(auditNow(-30_000)), "pw"));
    if (i % 20 === 0) await Promise.all(flood.splice(0));
  }
  await Promise.all(flood);
  for (let i = 0; i < 3; i++) assert.ok(await login(db, "alice", "pw"));
  // Every DISCONNECT written before conntrack runs (see the first test).
  await untilWritten(db.auditLog!, /,flood\d+,[^,]*,\d+,\d+,DISCONNECT,/g, 300);
  await untilWritten(db.auditLog!, /,alice,[^,]*,\d+,\d+,DISCONNECT,/g, 3);
  const r = await run(box, auditDir);
  assert.deepEqual(names(box), ["alice", "root"], r.stderr);
  assert.match(r.stderr, /appears twice/);
});

Deno.test("forgery on a real server: an anonymous account lets a username be a whole login record; its id is out of sequence", async () => {
  await using db = await MariaDB.start({ audit: { events: "CONNECT" } });
  const auditDir = db.auditLog!.replace(/\/[^/]*$/, "");
  await using box = await sandbox({ auditDir });
  // Over TCP from 127.0.0.1 any name logs in as the anonymous account; alice uses the socket.
  await db.query("CREATE USER ''@'127.0.0.1' IDENTIFIED BY 'anon'");
  await db.query("CREATE USER 'alice'@'localhost' IDENTIFIED BY 'pw'");
  const host = await serverHost(db);
  for (let i = 0; i < 20; i++) assert.ok(await login(db, "alice", "pw", false));
  // Logged in and left idle: the username is written once (its DISCONNECT comes later).
  const anonymous = await mysql.createConnection(
    db.connectionOptions(
      `backdoor,localhost,99999999,0,CONNECT,,,0\n${auditNow()},${host},admin`,
      "anon",
      true,
    ),
  );
  try {
    for (let i = 0; i < 20; i++) assert.ok(await login(db, "alice", "pw", false));
    await untilWritten(db.auditLog!, /,alice,[^,]*,\d+,\d+,DISCONNECT,/g, 40);
    const text = await Deno.readTextFile(db.auditLog!);
    assert.match(
      text,
      /\n[^\n]*,backdoor,localhost,99999999,0,CONNECT,,,0\n[^\n]*,admin,[^,]*,\d+,0,CONNECT,,,0\n/,
    );
    const r = await run(box, auditDir);
    assert.deepEqual(names(box), ["alice", "root"], r.stderr);
    assert.deepEqual(
      box.accounts().filter((a) => a.startsWith("root|")).map((a) => a.split("|")[1]),
      ["localhost"],
      "only the real root connection of the test harness",
    );
    assert.match(r.stderr, /connection id 99999999 is out of sequence/);
  } finally {
    await anonymous.end();
  }
});
