/** conntrack as a drop-in for the Go conntracker: its files, its defaults, its command line. */
import assert from "node:assert/strict";
import { exists } from "./support/mariadb.ts";
import { runCli } from "./support/cli.ts";
import { sandbox, settle } from "./support/conntrack.ts";

const rec = (t: string, user: string, id: number) =>
  `20240301 ${t},db1,${user},10.0.0.1,${id},0,CONNECT,,,0\n`;

Deno.test("conntrack drop-in: audit logs under any name are found by content, rotations included", async () => {
  await using box = await sandbox();
  // server_audit_file_path = /var/log/mysql/audit.log, rotated twice; other files beside it.
  await Deno.writeTextFile(`${box.auditDir}/audit.log.2`, rec("08:00:00", "carol", 1));
  await Deno.writeTextFile(`${box.auditDir}/audit.log.1`, rec("09:00:00", "bob", 2));
  await Deno.writeTextFile(`${box.auditDir}/audit.log`, rec("10:00:00", "alice", 3));
  await Deno.writeFile(`${box.auditDir}/ibdata1`, new Uint8Array(4096).fill(7));
  await Deno.writeTextFile(`${box.auditDir}/README`, "20240301 not an audit log\n");
  await settle(box.auditDir);
  const r = await box.run("-v");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^conntrack: 3 of 3 audit files had new data/);
  assert.deepEqual(box.accounts(), [
    "alice|10.0.0.1|2024-03-01 10:00:00+00:00",
    "bob|10.0.0.1|2024-03-01 09:00:00+00:00",
    "carol|10.0.0.1|2024-03-01 08:00:00+00:00",
  ]);
});

Deno.test("conntrack drop-in: a directory without any audit log is an error (exit 1), not a quiet success", async () => {
  await using box = await sandbox();
  await Deno.writeTextFile(`${box.auditDir}/db1.err`, "2024-03-01 10:00:00 0 [Note] ready\n");
  await Deno.writeFile(`${box.auditDir}/ib_logfile0`, new Uint8Array(512));
  let r = await box.run();
  assert.equal(r.code, 1);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0],
    /no audit log in .*\/audit: none of its 2 files starts like a server_audit record .*set AuditLogPath/,
  );
  assert.equal(await exists(box.sqlite), false, "the database must not be created");

  // A name given in AuditFileName that matches nothing is the same error.
  await Deno.writeTextFile(box.ini, `AuditFileName=server_audit.log\n`, { append: true });
  r = await box.run();
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /no audit log in .*: no file named server_audit\.log or server_audit\.log\.N/,
  );

  // The live log just created by the server (still empty) is enough.
  await Deno.writeTextFile(`${box.auditDir}/server_audit.log`, "");
  r = await box.run("-v");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /0 of 1 audit files had new data/);
});

Deno.test("conntrack drop-in: TimeLocation left out means UTC, with a warning when the machine is not on UTC", async () => {
  await using box = await sandbox();
  await Deno.writeTextFile(
    box.ini,
    `[default]\nAuditLogPath=${box.auditDir}\nSqlitePath=${box.sqlite}\n`,
  );
  await Deno.writeTextFile(`${box.auditDir}/server_audit.log`, rec("10:00:00", "alice", 1));
  await settle(box.auditDir);
  const zurich = await box.runWith({ TZ: "Europe/Zurich" });
  assert.equal(zurich.code, 0, zurich.stderr);
  assert.match(
    zurich.stderr,
    /WARNING conntrack: TimeLocation is not set, so audit log times are read as UTC .* this machine's time zone is Europe\/Zurich: .*set TimeLocation = Europe\/Zurich/,
  );
  assert.deepEqual(box.accounts(), ["alice|10.0.0.1|2024-03-01 10:00:00+00:00"]);
  const utc = await box.runWith({ TZ: "UTC" });
  assert.equal(utc.code, 0);
  assert.equal(utc.stderr, "");
  // Set explicitly, the key silences the warning and is used.
  await Deno.writeTextFile(box.ini, "TimeLocation = Europe/Zurich\n", { append: true });
  await Deno.writeTextFile(
    `${box.auditDir}/server_audit.log`,
    rec("12:00:00", "alice", 2),
    { append: true },
  );
  await settle(box.auditDir);
  const set = await box.runWith({ TZ: "Asia/Tokyo" });
  assert.equal(set.stderr, "");
  assert.deepEqual(box.accounts(), ["alice|10.0.0.1|2024-03-01 12:00:00+01:00"]);
});

Deno.test("conntrack drop-in: the Go tool's -version and -help, with one dash or two", async () => {
  for (const flag of ["-version", "--version", "-version=true", "-version=1"]) {
    const r = await runCli(["conntrack", flag]);
    assert.equal(r.code, 0, `${flag}: ${r.stderr}`);
    assert.match(r.stdout, /^mysql_monitor_daemon \d+\.\d+\.\d+ \(deno /, flag);
  }
  let r = await runCli(["conntrack", "-version=maybe"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /invalid boolean value "maybe" for -version/);
  for (const flag of ["-help", "--help", "-h"]) {
    r = await runCli(["conntrack", flag]);
    assert.equal(r.code, 0, flag);
    assert.match(r.stdout, /^Usage: mysql_monitor_daemon conntrack /, flag);
  }
  // -version=false is no request for the version: the run goes on (and finds no ini here).
  await using box = await sandbox();
  r = await runCli(["conntrack", "-version=false", "-config", `${box.dir}/none.ini`], {
    read: [box.dir],
  });
  assert.equal(r.code, 78);
  assert.match(r.stderr, /none\.ini: cannot read configuration: not found/);
});

Deno.test("conntrack drop-in: two logs in one directory are not read as rotations of each other", async () => {
  await using box = await sandbox();
  // Another server's old rotation and this server's live log (listed in that order): different
  // logs, each with its own connection ids (the same id in both is no forgery).
  await Deno.writeTextFile(
    `${box.auditDir}/db2_audit.log.1`,
    rec("10:00:00", "carol", 4).replaceAll("db1", "db2") +
      rec("10:00:00", "alice", 5).replaceAll("db1", "db2"),
  );
  await Deno.writeTextFile(
    `${box.auditDir}/server_audit.log`,
    rec("10:00:01", "bob", 5) + rec("10:00:02", "dave", 6),
  );
  await settle(box.auditDir);
  const r = await box.run("-v");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /2 of 2 audit files had new data.* 0 lines rejected/, r.stdout);
  assert.deepEqual(box.accounts().map((a) => a.split("|")[0]), ["alice", "bob", "carol", "dave"]);
});
