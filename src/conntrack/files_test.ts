import assert from "node:assert/strict";
import { discoverAuditFiles, fingerprintOf, lostFiles, planFile } from "./files.ts";
import type { Checkpoint } from "./store.ts";

Deno.test("files: only the log and its numbered rotations (any padding), oldest first", async () => {
  const dir = await Deno.makeTempDir();
  try {
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
    const names = discoverAuditFiles(dir, "server_audit.log").map((f) =>
      f.path.slice(dir.length + 1)
    );
    assert.deepEqual(names, [
      "server_audit.log.10",
      "server_audit.log.2",
      "server_audit.log.01",
      "server_audit.log",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("files: checkpoints apply only to the same content; truncation and replacement restart", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/f`;
    await Deno.writeTextFile(path, "20240101 00:00:00,db1,a,h,1,0,CONNECT,,,0\n");
    const size = (await Deno.stat(path)).size;
    const fp = fingerprintOf(path, size);
    const file = { path, rank: 0, ino: 1, size, mtimeMs: 0 };
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
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
