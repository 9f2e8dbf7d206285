import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { generateAudit, utcLastSeen } from "../scripts/bench/gen_audit.ts";
import { cliCommand } from "./support/cli.ts";
import { readAccounts, type Sandbox, sandbox, settle } from "./support/conntrack.ts";
import { exists } from "./support/mariadb.ts";

function expected(truth: Map<string, number>): string[] {
  return [...truth].map(([k, wall]) => `${k.replace("\u0000", "|")}|${utcLastSeen(wall)}`).sort();
}

/** Generates a corpus into the sandbox's audit directory, settled (not being written). */
async function corpus(
  box: Sandbox,
  files: number,
  bytesPerFile: number,
  accounts: number,
  seed: number,
) {
  const gen = await generateAudit({ dir: box.auditDir, files, bytesPerFile, accounts, seed });
  await settle(box.auditDir);
  return gen;
}

function mergeTruth(a: Map<string, number>, b: Map<string, number>): Map<string, number> {
  const out = new Map(a);
  for (const [k, v] of b) if ((out.get(k) ?? -Infinity) < v) out.set(k, v);
  return out;
}

Deno.test("conntrack corpus: exact Accounts after a first run, and after rotation plus new lines", async () => {
  await using box = await sandbox();
  const gen = await corpus(box, 3, 1_500_000, 600, 7);
  const first = await box.run();
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, "");
  // The generator's hostile usernames are reported, never counted.
  assert.match(first.stderr, /server_audit\.log(\.\d)?:\d+: rejected: /);
  assert.doesNotMatch(first.stderr, /at .*\.ts:\d+/);
  const rows = box.accounts();
  assert.deepEqual(rows, expected(gen.truth));
  assert.ok(!rows.some((r) => r.startsWith("root|") || r.startsWith("admin|") || r.includes("\n")));

  // Rotate like the server (rename keeps the inode), then write a new live log.
  const base = `${box.auditDir}/server_audit.log`;
  await Deno.rename(`${base}.2`, `${base}.3`);
  await Deno.rename(`${base}.1`, `${base}.2`);
  await Deno.rename(base, `${base}.1`);
  const more = await generateAudit({
    dir: `${box.dir}/next`,
    files: 1,
    bytesPerFile: 400_000,
    accounts: 900,
    seed: 8,
    start: gen.next.wall,
    firstConnId: gen.next.connId,
  });
  await Deno.rename(more.paths[0], base);
  await settle(box.auditDir);
  const second = await box.run("-v");
  assert.equal(second.code, 0, second.stderr);
  // Only the new file is read: the rotated ones are recognised by inode.
  assert.match(second.stdout, /^conntrack: 1 of 4 audit files had new data, \d+ bytes read/);
  assert.deepEqual(box.accounts(), expected(mergeTruth(gen.truth, more.truth)));

  const third = await box.run("-v");
  assert.match(third.stdout, /^conntrack: 0 of 4 audit files had new data, 0 bytes read/);
});

Deno.test("conntrack corpus: a run killed with SIGKILL leaves nothing half-done; the next run is exact", async () => {
  await using box = await sandbox();
  const gen = await corpus(box, 4, 12_000_000, 3000, 9);
  const want = expected(gen.truth);
  const journal = `${box.sqlite}-journal`;

  /** Starts a run and SIGKILLs it as soon as `at()` holds; true if it died of that kill there. */
  async function killWhen(at: () => Promise<boolean>): Promise<boolean> {
    const child = new Deno.Command(Deno.execPath(), {
      args: cliCommand(["conntrack", "-c", box.ini], { read: [box.dir], write: [box.dir] }),
      stdout: "null",
      stderr: "null",
    }).spawn();
    let done = false;
    child.status.then(() => done = true);
    let reached = false;
    while (!done && !(reached = await at())) await new Promise((r) => setTimeout(r, 1));
    try {
      child.kill("SIGKILL");
    } catch { /* it had already finished */ }
    const killed = (await child.status).signal === "SIGKILL";
    return reached && killed;
  }

  /** All or nothing: either no rows yet, or exactly the right ones. */
  function assertWhole(when: string) {
    const rows = tryAccounts(box.sqlite);
    assert.ok(
      rows.length === 0 || JSON.stringify(rows) === JSON.stringify(want),
      `partial state after a kill ${when}: ${rows.length} rows`,
    );
  }

  // At start-up, before anything is written.
  assert.ok(await killWhen(() => Promise.resolve(true)), "the run finished before it was killed");
  if (await exists(box.sqlite)) assertWhole("at start-up");

  // In the middle of writing the rows: while SQLite's rollback journal exists. A run that
  // finishes before the journal is seen is undone and started again.
  let killedMidWrite = false;
  for (let attempt = 0; attempt < 5 && !killedMidWrite; attempt++) {
    killedMidWrite = await killWhen(() => exists(journal));
    if (killedMidWrite) {
      assert.ok(await exists(journal), "the killed run left no hot journal");
    } else {
      await Deno.remove(box.sqlite).catch(() => {});
    }
  }
  assert.ok(killedMidWrite, "no run was killed while its SQLite journal existed (5 attempts)");
  assertWhole("mid-write"); // opening the file rolls the hot journal back
  const r = await box.run();
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(box.accounts(), want);
});

