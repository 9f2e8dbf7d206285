import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { MAX_OTHER_KEYS } from "../src/conntrack/scan.ts";
import { runCli } from "./support/cli.ts";
import { sandbox, settle } from "./support/conntrack.ts";

const line = (t: string, user: string, id: number, op = "CONNECT", rc = 0) =>
  `2024${t},db1,${user},10.0.0.1,${id},0,${op},,,${rc}\n`;

function assertOneLineError(stderr: string, pattern: RegExp) {
  const lines = stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, stderr);
  assert.match(lines[0], pattern);
}

Deno.test("conntrack cli: configuration errors exit 78 with file:line, runtime errors exit 1", async () => {
  await using box = await sandbox();
  await Deno.writeTextFile(box.ini, `[default]\nAuditLogPath=${box.auditDir}\nSqlitPath=/x\n`);
  let r = await box.run();
  assert.equal(r.code, 78);
  assertOneLineError(
    r.stderr,
    /conntracker\.ini:3: unknown key "SqlitPath" \(did you mean "SqlitePath"\?\)$/,
  );

  r = await runCli(["conntrack", "-c", `${box.dir}/missing.ini`], { read: [box.dir] });
  assert.equal(r.code, 78);
  assertOneLineError(r.stderr, /missing\.ini: cannot read configuration: not found/);

  await Deno.writeTextFile(
    box.ini,
    `[default]\nAuditLogPath=${box.dir}/nope\nSqlitePath=${box.sqlite}\n`,
  );
  r = await box.run();
  assert.equal(r.code, 1);
  assertOneLineError(r.stderr, /AuditLogPath .*\/nope: No such file/);
  assert.equal(r.stdout, "");
});

Deno.test("conntrack cli: AuditLogPath may name the live file; a partial last line waits for the next run", async () => {
  await using box = await sandbox();
  const live = `${box.auditDir}/audit.log`;
  await Deno.writeTextFile(
    live,
    line("0301 10:00:00", "alice", 1) + "20240301 10:00:01,db1,bob,10.0.0.1,2,0,CONN",
  );
  await Deno.writeTextFile(`${box.auditDir}/server_audit.log`, line("0301 09:00:00", "ignored", 9));
  await Deno.writeTextFile(
    box.ini,
    `[default]\nAuditLogPath=${live}\nSqlitePath=${box.sqlite}\nTimeLocation=UTC\n`,
  );
  await settle(box.auditDir);
  let r = await box.run("-v");
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(box.accounts(), ["alice|10.0.0.1|2024-03-01 10:00:00+00:00"]);
  await Deno.writeTextFile(live, "ECT,,,0\n", { append: true });
  await settle(box.auditDir);
  r = await box.run("-v");
  assert.match(r.stdout, /1 of 1 audit files had new data, 51 bytes read/);
  assert.deepEqual(box.accounts(), [
    "alice|10.0.0.1|2024-03-01 10:00:00+00:00",
    "bob|10.0.0.1|2024-03-01 10:00:01+00:00",
  ]);
});

Deno.test("conntrack cli: a live log still being written keeps its last bytes for the next run", async () => {
  await using box = await sandbox();
  const live = `${box.auditDir}/server_audit.log`;
  await Deno.writeTextFile(live, line("0301 10:00:00", "alice", 1));
  // Written "just now" however long the run takes to start: an mtime in the future is within
  // any settle time, so the outcome does not depend on the machine's speed.
  const soon = new Date(Date.now() + 3_600_000);
  await Deno.utime(live, soon, soon);
  let r = await box.run("-v");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /0 bytes read, 53 bytes of the live log left for the next run/);
  assert.deepEqual(box.accounts(), []);
  await settle(box.auditDir);
  r = await box.run();
  assert.deepEqual(box.accounts(), ["alice|10.0.0.1|2024-03-01 10:00:00+00:00"]);
});

Deno.test("conntrack cli: truncation and rotated-away files are reported; the truncated file is read again", async () => {
  await using box = await sandbox();
  const live = `${box.auditDir}/server_audit.log`;
  await Deno.writeTextFile(
    live,
    line("0301 10:00:00", "alice", 1) + line("0301 10:00:05", "bob", 2),
  );
  await settle(box.auditDir);
  assert.equal((await box.run()).code, 0);

  // Truncated and rewritten in place (same inode, other content).
  await Deno.writeTextFile(live, line("0301 11:00:00", "carol", 3));
  await settle(box.auditDir);
  let r = await box.run();
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /server_audit\.log was truncated since the last run; reading it again/);
  // bob's line was read, but nothing says the file had not grown before it was truncated.
  assert.match(
    r.stderr,
    /data may have been lost: .*server_audit\.log \(inode \d+\) was truncated or replaced/,
  );
  assert.deepEqual(box.accounts(), [
    "alice|10.0.0.1|2024-03-01 10:00:00+00:00",
    "bob|10.0.0.1|2024-03-01 10:00:05+00:00",
    "carol|10.0.0.1|2024-03-01 11:00:00+00:00",
  ]);

  // The live log went through every rotation slot before this run: its inode is gone.
  await Deno.remove(live);
  await Deno.writeTextFile(`${live}.1`, line("0301 13:00:00", "dave", 40));
  await Deno.writeTextFile(live, line("0301 14:00:00", "erin", 41));
  await settle(box.auditDir);
  r = await box.run();
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /data may have been lost: .*server_audit\.log \(inode \d+\) was (rotated away|truncated or replaced) before it was read to its end \(read up to byte 53, last record "2024-03-01 11:00:00\+00:00"\); nothing was read between then and "2024-03-01 13:00:00\+00:00 in .*server_audit\.log\.1"/,
  );
  assert.equal(box.accounts().length, 5);
});

