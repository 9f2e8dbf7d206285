/**
 * conntrack benchmark. For each corpus (default: 100 MiB in one file, 300 MiB in 3 files, 1 GiB
 * in 10 rotated files, all of the real-log shape that gen_audit.ts writes by default), page
 * cache warm, it measures back to back, `--repeat` times:
 * - `LC_ALL=C grep -F -c ,CONNECT,` over the files (the floor: one thread, no parsing),
 * - conntrack's first run on a fresh database, with the default MaxWorkers,
 * and then a re-run with nothing new, peak RSS (`/usr/bin/time -v`), and the Accounts table
 * against the generator's ground truth. On the largest corpus it also runs conntrack with
 * `MaxWorkers = 1`, to compare one parser thread's bytes per second with grep's one thread.
 *
 * One line per figure, each starting with the corpus; medians with the single runs in brackets;
 * the load average before and after, since other processes on the machine skew every figure.
 * Prints figures; it is not a test. Exits 1 when a result differs from the ground truth.
 *
 * Usage: deno run -A scripts/bench/conntrack_bench.ts [--repeat 3] [--cases 100x1,300x3,1024x10]
 *          [--long-lines] [--bin PATH] [--corpus-dir DIR] [--v8-flags FLAGS]
 * `--bin` runs a compiled binary instead of `deno run -P=app main.ts`; `--corpus-dir` keeps the
 * generated files (and their ground truth) there and reuses them on the next call;
 * `--v8-flags` passes V8 flags to `deno run` instead of those scripts/compile.sh bakes into the
 * binary (the default, so that `deno run` measures what the binary runs; `--v8-flags ""` for
 * none).
 * @module
 */
import { parseArgs } from "node:util";
import { describeShape, utcLastSeen } from "./gen_audit.ts";
import {
  ageFiles,
  binaryV8Flags,
  corpus,
  loadavg,
  maxRss,
  median,
  type Timed,
  timed,
  timing,
  writeIni,
} from "./run_timing.ts";
import { readAccounts } from "../../tests/support/conntrack.ts";
import { cliCommand } from "../../tests/support/cli.ts";

const { values: opts } = parseArgs({
  args: Deno.args,
  options: {
    repeat: { type: "string", default: "3" },
    cases: { type: "string", default: "100x1,300x3,1024x10" },
    "long-lines": { type: "boolean", default: false },
    bin: { type: "string" },
    "corpus-dir": { type: "string" },
    "v8-flags": { type: "string" },
  },
});
const repeat = Number(opts.repeat);
const v8Flags = opts["v8-flags"] ?? binaryV8Flags();
const cases = opts.cases.split(",").map((c) => {
  const [mb, files] = c.split("x").map(Number);
  return { mb, files };
});

/**
 * grep and a conntrack first run (fresh database) in turns, `repeat` times, so both see the
 * same load.
 */
async function againstGrep(
  paths: string[],
  cmd: string,
  args: string[],
  sqlite: string,
): Promise<{ greps: Timed[]; runs: Timed[] }> {
  const greps: Timed[] = [];
  const runs: Timed[] = [];
  for (let i = 0; i < repeat; i++) {
    greps.push(await timed("grep", ["-F", "-c", ",CONNECT,", ...paths], { LC_ALL: "C" }));
    await Deno.remove(sqlite).catch(() => {});
    const r = await timed(cmd, args, { NO_COLOR: "1" });
    if (r.code !== 0) throw new Error(`conntrack failed: ${r.stderr}`);
    runs.push(r);
  }
  return { greps, runs };
}
/** `deno run …` arguments with `--v8-flags` added after `run` when asked for. */
function withV8Flags(args: string[]): string[] {
  return v8Flags ? [args[0], `--v8-flags=${v8Flags}`, ...args.slice(1)] : args;
}

