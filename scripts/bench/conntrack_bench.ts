/**
 * conntrack benchmark: generates a realistic audit log (default 1 GB in 10 rotated files),
 * then measures, page cache warm and in the same run:
 * - `LC_ALL=C grep -F -c ,CONNECT,` over the files (the yardstick),
 * - conntrack's first run (fresh database) wall time, and its ratio to grep,
 * - a re-run with nothing new,
 * - peak RSS of the conntrack process (`/usr/bin/time -v`, maximum resident set size),
 * and checks the Accounts table against the generator's ground truth. Prints figures; it is
 * not a test. The data goes under /tmp and is removed afterwards.
 *
 * Usage: deno run -A scripts/bench/conntrack_bench.ts [TOTAL_MB=1024] [FILES=10] [REPEAT=3]
 * @module
 */
import { generateAudit, utcLastSeen } from "./gen_audit.ts";
import { readAccounts } from "../../tests/support/conntrack.ts";
import { cliCommand } from "../../tests/support/cli.ts";

const totalMb = Number(Deno.args[0] ?? 1024);
const fileCount = Number(Deno.args[1] ?? 10);
const repeat = Number(Deno.args[2] ?? 3);

interface Timed {
  ms: number;
  code: number;
  stdout: string;
  stderr: string;
  rssKb: number;
}

async function timed(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Timed> {
  const start = performance.now();
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-v", cmd, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = performance.now() - start;
  const stderr = new TextDecoder().decode(out.stderr);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  return {
    ms,
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: stderr.replace(/\n\s*Command being timed:[\s\S]*$/, ""),
    rssKb: rss ? Number(rss[1]) : NaN,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = await Deno.makeTempDir({ prefix: "mmd-conntrack-bench-" });
try {
  const auditDir = `${dir}/audit`;
  console.log(`generating ${totalMb} MB in ${fileCount} files under ${auditDir} ...`);
  const t0 = performance.now();
  const gen = await generateAudit({
    dir: auditDir,
    files: fileCount,
    bytesPerFile: Math.floor((totalMb * 1024 * 1024) / fileCount),
    accounts: 5000,
    seed: 42,
  });
  console.log(
    `generated ${(gen.bytes / 1e6).toFixed(0)} MB, ${gen.truth.size} accounts with logins, in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s`,
  );
  const past = new Date(Date.now() - 60_000);
  for (const p of gen.paths) await Deno.utime(p, past, past);
  const sqlite = `${dir}/audit.sqlite`;
  const ini = `${dir}/conntracker.ini`;
  await Deno.writeTextFile(
    ini,
    `[default]\nAuditLogPath=${auditDir}\nSqlitePath=${sqlite}\nTimeLocation=UTC\nMaxWorkers=${
      Deno.env.get("MAX_WORKERS") ?? 4
    }\nLogLevel=ERROR\n`,
  );
  const conntrack = cliCommand(["conntrack", "-c", ini, "-v"], { read: [dir], write: [dir] });
  // Warm the page cache.
  await new Deno.Command("cat", { args: gen.paths, stdout: "null" }).output();

  const greps: number[] = [];
  const firsts: Timed[] = [];
  for (let i = 0; i < repeat; i++) {
    const g = await timed("grep", ["-F", "-c", ",CONNECT,", ...gen.paths], { LC_ALL: "C" });
    greps.push(g.ms);
    await Deno.remove(sqlite).catch(() => {});
    const f = await timed(Deno.execPath(), conntrack, { NO_COLOR: "1" });
    if (f.code !== 0) throw new Error(`conntrack failed: ${f.stderr}`);
    firsts.push(f);
  }
  const rerun = await timed(Deno.execPath(), conntrack, { NO_COLOR: "1" });

  const want = [...gen.truth].map(([k, w]) => `${k.replace("\u0000", "|")}|${utcLastSeen(w)}`)
    .sort();
  const got = readAccounts(sqlite);
  const equal = JSON.stringify(want) === JSON.stringify(got);

  const grepMs = median(greps);
  const firstMs = median(firsts.map((f) => f.ms));
  console.log(`conntrack -v said: ${firsts[0].stdout.trim()}`);
  console.log(
    `grep -F -c ,CONNECT, (LC_ALL=C), median of ${repeat}: ${grepMs.toFixed(0)} ms  [${
      greps.map((x) => x.toFixed(0)).join(", ")
    }]`,
  );
  console.log(
    `conntrack first run, median of ${repeat}:     ${firstMs.toFixed(0)} ms  [${
      firsts.map((f) => f.ms.toFixed(0)).join(", ")
    }]  ratio ${(firstMs / grepMs).toFixed(2)}x (target <= 1.2x)`,
  );
  console.log(
    `conntrack re-run, nothing new:          ${rerun.ms.toFixed(0)} ms (target <= 300 ms)`,
  );
  console.log(
    `peak RSS (max of first runs, re-run):   ${
      Math.max(...firsts.map((f) => f.rssKb)) / 1024 | 0
    } MB, ${rerun.rssKb / 1024 | 0} MB (target <= 150 MB)`,
  );
  console.log(
    `ground truth: ${
      equal ? "exact match" : "MISMATCH"
    } (${got.length} rows, ${want.length} expected)`,
  );
  if (!equal) Deno.exitCode = 1;
} finally {
  await Deno.remove(dir, { recursive: true });
}
