import assert from "node:assert/strict";
import {
  type AuditFile,
  discoverAuditFiles,
  fingerprintOf,
  isRecordHead,
  lostFiles,
  planFile,
} from "./files.ts";
import type { Checkpoint } from "./store.ts";
import { inTempDir } from "../util/temp_testing.ts";

Deno.test("files: only the log and its numbered rotations (any padding), oldest first", async () => {
  await inTempDir(async (dir) => {
    for (
      const name of [
        "server_audit.log",
        "server_audit.log.01",
        "server_audit.log.10",
        "server_audit.log.2",
        "ib_logfile0",
        "server_audit.log.bak",
        "server_audit.log.0",
        "audit.sqlite",
      ]
    ) {
      await Deno.writeTextFile(`${dir}/${name}`, "x\n");
    }
    await Deno.symlink(`${dir}/ib_logfile0`, `${dir}/server_audit.log.3`);
    const names = discoverAuditFiles(dir, "server_audit.log").files.map((f) =>
      f.path.slice(dir.length + 1)
    );
    assert.deepEqual(names, [
      "server_audit.log.10",
      "server_audit.log.2",
      "server_audit.log.01",
      "server_audit.log",
    ]);
  });
});

Deno.test("files: without a name, audit logs are recognised by their first record, in rotation order", async () => {
  const dir = await Deno.makeTempDir();
  const rec = (t: string) => `20240301 ${t},db-1.example.org,u,h,1,0,CONNECT,,,0\n`;
  try {
    const write = async (name: string, text: string | Uint8Array, minutesAgo: number) => {
      const path = `${dir}/${name}`;
      if (typeof text === "string") await Deno.writeTextFile(path, text);
      else await Deno.writeFile(path, text);
      const t = new Date(Date.now() - minutesAgo * 60_000);
      await Deno.utime(path, t, t);
    };
    await write("mysql_audit.log", rec("10:00:00"), 1);
    await write("mysql_audit.log.2", rec("08:00:00"), 30);
    await write("mysql_audit.log.10", rec("07:00:00"), 40);
    await write("mysql_audit.log.1", rec("09:00:00"), 20);
    await write("old-audit.log", rec("01:00:00"), 600); // another log, written long ago
    await write("server_audit.log", "", 700); // the default name: taken even while empty
    await write("mysql-bin.000001", new Uint8Array([0xfe, 0x62, 0x69, 0x6e, 1, 2, 3]), 5);
    await write("db1.err", "2024-03-01 10:00:00 0 [Note] mariadbd: ready\n", 5);
    await write("notes.txt", "20240301 10:00:00 is not a record\n", 5);
    await write("garbage.log.3", "20241399 10:00:00,db1,u,h,1,0,CONNECT,,,0\n", 5);
    await write("audit.sqlite", "SQLite format 3\u0000", 5);
    await Deno.mkdir(`${dir}/sub`);
    await Deno.symlink(`${dir}/mysql_audit.log`, `${dir}/link.log`);
    const found = discoverAuditFiles(dir);
    assert.equal(found.examined, 11);
    assert.deepEqual(found.files.map((f) => [f.path.slice(dir.length + 1), f.rank, f.live]), [
      ["server_audit.log", 0, false],
      ["old-audit.log", 0, false],
      ["mysql_audit.log.10", 10, false],
      ["mysql_audit.log.2", 2, false],
      ["mysql_audit.log.1", 1, false],
      ["mysql_audit.log", 0, true],
    ]);
    assert.equal(found.files[5].fingerprint, fingerprintOf(`${dir}/mysql_audit.log`, 1000));
    // Named explicitly, only that log (whatever its content).
    assert.deepEqual(
      discoverAuditFiles(dir, "old-audit.log").files.map((f) => f.path.slice(dir.length + 1)),
      ["old-audit.log"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("files: a record head needs a real date and time and a server host", () => {
  const enc = new TextEncoder();
  assert.ok(isRecordHead(enc.encode("20240229 23:59:60,db1,")));
  assert.ok(isRecordHead(enc.encode(`20240301 00:00:00,${"h".repeat(255)},u`)));
  for (
    const bad of [
      "",
      "20240301 00:00:00,",
      "20240301 00:00:00,,user",
      "20240301 24:00:00,db1,",
      "20240001 00:00:00,db1,",
      "2024030 00:00:00,db1,",
      "20240301 00:00:00,db 1,",
      `20240301 00:00:00,${"h".repeat(256)},`,
      "20240301 00:00:00,db1", // the host never ends
    ]
  ) {
    assert.equal(isRecordHead(enc.encode(bad)), false, bad);
  }
});

Deno.test("files: checkpoints apply only to the same content; truncation and replacement restart", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/f`;
    await Deno.writeTextFile(path, "20240101 00:00:00,db1,a,h,1,0,CONNECT,,,0\n");
    const size = (await Deno.stat(path)).size;
    const fp = fingerprintOf(path, size);
    const file: AuditFile = {
      path,
      base: "f",
      rank: 0,
      live: true,
      ino: 1,
      size,
      mtimeMs: 0,
      fingerprint: fp,
    };
    const cp: Checkpoint = {
      ino: 1,
      path,
      offset: size,
      size,
      fingerprint: fp,
      serverHost: "db1",
      lastInstant: 0,
      live: true,
    };
    assert.equal(planFile(file, fp, cp).start, size);
    assert.equal(planFile({ ...file, size: size + 10 }, fp + "00", cp).start, size);
    assert.deepEqual(planFile({ ...file, size: 5 }, fp.slice(0, 10), cp).reset, "truncated");
    assert.deepEqual(planFile(file, "ff" + fp.slice(2), cp).reset, "replaced");
    assert.equal(planFile(file, fp, undefined).start, 0);
    const previous = new Map([[1, cp], [2, { ...cp, ino: 2, live: false }]]);
    assert.deepEqual(lostFiles(previous, []), [{ checkpoint: cp, how: "rotated away" }]);
    assert.deepEqual(lostFiles(previous, [planFile(file, fp, cp)]), []);
    assert.deepEqual(lostFiles(previous, [planFile(file, "ff" + fp.slice(2), cp)]), [
      { checkpoint: cp, how: "truncated or replaced" },
    ]);
  });
});

Deno.test("files: a file that cannot be read is reported with why, one rotated away is not", async () => {
  await inTempDir(async (dir) => {
    const line = "20240101 00:00:00,db1,alice,localhost,1,0,CONNECT,,,0\n";
    for (const name of ["server_audit.log", "server_audit.log.1", "server_audit.log.2"]) {
      await Deno.writeTextFile(`${dir}/${name}`, line);
    }
    // A real read for every file but two: .1 fails as an unreadable file does, .2 vanishes.
    const head = (path: string, n: number) => {
      if (path.endsWith(".1")) throw new Deno.errors.PermissionDenied("Permission denied");
      if (path.endsWith(".2")) throw new Deno.errors.NotFound("No such file or directory");
      const bytes = Deno.readFileSync(path);
      return bytes.subarray(0, n);
    };
    const found = discoverAuditFiles(dir, undefined, head);
    assert.deepEqual(found.files.map((f) => f.path), [`${dir}/server_audit.log`]);
    assert.deepEqual(found.unreadable, [
      { path: `${dir}/server_audit.log.1`, error: "Permission denied" },
    ]);
    // Without the fault, all three are found and nothing is reported.
    const clean = discoverAuditFiles(dir);
    assert.equal(clean.files.length, 3);
    assert.deepEqual(clean.unreadable, []);
  });
});
