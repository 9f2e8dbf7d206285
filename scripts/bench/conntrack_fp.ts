/**
 * False positives of conntrack's forgery checks on real-shaped logs: how many genuine records
 * the parser refuses. Prints figures; it is not a test.
 *
 * Two corpora, both with ground truth:
 * 1. the benchmark generator's log (scripts/bench/gen_audit.ts: QUERY-heavy, thousands of
 *    accounts, a few hostile usernames): every refusal is classified as on a hostile record or
 *    on a genuine one (a record of one of the generator's accounts), and `Accounts` after a
 *    real run is compared with the truth;
 * 2. the fuzz generator's log without any hostile attempt (tests/fuzz/audit_log.ts: concurrent
 *    sessions, slow clients' ids logged late, server restarts, rotations): every refusal is a
 *    false positive.
 *
 * Usage: deno run -A scripts/bench/conntrack_fp.ts [MB=200] [SEED=1]
 * @module
 */
import { generateAudit, utcLastSeen } from "./gen_audit.ts";
import { conntrackConfig, generate, runCase } from "../../tests/fuzz/audit_log.ts";
import { readAccounts } from "../../tests/support/conntrack.ts";
import { AuditParser, type Rejection } from "../../src/conntrack/parser.ts";
import { runConntrack } from "../../src/conntrack/run.ts";
import { CONTEXT_BYTES } from "../../src/conntrack/scan.ts";
import { Zone } from "../../src/time/tz.ts";

const mb = Number(Deno.args[0] ?? 200);
const seed = Number(Deno.args[1] ?? 1);
const UTC = new Zone("UTC");

/** Runs the parser over `files` (oldest first) with the previous file's end as context. */
function refusals(files: Uint8Array[]): { rejections: Rejection[]; lines: number } {
  const all: Rejection[] = [];
  let lines = 0;
  files.forEach((bytes, k) => {
    const parser = new AuditParser({ zone: UTC, startOffset: 0, detailLimit: Infinity });
    const chunk = 1 << 20;
    let kept = new Uint8Array(0);
    let base = 0;
    if (k > 0) {
      const prev = files[k - 1];
      let from = Math.max(0, prev.length - CONTEXT_BYTES);
      from = from === 0 ? 0 : prev.indexOf(10, from) + 1;
      kept = prev.slice(from);
      base = -kept.length;
      parser.feed(kept, base, 0, kept.length);
      kept = kept.slice(parser.keepFrom);
      base += parser.keepFrom;
    }
    for (let at = 0; at < bytes.length;) {
      let to = Math.min(bytes.length, at + chunk);
      if (to < bytes.length) to = bytes.lastIndexOf(10, to - 1) + 1;
      const buf = new Uint8Array(kept.length + to - at);
      buf.set(kept);
      buf.set(bytes.subarray(at, to), kept.length);
      parser.feed(buf, base, kept.length, buf.length);
      kept = buf.slice(parser.keepFrom);
      base += parser.keepFrom;
      at = to;
    }
    parser.finish();
    all.push(...parser.rejections);
    for (const b of bytes) if (b === 10) lines++;
  });
  return { rejections: all, lines };
}

const dir = await Deno.makeTempDir({ prefix: "mmd-conntrack-fp-" });
try {
  // 1. The benchmark generator's corpus.
  const files = 4;
  const gen = await generateAudit({
    dir: `${dir}/audit`,
    files,
    bytesPerFile: Math.floor((mb * 1024 * 1024) / files),
    accounts: 5000,
    seed,
  });
  const past = new Date(Date.now() - 60_000);
  for (const p of gen.paths) await Deno.utime(p, past, past);
  const texts = gen.paths.map((p) => Deno.readFileSync(p));
  const t0 = performance.now();
  const { rejections, lines } = refusals(texts);
  const genuine = rejections.filter((r) =>
    /^\d{8} [\d:]{8},db1,(user|we,ird|o'brien")\d+,/.test(r.excerpt)
  );
  console.log(
    `gen_audit corpus: ${(gen.bytes / 1e6).toFixed(0)} MB, ${lines} lines, seed ${seed}: ` +
      `${rejections.length} lines refused, ${genuine.length} of them genuine records ` +
      `(parsed in ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  for (const r of genuine.slice(0, 5)) console.log(`  genuine refused: ${r.reason}: ${r.excerpt}`);
  const config = conntrackConfig(`${dir}/audit`, `${dir}/audit.sqlite`, 2);
  await runConntrack(config);
  const want = [...gen.truth].map(([k, w]) => `${k.replace("\u0000", "|")}|${utcLastSeen(w)}`)
    .sort();
  const got = readAccounts(config.sqlitePath);
  const missing = want.filter((w) => !got.includes(w)).length;
  const extra = got.filter((g) => !want.includes(g)).length;
  console.log(
    `gen_audit corpus Accounts: ${got.length} rows, ${want.length} expected, ` +
      `${missing} missing or older, ${extra} not expected`,
  );

  // 2. The fuzz generator without hostile attempts, at scale.
  let fuzzLines = 0;
  let fuzzRefused = 0;
  let fuzzMissing = 0;
  const cases = Math.max(1, Math.round(mb / 10));
  for (let s = seed; s < seed + cases; s++) {
    const c = generate(s, { steps: 40_000, hostileShare: 0 });
    const r = refusals(c.files.map((f) => f.bytes));
    fuzzLines += r.lines;
    fuzzRefused += r.rejections.length;
    for (const x of r.rejections.slice(0, 3)) console.log(`  refused: ${x.reason}: ${x.excerpt}`);
    const rows = await runCase(c, `${dir}/fuzz${s}`);
    const have = new Set(rows.map((row) => `${row.name}\u0000${row.host}`));
    fuzzMissing += [...c.truth.keys()].filter((k) => !have.has(k)).length;
  }
  console.log(
    `fuzz generator without hostile attempts: ${cases} logs, ${fuzzLines} lines: ` +
      `${fuzzRefused} lines refused, ${fuzzMissing} accounts missing`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
