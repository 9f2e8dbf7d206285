import assert from "node:assert/strict";
import { MariaDB, processExists, withMariaDB } from "./mariadb.ts";
import { moduleRef, startScript } from "./child_script.ts";

async function gone(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return false;
  } catch (err) {
    return err instanceof Deno.errors.NotFound;
  }
}

Deno.test("harness: server starts on its own socket and port, answers, and is gone after stop", async () => {
  const db = await MariaDB.start();
  const pid = db.pid;
  const dir = db.dir;
  try {
    const [row] = await db.query<{ v: string }>("SELECT VERSION() AS v");
    assert.match(row.v, /MariaDB/);
    const [port] = await db.query<{ p: number }>("SELECT @@port AS p");
    assert.equal(Number(port.p), db.port);
    const [sock] = await db.query<{ s: string }>("SELECT @@socket AS s");
    assert.equal(sock.s, db.socket);
    // TCP works too.
    const tcp = await db.connect("root", "", true);
    const [rows] = await tcp.query("SELECT 1 AS one");
    assert.deepEqual(rows, [{ one: 1 }]);
    await tcp.end();
    assert.ok(await processExists(pid));
  } finally {
    await db.stop();
  }
  assert.equal(await processExists(pid), false, "mariadbd still running after stop()");
  assert.ok(await gone(dir), "server directory left behind");
});

Deno.test("harness: audit plugin writes CONNECT records to the given log", async () => {
  await withMariaDB({ audit: {} }, async (db) => {
    assert.ok(db.auditLog);
    await db.query("CREATE USER 'alice'@'localhost' IDENTIFIED BY 'pw'");
    const c = await db.connect("alice", "pw");
    await c.end();
    await assert.rejects(db.connect("alice", "wrong"));
    // The plugin writes synchronously, but give the server a moment to log the DISCONNECT.
    let text = "";
    for (let i = 0; i < 50 && !/,alice,localhost,\d+,\d+,DISCONNECT,/.test(text); i++) {
      await new Promise((r) => setTimeout(r, 100));
      text = await Deno.readTextFile(db.auditLog);
    }
    assert.match(text, /^\d{8} \d\d:\d\d:\d\d,[^,]+,alice,localhost,\d+,0,CONNECT,,,0$/m);
    assert.match(text, /,alice,localhost,\d+,0,FAILED_CONNECT,,,1045$/m);
    assert.match(text, /,alice,localhost,\d+,0,DISCONNECT,,,0$/m);
  });
});

Deno.test("harness: two servers run side by side without seeing each other", async () => {
  await using a = await MariaDB.start();
  await using b = await MariaDB.start();
  assert.notEqual(a.port, b.port);
  assert.notEqual(a.socket, b.socket);
  await a.query("CREATE DATABASE only_in_a");
  const inA = await a.query("SHOW DATABASES LIKE 'only_in_a'");
  const inB = await b.query("SHOW DATABASES LIKE 'only_in_a'");
  assert.equal(inA.length, 1);
  assert.equal(inB.length, 0);
});

Deno.test("harness: a failing test body still stops the server", async () => {
  let pid = 0;
  let dir = "";
  await assert.rejects(
    withMariaDB({}, (db) => {
      pid = db.pid;
      dir = db.dir;
      throw new Error("test body failed");
    }),
    /test body failed/,
  );
  assert.ok(pid > 0);
  assert.equal(await processExists(pid), false);
  assert.ok(await gone(dir));
});

Deno.test("harness: a killed test process does not leave its server behind", async () => {
  // A child Deno process starts a server, reports it, and is then killed with SIGKILL, so no
  // finally block runs. The guard must stop the server and remove its directory.
  const child = await startScript(`
    import { MariaDB } from ${moduleRef("./mariadb.ts", import.meta.url)};
    const db = await MariaDB.start();
    console.log(JSON.stringify({ pid: db.pid, dir: db.dir }));
    await new Promise(() => {});
  `);
  const info = JSON.parse(child.firstLine) as { pid: number; dir: string };
  assert.ok(await processExists(info.pid));
  await child.kill();
  let stopped = false;
  for (let i = 0; i < 300 && !stopped; i++) {
    await new Promise((r) => setTimeout(r, 100));
    stopped = !(await processExists(info.pid)) && (await gone(info.dir));
  }
  assert.ok(stopped, `server ${info.pid} or ${info.dir} still present 30 s after its test died`);
});