Deno.test("conntrack corpus: two concurrent runs both succeed and the result is exact", async () => {
  await using box = await sandbox();
  const gen = await corpus(box, 2, 2_000_000, 500, 3);
  const [a, b] = await Promise.all([box.run("-v"), box.run("-v")]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  // One of them read everything, the other found nothing new after waiting for the lock.
  const read = [a.stdout, b.stdout].map((s) => /(\d+) bytes read/.exec(s)?.[1]).sort();
  assert.equal(read[0], "0", `${a.stdout}\n${b.stdout}`);
  assert.deepEqual(box.accounts(), expected(gen.truth));
});

Deno.test("conntrack: adopts a Go conntracker database (marker row removed, newer times kept)", async () => {
  await using box = await sandbox({ timeLocation: "Europe/Zurich" });
  const db = new DatabaseSync(box.sqlite);
  db.exec(
    "CREATE TABLE Accounts (name TEXT, host TEXT, last_seen TIMESTAMP, PRIMARY KEY (name, host))",
  );
  const insert = db.prepare("INSERT INTO Accounts VALUES (?, ?, ?)");
  insert.run("mysql", "localhost", "2024-10-14 13:22:57+02:00 CEST");
  insert.run("alice", "localhost", "2024-10-01 08:00:00+02:00 CEST");
  insert.run("carol", "%", "2030-01-01 00:00:00+01:00 CET");
  db.close();
  await Deno.writeTextFile(
    `${box.auditDir}/server_audit.log`,
    [
      "20241027 02:30:00,db1,alice,localhost,10,0,CONNECT,,,0",
      "20241027 02:10:00,db1,bob,localhost,11,0,CONNECT,,,0", // after the DST change: +01:00
      "20241027 02:20:00,db1,carol,%,12,0,CONNECT,,,0",
      "",
    ].join("\n"),
  );
  await settle(box.auditDir);
  const r = await box.run();
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(box.accounts(), [
    "alice|localhost|2024-10-27 02:30:00+02:00",
    "bob|localhost|2024-10-27 02:10:00+01:00",
    "carol|%|2030-01-01 00:00:00+01:00 CET",
  ]);
  // The Go tool's own query, through the real sqlite3 command.
  const out = await new Deno.Command("sqlite3", {
    args: [box.sqlite, "SELECT name, host, last_seen FROM Accounts ORDER BY name"],
    stdout: "piped",
  }).output();
  assert.equal(
    new TextDecoder().decode(out.stdout),
    "alice|localhost|2024-10-27 02:30:00+02:00\nbob|localhost|2024-10-27 02:10:00+01:00\ncarol|%|2030-01-01 00:00:00+01:00 CET\n",
  );
  // Once adopted, mysql@localhost is a real account like any other.
  await Deno.writeTextFile(
    `${box.auditDir}/server_audit.log`,
    "20241027 03:00:00,db1,mysql,localhost,13,0,CONNECT,,,0\n",
    { append: true },
  );
  await settle(box.auditDir);
  assert.equal((await box.run()).code, 0);
  assert.ok(readAccounts(box.sqlite).includes("mysql|localhost|2024-10-27 03:00:00+01:00"));
});

function tryAccounts(path: string): string[] {
  try {
    return readAccounts(path);
  } catch (err) {
    if (/no such table/.test(String(err))) return [];
    throw err;
  }
}
