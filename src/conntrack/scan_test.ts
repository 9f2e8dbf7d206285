import assert from "node:assert/strict";
import { generateAudit } from "../../scripts/bench/gen_audit.ts";
import {
  Findings,
  MAX_LINE_BYTES,
  MAX_OTHER_KEYS,
  scanFile,
  type ScanJob,
  type ScanResult,
} from "./scan.ts";

/** Scans `job` on its own: the file's result with what it found. */
function scanAlone(job: ScanJob): ScanResult & { found: Findings } {
  const found = new Findings();
  return { ...scanFile(job, found), found };
}

const brief = (r: ScanResult & { found: Findings }) => ({
  consumed: r.consumed,
  logins: [...r.found.logins.values()].sort(),
  others: [...r.found.others.values()].map((o) => JSON.stringify(o)).sort(),
  rejections: r.rejections,
  rejected: r.rejected,
  malformed: r.malformed,
});

Deno.test("scan: the result does not depend on the read size, whatever the line lengths", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const gen = await generateAudit({
      dir,
      files: 1,
      bytesPerFile: 300_000,
      accounts: 50,
      seed: 5,
    });
    const path = gen.paths[0];
    const lines = (await Deno.readTextFile(path)).split("\n").slice(0, -1);
    const query = (n: number) => `20240301 00:00:00,db1,x,h,1,2,QUERY,,'${"Q".repeat(n)}',0`;
    const third = Math.floor(lines.length / 3);
    lines.splice(2 * third, 0, query(5 * MAX_LINE_BYTES)); // too long for any buffer: skipped
    lines.splice(third, 0, query(MAX_LINE_BYTES - 100)); // long but kept
    lines.push("20240301 23:00:00,db1,late,h,999999,0,CONNECT,,,0");
    const text = lines.join("\n") + "\n20240301 23:00:01,db1,cut";
    await Deno.writeTextFile(path, text);
    const size = (await Deno.stat(path)).size;
    const run = (chunkBytes: number) =>
      scanAlone({ path, start: 0, end: size, zone: "UTC", chunkBytes });
    const reference = run(1 << 20);
    assert.equal(reference.consumed, size - "20240301 23:00:01,db1,cut".length);
    assert.ok([...reference.found.logins.values()].some(([user]) => user === "late"));
    assert.equal(reference.malformed, 1, "the 5 MiB line is skipped");
    const skipped = reference.rejections.find((r) => /line longer than/.test(r.reason));
    assert.equal(skipped?.line, 2 * third + 2);
    for (const chunkBytes of [4096, 65_536, 300_001]) {
      assert.deepEqual(brief(run(chunkBytes)), brief(reference), `read size ${chunkBytes}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("scan: a file renamed away after it was listed is left for the next run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/server_audit.log`;
    await Deno.writeTextFile(path, "20240301 10:00:00,db1,old,h,1,0,CONNECT,,,0\n");
    const ino = (await Deno.stat(path)).ino!;
    await Deno.rename(path, `${path}.1`);
    await Deno.writeTextFile(path, "20240301 11:00:00,db1,new,h,2,0,CONNECT,,,0\n");
    const r = scanAlone({ path, ino, start: 0, end: 100, zone: "UTC" });
    assert.equal(r.consumed, 0);
    assert.equal(r.moved, true);
    assert.equal(r.found.logins.size, 0);
    const gone = scanAlone({ path: `${dir}/missing`, ino, start: 7, end: 100, zone: "UTC" });
    assert.equal(gone.consumed, 7);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("scan: one thread's findings over several files equal the merge of each file's own", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const gen = await generateAudit({
      dir,
      files: 3,
      bytesPerFile: 200_000,
      accounts: 40,
      seed: 21,
    });
    const jobs = gen.paths.map((path) => ({
      path,
      start: 0,
      end: Deno.statSync(path).size,
      zone: "UTC",
    }));
    const shared = new Findings();
    for (const job of jobs) scanFile(job, shared);
    const merged = new Findings();
    for (const job of jobs) {
      const alone = new Findings();
      scanFile(job, alone);
      merged.merge(alone.toMessage());
    }
    const rows = (f: Findings) => [...f.logins.values()].map((r) => r.join("|")).sort();
    assert.deepEqual(rows(shared), rows(merged));
    assert.deepEqual(
      rows(shared),
      [...gen.truth].map(([k, w]) => `${k.replace("\u0000", "|")}|${w}`).sort(),
    );
    const others = (f: Findings) => [...f.others.values()].map((o) => JSON.stringify(o)).sort();
    assert.deepEqual(others(shared), others(merged));
    assert.ok(shared.others.size > 0, "the corpus has failed logins");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("scan: failed logins under endless made-up names take bounded memory and are counted", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/server_audit.log`;
    const lines: string[] = [];
    const extra = 500;
    for (let i = 0; i < MAX_OTHER_KEYS + extra; i++) {
      const t = `20240301 ${String(10 + Math.floor(i / 3600)).padStart(2, "0")}:${
        String(Math.floor(i / 60) % 60).padStart(2, "0")
      }:${String(i % 60).padStart(2, "0")}`;
      lines.push(`${t},db1,made${i},10.0.0.1,${i + 1},0,FAILED_CONNECT,,,1045`);
      lines.push(`${t},db1,made${i},10.0.0.1,${i + 1},0,DISCONNECT,,,0`);
    }
    lines.push("20240301 23:59:59,db1,alice,10.0.0.2,999999,0,CONNECT,,,0", "");
    await Deno.writeTextFile(path, lines.join("\n"));
    const found = new Findings();
    scanFile({ path, start: 0, end: Deno.statSync(path).size, zone: "UTC" }, found);
    assert.equal(found.others.size, MAX_OTHER_KEYS);
    assert.equal(found.overflow, extra);
    assert.deepEqual([...found.logins.values()].map(([u]) => u), ["alice"]);
    // Merging another thread's findings keeps the same bound.
    const main = new Findings();
    main.merge(found.toMessage());
    main.merge(found.toMessage());
    assert.equal(main.others.size, MAX_OTHER_KEYS);
    assert.equal(main.overflow, 2 * extra);
    assert.equal([...main.others.values()][0].count, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
