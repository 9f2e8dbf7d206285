import assert from "node:assert/strict";
import { generateAudit } from "../../scripts/bench/gen_audit.ts";
import {
  CONTEXT_BYTES,
  Findings,
  MAX_LINE_BYTES,
  MAX_OTHER_KEYS,
  scanFile,
  type ScanJob,
  type ScanResult,
} from "./scan.ts";
import { inTempDir } from "../util/temp_testing.ts";

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
  await inTempDir(async (dir) => {
    const gen = await generateAudit({ dir, files: 1, accounts: 50, seed: 5, bytesPerFile: 3e5 });
    const path = gen.paths[0];
    const lines = (await Deno.readTextFile(path)).split("\n").slice(0, -1);
    const query = (n: number) => `20240301 00:00:00,db1,x,h,1,2,QUERY,,'${"Q".repeat(n)}',0`;
    const third = Math.floor(lines.length / 3);
    lines.splice(2 * third, 0, query(5 * MAX_LINE_BYTES)); // too long for any buffer: skipped
    lines.splice(third, 0, query(MAX_LINE_BYTES - 100)); // long but kept
    lines.push(`20240301 23:00:00,db1,late,h,${gen.next.connId},0,CONNECT,,,0`);
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
  });
});

Deno.test("scan: a file renamed away after it was listed is left for the next run", async () => {
  await inTempDir(async (dir) => {
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
  });
});

Deno.test("scan: one thread's findings over several files equal the merge of each file's own", async () => {
  await inTempDir(async (dir) => {
    const gen = await generateAudit({ dir, files: 3, accounts: 40, seed: 21, bytesPerFile: 2e5 });
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
  });
});

/** Genuine logins (each followed by a query) from `t0` (ms), ids from `id0`. */
function genuineLines(n: number, t0: number, id0: number, user = "u"): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = auditTime(t0 + i * 2000);
    out.push(
      `${t},db1,${user}${i},10.0.0.1,${id0 + i},0,CONNECT,app,,0`,
      `${t},db1,${user}${i},10.0.0.1,${id0 + i},${9000 + i},QUERY,app,'SELECT ${
        "x".repeat(150)
      }',0`,
    );
  }
  return out;
}

function auditTime(ms: number): string {
  return new Date(ms).toISOString().replace(/^(\d+)-(\d+)-(\d+)T([\d:]+)\..*$/, "$1$2$3 $4");
}

const T0 = Date.UTC(2024, 2, 1, 10, 0, 0);

Deno.test("scan: a forged login whose second copy lands in the next file after a rotation is refused in both", async () => {
  await inTempDir(async (dir) => {
    const t = auditTime(T0 + 40_000);
    // Every line of this username looks like a whole record; only its second copy shows it.
    const user = `a,localhost,1,0,CHANGEUSER,,,0\n${t},db1,mallory,localhost,120,0,CONNECT,,,0\n` +
      `${t},db1,y`;
    const older = `${dir}/server_audit.log.1`;
    const live = `${dir}/server_audit.log`;
    await Deno.writeTextFile(
      older,
      [...genuineLines(20, T0, 100), `${t},db1,${user},localhost,121,0,FAILED_CONNECT,,,1045`, ""]
        .join("\n"),
    );
    await Deno.writeTextFile(
      live,
      [
        `${t},db1,${user},localhost,121,0,DISCONNECT,,,0`,
        ...genuineLines(20, T0 + 42_000, 122, "v"),
        "",
      ].join("\n"),
    );
    const size = (p: string) => Deno.statSync(p).size;
    const users = (r: ScanResult & { found: Findings }) =>
      [...r.found.logins.values()].map(([u]) => u);
    // Without the next file's start, the first copy alone looks like a real login.
    const alone = scanAlone({ path: older, start: 0, end: size(older), zone: "UTC" });
    assert.ok(users(alone).includes("mallory"), "the test needs the rotation to matter");
    const first = scanAlone({
      path: older,
      start: 0,
      end: size(older),
      zone: "UTC",
      after: { path: live, from: 0, to: Math.min(size(live), CONTEXT_BYTES) },
    });
    assert.ok(!users(first).includes("mallory"), JSON.stringify(first.rejections));
    assert.equal(users(first).length, 20);
    assert.ok(first.rejections.some((r) => /appears twice/.test(r.reason)));
    const second = scanAlone({
      path: live,
      start: 0,
      end: size(live),
      zone: "UTC",
      before: { path: older, from: Math.max(0, size(older) - CONTEXT_BYTES), to: size(older) },
    });
    assert.ok(!users(second).includes("mallory"));
    assert.equal(users(second).length, 20, JSON.stringify(second.rejections));
    // The context's own events and refusals belong to the other file's result.
    assert.ok(!users(second).some((u) => u.startsWith("u")));
    assert.ok(second.rejections.every((r) => !/FAILED_CONNECT/.test(r.excerpt)));
  });
});

Deno.test("scan: failed logins under endless made-up names take bounded memory and are counted", async () => {
  await inTempDir(async (dir) => {
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
    // In time and in the id sequence of the logins before it (an id far off would be refused).
    const id = MAX_OTHER_KEYS + extra + 1;
    lines.push(`20240301 15:41:40,db1,alice,10.0.0.2,${id},0,CONNECT,,,0`, "");
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
  });
});