const root = opts["corpus-dir"] ?? await Deno.makeTempDir({ prefix: "mmd-conntrack-bench-" });
let failed = false;
try {
  console.log(
    `conntrack bench: ${navigator.hardwareConcurrency} CPUs, ${
      opts.bin ??
        `deno run${v8Flags ? ` --v8-flags=${v8Flags}` : ""} -P=app main.ts`
    }, repeat ${repeat}, load average ${loadavg()}`,
  );
  for (const { mb, files } of cases) {
    const label = `[${mb} MiB in ${files} file${files > 1 ? "s" : ""}]`;
    const say = (text: string) => console.log(`${label} ${text}`);
    const dir = `${root}/${mb}x${files}${opts["long-lines"] ? "-long" : ""}`;
    await Deno.mkdir(dir, { recursive: true });
    const gen = await corpus(dir, mb, files, opts["long-lines"]);
    say(`corpus: ${(gen.bytes / 1048576).toFixed(0)} MiB, ${describeShape(gen.shape)}`);
    await ageFiles(gen.paths);
    const sqlite = `${dir}/audit.sqlite`;
    const ini = (workers?: number) => writeIni(dir, workers);
    const command = (iniPath: string): [string, string[]] =>
      opts.bin ? [opts.bin, ["conntrack", "-c", iniPath, "-v"]] : [
        Deno.execPath(),
        withV8Flags(
          cliCommand(["conntrack", "-c", iniPath, "-v"], {
            read: [dir],
            write: [dir],
          }),
        ),
      ];
    const [cmd, args] = command(ini());
    const env = { NO_COLOR: "1" };
    // Warm the page cache.
    await new Deno.Command("cat", { args: gen.paths, stdout: "null" }).output();

    const { greps, runs: firsts } = await againstGrep(gen.paths, cmd, args, sqlite);
    const want = [...gen.truth].map(([k, w]) => `${k.replace("\u0000", "|")}|${utcLastSeen(w)}`)
      .sort();
    const got = readAccounts(sqlite);
    const equal = JSON.stringify(want) === JSON.stringify(got);
    const reruns: Timed[] = [];
    for (let i = 0; i < repeat; i++) reruns.push(await timed(cmd, args, env));

    const grepMs = median(greps.map((g) => g.ms));
    const firstMs = median(firsts.map((f) => f.ms));
    const rerunMs = median(reruns.map((r) => r.ms));
    const mibs = (ms: number) => (gen.bytes / 1048576 / (ms / 1000)).toFixed(0);
    const goal = files === 1 ? 2.5 : mb >= 1000 ? 1.2 : undefined;
    say(`conntrack -v: ${firsts[0].stdout.trim()}`);
    say(`grep -F -c ,CONNECT, (LC_ALL=C): ${timing(greps)}`);
    say(
      `first run (MaxWorkers default): ${timing(firsts)}, ${(firstMs / grepMs).toFixed(2)}x grep${
        goal ? ` (goal <= ${goal}x)` : ""
      }`,
    );
    say(
      `first run throughput: ${(gen.shape.lines / firstMs / 1000).toFixed(2)} M lines/s, ${
        mibs(firstMs)
      } MiB/s (grep ${mibs(grepMs)} MiB/s)`,
    );
    say(`re-run, nothing new: ${timing(reruns)} (goal <= 0.15 s)`);
    say(
      `peak RSS: first run ${maxRss(firsts)} MB (max of ${repeat}), re-run ${
        maxRss(reruns)
      } MB, grep ${maxRss(greps)} MB (goal <= 100 MB)`,
    );
    say(
      `ground truth: ${equal ? "exact" : "MISMATCH"} (${got.length} rows, ${want.length} expected)`,
    );
    if (!equal) failed = true;

    if (mb === Math.max(...cases.map((c) => c.mb))) {
      // One parser thread against grep's one thread, back to back.
      const [cmd1, args1] = command(ini(1));
      const one = await againstGrep(gen.paths, cmd1, args1, sqlite);
      const oneMs = median(one.runs.map((r) => r.ms));
      const g1 = median(one.greps.map((g) => g.ms));
      say(
        `MaxWorkers=1: ${timing(one.runs)}, ${mibs(oneMs)} MiB/s (${
          mibs(oneMs - rerunMs)
        } MiB/s without the re-run's fixed cost) vs grep ${mibs(g1)} MiB/s ${timing(one.greps)}: ${
          (oneMs / g1).toFixed(2)
        }x grep, peak RSS ${maxRss(one.runs)} MB`,
      );
    }
    say(`load average after: ${loadavg()}`);
  }
} finally {
  if (!opts["corpus-dir"]) await Deno.remove(root, { recursive: true });
}
if (failed) Deno.exitCode = 1;