Deno.test("conntrack cli: a forged login cut off from its twin record by the hold-back is not counted", async () => {
  await using box = await sandbox();
  const live = `${box.auditDir}/server_audit.log`;
  const t = "20240301 10:00:01";
  const user =
    `a,localhost,1,0,DISCONNECT,,,0\n${t},db1,mallory,localhost,55,0,CONNECT,,,0\n${t},db1,y`;
  const head = line("0301 10:00:00", "alice", 1) +
    "20240301 10:00:00,db1,alice,10.0.0.1,1,2,QUERY,,'SELECT 1',0\n".repeat(3000);
  const failed = `${t},db1,${user},localhost,10,0,FAILED_CONNECT,,,1045\n`;
  const twin = `${t},db1,${user},localhost,10,0,DISCONNECT,,,0\n`;
  // The hold-back cut (64 KiB before the end) falls between the two records of the attempt.
  const filler = "20240301 10:00:02,db1,bob,10.0.0.1,3,4,QUERY,,'SELECT 2',0\n".repeat(
    Math.ceil((65536 - twin.length + 10) / 59),
  );
  await Deno.writeTextFile(live, head + failed + twin + filler);
  let r = await box.run("-v");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /bytes of the live log left for the next run/);
  assert.deepEqual(box.accounts(), ["alice|10.0.0.1|2024-03-01 10:00:00+00:00"]);
  await settle(box.auditDir);
  r = await box.run();
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(box.accounts(), ["alice|10.0.0.1|2024-03-01 10:00:00+00:00"]);
  assert.match(r.stderr, /appears twice \(text inside a username\)/);
  assert.match(
    r.stderr,
    /rejected: .*: "20240301 10:00:01,db1,mallory,localhost,55,0,CONNECT,,,0"/,
  );
});

Deno.test("conntrack cli: a path outside the permission set is a runtime error that says so", async () => {
  await using box = await sandbox();
  const r = await runCli(["conntrack", "-c", box.ini]);
  assert.equal(r.code, 1);
  assertOneLineError(
    r.stderr,
    /Requires read access to .*conntracker\.ini.*permission set does not cover this path/,
  );
});

Deno.test("conntrack cli: an over-long line and binary garbage are skipped, the logins around them count", async () => {
  await using box = await sandbox();
  const garbage = new Uint8Array(3 << 20).map((_, i) => i % 200 + 11 + (i % 7 === 0 ? 40 : 0)); // no newline
  const enc = new TextEncoder();
  const parts = [
    enc.encode(line("0301 10:00:00", "alice", 1)),
    garbage,
    enc.encode("\n"),
    enc.encode(line("0301 10:00:01", "bob", 2)),
  ];
  await Deno.writeFile(
    `${box.auditDir}/server_audit.log`,
    new Uint8Array(await new Blob(parts).arrayBuffer()),
  );
  await settle(box.auditDir);
  const r = await box.run("-v");
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /server_audit\.log:2: rejected: "line longer than 1048576 bytes at byte 53 skipped"/,
  );
  assert.match(r.stdout, /1 lines rejected, 1 malformed/);
  assert.deepEqual(box.accounts(), [
    "alice|10.0.0.1|2024-03-01 10:00:00+00:00",
    "bob|10.0.0.1|2024-03-01 10:00:01+00:00",
  ]);
});

Deno.test("conntrack cli: a run with nothing new leaves the database file untouched", async () => {
  await using box = await sandbox();
  await Deno.writeTextFile(`${box.auditDir}/server_audit.log`, line("0301 10:00:00", "alice", 1));
  await settle(box.auditDir);
  assert.equal((await box.run()).code, 0);
  const before = await Deno.readFile(box.sqlite);
  const past = new Date(Date.now() - 3_600_000);
  await Deno.utime(box.sqlite, past, past);
  const r = await box.run("-v");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /0 of 1 audit files had new data/);
  assert.deepEqual(await Deno.readFile(box.sqlite), before);
  assert.equal((await Deno.stat(box.sqlite)).mtime?.getTime(), past.getTime());
  // New data is committed as before.
  await Deno.writeTextFile(
    `${box.auditDir}/server_audit.log`,
    line("0301 11:00:00", "alice", 2),
    { append: true },
  );
  await settle(box.auditDir);
  assert.equal((await box.run()).code, 0);
  assert.deepEqual(box.accounts(), ["alice|10.0.0.1|2024-03-01 11:00:00+00:00"]);
});

Deno.test("conntrack cli: a flood of made-up failed-login names is bounded, counted and reported", async () => {
  await using box = await sandbox();
  const lines: string[] = [];
  for (let i = 0; i < MAX_OTHER_KEYS + 10; i++) {
    const t = `0301 1${Math.floor(i / 3600)}:${String(Math.floor(i / 60) % 60).padStart(2, "0")}:${
      String(i % 60).padStart(2, "0")
    }`;
    lines.push(line(t, `made${i}`, i + 1, "FAILED_CONNECT", 1045));
    lines.push(line(t, `made${i}`, i + 1, "DISCONNECT"));
  }
  await Deno.writeTextFile(`${box.auditDir}/server_audit.log`, lines.join(""));
  await settle(box.auditDir);
  const r = await box.run();
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stderr,
    /WARNING conntrack: 10 failed or other login events were counted but not stored: this run saw more than 20000 distinct/,
  );
  const db = new DatabaseSync(box.sqlite, { readOnly: true });
  const { n } = db.prepare("SELECT count(*) AS n FROM conntrack_events").get() as { n: number };
  db.close();
  assert.equal(n, MAX_OTHER_KEYS);
});