Deno.test("scan: a run resumed at the checkpoint sees the bytes before it as context", async () => {
  await inTempDir(async (dir) => {
    const t = auditTime(T0 + 40_000);
    const user = `a,localhost,1,0,CHANGEUSER,,,0\n${t},db1,mallory,localhost,120,0,CONNECT,,,0\n` +
      `${t},db1,y`;
    const path = `${dir}/server_audit.log`;
    const head = [
      ...genuineLines(20, T0, 100),
      `${t},db1,${user},localhost,121,0,FAILED_CONNECT,,,1045`,
      "",
    ]
      .join("\n");
    await Deno.writeTextFile(
      path,
      head +
        [
          `${t},db1,${user},localhost,121,0,DISCONNECT,,,0`,
          ...genuineLines(5, T0 + 42_000, 122, "v"),
          "",
        ]
          .join("\n"),
    );
    const start = new TextEncoder().encode(head).length;
    const end = Deno.statSync(path).size;
    const job = { path, start, end, zone: "UTC", lastInstant: T0 + 38_000 };
    assert.ok(
      [...scanAlone(job).found.logins.values()].some(([u]) => u === "mallory"),
      "the test needs the context",
    );
    const r = scanAlone({
      ...job,
      before: { path, from: Math.max(0, start - CONTEXT_BYTES), to: start },
    });
    assert.deepEqual([...r.found.logins.values()].map(([u]) => u).sort(), [
      "v0",
      "v1",
      "v2",
      "v3",
      "v4",
    ]);
  });
});

Deno.test("scan: a CONNECT with an error code is a failed login, not a login", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/server_audit.log`;
    await Deno.writeTextFile(
      path,
      "20240301 10:00:00,db1,alice,h,5,0,CONNECT,,,1045\n20240301 10:00:01,db1,bob,h,6,0,CONNECT,,,0\n",
    );
    const r = scanAlone({ path, start: 0, end: Deno.statSync(path).size, zone: "UTC" });
    assert.deepEqual([...r.found.logins.values()].map(([u]) => u), ["bob"]);
    assert.deepEqual([...r.found.others.values()].map((o) => [o.kind, o.user, o.retcode]), [[
      "failed",
      "alice",
      1045,
    ]]);
  });
});

Deno.test("scan: refused lines and logins are the same whatever the read size, tiny ones included", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A forged login (its line written twice by the server, in the failed login's record and
    // in its DISCONNECT), and more than the twin window later another forged login claiming
    // the same connection id: read in one large chunk, that later claim must not hide the
    // first one's copy.
    const forged = (t: string, who: string, id: number) => {
      const user =
        `a,localhost,1,0,DISCONNECT,,,0\n${t},db1,${who},10.0.0.9,${id},0,CONNECT,,,0\n` +
        `${t},db1,y`;
      return [
        `${t},db1,${user},localhost,${id + 1},0,FAILED_CONNECT,,,1045`,
        `${t},db1,${user},localhost,${id + 1},0,DISCONNECT,,,0`,
      ];
    };
    const gen = await generateAudit({
      dir,
      files: 1,
      bytesPerFile: 400_000,
      accounts: 40,
      seed: 11,
    });
    const path = gen.paths[0];
    const head = genuineLines(40, T0, 100);
    const far = genuineLines(400, T0 + 82_000, 142, "v");
    const lines = [
      ...head,
      ...forged(auditTime(T0 + 80_000), "mallory", 140),
      ...far,
      ...forged(auditTime(T0 + 82_000 + 800_000), "trudy", 140),
      ...genuineLines(40, T0 + 82_000 + 802_000, 542, "w"),
    ];
    const tail = await Deno.readTextFile(path); // generated traffic with hostile names of its own
    // And a forged login near the end, decided only when the file has been read to its end.
    const lastTime = tail.slice(tail.lastIndexOf("\n", tail.length - 2) + 1).slice(0, 17);
    const end = [...forged(lastTime, "eve", gen.next.connId), ""].join("\n");
    await Deno.writeTextFile(path, lines.join("\n") + "\n" + tail + end);
    const size = (await Deno.stat(path)).size;
    const run = (chunkBytes: number) =>
      scanAlone({ path, start: 0, end: size, zone: "UTC", chunkBytes, detailLimit: Infinity });
    const reference = run(1 << 20);
    const users = [...reference.found.logins.values()].map(([u]) => u);
    assert.ok(!["mallory", "trudy", "eve"].some((u) => users.includes(u)), "forged logins refused");
    assert.ok(users.includes("v0") && users.includes("w39"));
    assert.ok(reference.rejected > 10 && reference.rejections.length === reference.rejected);
    // Refusals are recorded when they are found, which may be in another order: compare sets.
    const refused = (r: ScanResult) => r.rejections.map((x) => `${x.line} ${x.reason}`).sort();
    for (const chunkBytes of [1, 97, 4096, 65_536, 262_144, 300_001]) {
      const r = run(chunkBytes);
      assert.deepEqual(refused(r), refused(reference), `read size ${chunkBytes}`);
      assert.deepEqual(
        { ...brief(r), rejections: [] },
        { ...brief(reference), rejections: [] },
        `read size ${chunkBytes}`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
