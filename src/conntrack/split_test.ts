import assert from "node:assert/strict";
import { generateAudit } from "../../scripts/bench/gen_audit.ts";
import { scanSplit, scanSplitAt } from "./run.ts";
import { Findings, scanFile, type ScanJob, type ScanResult } from "./scan.ts";

function auditTime(ms: number): string {
  return new Date(ms).toISOString().replace(/^(\d+)-(\d+)-(\d+)T([\d:]+)\..*$/, "$1$2$3 $4");
}

/** What a scan gives the run: the checkpoint fields, the counts, the refused lines as a set. */
function outcome(r: ScanResult, found: Findings) {
  return {
    consumed: r.consumed,
    serverHost: r.serverHost,
    lastInstant: r.lastInstant,
    firstInstant: r.firstInstant,
    rejected: r.rejected,
    malformed: r.malformed,
    lateDated: r.lateDated,
    events: r.events,
    refused: r.rejections.map((x) => `${x.line} ${x.reason}`).sort(),
    logins: [...found.logins.values()].map((v) => JSON.stringify(v)).sort(),
    others: [...found.others.values()].map((o) => JSON.stringify(o)).sort(),
  };
}

Deno.test("split: one file read in two ranges gives the sequential result at every cut, hostile input", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const gen = await generateAudit({
      dir,
      files: 1,
      bytesPerFile: 1_800_000,
      accounts: 300,
      seed: 23,
    });
    const path = gen.paths[0];
    const lines = (await Deno.readTextFile(path)).split("\n").slice(0, -1);
    const timeOf = (line: string) =>
      Date.UTC(+line.slice(0, 4), +line.slice(4, 6) - 1, +line.slice(6, 8)) +
      ((+line.slice(9, 11) * 60 + +line.slice(12, 14)) * 60 + +line.slice(15, 17)) * 1000;
    // Hostile blocks every 400 lines from 4/10 of the file on: a forged login written twice
    // (its id claimed again by a second forged pair 700 lines later), and a username over
    // three lines that forges a failed login.
    const out: string[] = [];
    let id = 900_000;
    lines.forEach((line, i) => {
      out.push(line);
      if (i < lines.length * 0.4 || i % 400 !== 0) return;
      const t = auditTime(timeOf(line));
      const forgedId = i % 800 === 0 ? id : id - 1;
      const user =
        `a,localhost,1,0,DISCONNECT,,,0\n${t},db1,mallory${i},10.0.0.9,${forgedId},0,CONNECT,,,0\n${t},db1,y`;
      out.push(`${t},db1,${user},localhost,${id + 1},0,FAILED_CONNECT,,,1045`);
      out.push(`${t},db1,${user},localhost,${id + 1},0,DISCONNECT,,,0`);
      const three = `b\n${t},db1,c,h,${id + 2},0,QUERY,,'x',0\n${t},db1,root`;
      out.push(`${t},db1,${three},localhost,${id + 2},0,FAILED_CONNECT,,,1045`);
      out.push(`${t},db1,${three},localhost,${id + 2},0,DISCONNECT,,,0`);
      if (i % 800 === 0) id += 3;
    });
    const text = out.join("\n") + "\n";
    await Deno.writeTextFile(path, text);
    const size = (await Deno.stat(path)).size;
    const job: ScanJob = { path, start: 0, end: size, zone: "UTC", detailLimit: Infinity };
    const seqFound = new Findings();
    const sequential = outcome(scanFile(job, seqFound), seqFound);
    assert.ok(sequential.refused.some((r) => /appears twice/.test(r)));
    assert.ok(!sequential.logins.some((l) => l.includes("mallory")));
    // Cuts at line starts: every 20 KB, and at each line of the first hostile blocks after the
    // middle (between a forged record's lines and between its two copies).
    const starts: number[] = [];
    for (let i = text.indexOf("\n"); i >= 0 && i < size - 1; i = text.indexOf("\n", i + 1)) {
      starts.push(i + 1); // the text is ASCII: string offsets are byte offsets
    }
    const mid = starts.findIndex((s) => s > size / 2 && text.startsWith(",db1,mallory", s + 17));
    const cuts = new Set<number>();
    for (let k = mid - 12; k < mid + 12; k++) cuts.add(starts[k]);
    for (const s of starts) if (s > 600_000 && s % 20_000 < 150) cuts.add(s);
    let merged = 0;
    for (const cut of [...cuts].sort((a, b) => a - b)) {
      const found = new Findings();
      const split = await scanSplitAt([job], job, "db1", cut, found);
      assert.ok(split, `cut at ${cut}`);
      if (split.merged) merged++;
      assert.deepEqual(outcome(split.results[0], found), sequential, `cut at byte ${cut}`);
    }
    // As the run does it: the cut in the middle, the server host from the file's start.
    const found = new Findings();
    const results = await scanSplit([job], 1 << 20, found);
    assert.ok(results);
    assert.deepEqual(outcome(results[0], found), sequential, "cut in the middle");
    // The test must exercise the split itself, not only its fallback.
    assert.ok(merged >= cuts.size * 0.8, `${merged} of ${cuts.size} cuts merged`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
