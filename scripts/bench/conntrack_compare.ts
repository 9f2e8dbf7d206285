/**
 * Compares variants of conntrack on one corpus: V8 flag sets and/or other checkouts of this
 * repository (an older commit in a `git worktree`, say), run in turns with grep in every round so
 * that each sees the same moment of the machine. On a machine whose speed drifts over minutes,
 * only figures printed side by side like this compare.
 *
 * Every variant runs once untimed first (Deno caches a checkout's transpiled modules on its first
 * run). Each round: `LC_ALL=C grep -F -c ,CONNECT,` over the files, then every variant's first run on a
 * fresh database (`deno run -P=app main.ts conntrack`, default MaxWorkers unless the corpus has
 * an ini for another). Printed per variant: the median wall time and its ratio to grep's median,
 * each run, the median CPU time and the highest peak RSS; every run must exit 0 and fill the
 * same number of `Accounts` rows.
 *
 * Usage: deno run -A scripts/bench/conntrack_compare.ts --corpus-dir DIR [--case 100x1]
 *          [--rounds 7] --variant LABEL=[FLAGS][@CHECKOUT] ...
 * FLAGS are V8 flags (none after `=`: those scripts/compile.sh gives the binary; `-` for none);
 * CHECKOUT is the root of another checkout (default: this one). The corpus is generated as
 * conntrack_bench.ts does (same seed and shape) when DIR has none yet.
 *
 * Example, the binary's flags against compiles on V8's own compiler threads:
 *
 *     deno run -A scripts/bench/conntrack_compare.ts --corpus-dir /tmp/corpus --case 100x1 \
 *       --variant now= --variant concurrent=--max-semi-space-size=1,--no-allocation-site-pretenuring
 *
 * Prints figures; it is not a test. Exits 1 when a run fails or the row counts differ.
 * @module
 */
import { parseArgs } from "node:util";
import { cliCommand, ROOT } from "../../tests/support/cli.ts";
import { readAccounts } from "../../tests/support/conntrack.ts";
import { describeShape } from "./gen_audit.ts";
import {
  ageFiles,
  binaryV8Flags,
  corpus,
  loadavg,
  maxRss,
  median,
  secs,
  type Timed,
  timed,
  timing,
  writeIni,
} from "./run_timing.ts";

const { values: opts } = parseArgs({
  args: Deno.args,
  options: {
    "corpus-dir": { type: "string" },
    case: { type: "string", default: "100x1" },
    rounds: { type: "string", default: "7" },
    variant: { type: "string", multiple: true },
  },
});

interface Variant {
  label: string;
  flags: string;
  root: string;
}

/** `LABEL=[FLAGS][@CHECKOUT]` as a variant. */
function parseVariant(spec: string): Variant {
  const eq = spec.indexOf("=");
  if (eq <= 0) throw new Error(`--variant ${spec}: expected LABEL=[FLAGS][@CHECKOUT]`);
  const rest = spec.slice(eq + 1);
  const at = rest.indexOf("@");
  const flags = at < 0 ? rest : rest.slice(0, at);
  const root = at < 0 ? ROOT : rest.slice(at + 1).replace(/\/$/, "");
  return {
    label: spec.slice(0, eq),
    flags: flags === "" ? binaryV8Flags() : flags === "-" ? "" : flags,
    root,
  };
}

const dirRoot = opts["corpus-dir"];
const variants = (opts.variant ?? []).map(parseVariant);
const match = /^(\d+)x(\d+)$/.exec(opts.case);
if (!dirRoot || variants.length === 0 || !match) {
  console.error(
    "usage: conntrack_compare.ts --corpus-dir DIR [--case 100x1] [--rounds 7] " +
      "--variant LABEL=[FLAGS][@CHECKOUT] ...",
  );
  Deno.exit(64);
}
const [mb, files] = [Number(match[1]), Number(match[2])];
const rounds = Number(opts.rounds);
const dir = `${dirRoot}/${opts.case}`;
await Deno.mkdir(dir, { recursive: true });
const gen = await corpus(dir, mb, files);
await ageFiles(gen.paths);
const sqlite = `${dir}/audit.sqlite`;
const ini = writeIni(dir);

/** The `deno run` arguments of `variant`: this checkout's permission set, its own files. */
function argsOf(variant: Variant): string[] {
  const args = cliCommand(["conntrack", "-c", ini], { read: [dir], write: [dir] })
    .map((a) => a.replaceAll(ROOT, variant.root));
  return variant.flags ? [args[0], `--v8-flags=${variant.flags}`, ...args.slice(1)] : args;
}

console.log(
  `conntrack compare: ${opts.case} (${(gen.bytes / 1048576).toFixed(0)} MiB, ${
    describeShape(gen.shape)
  }), ${rounds} rounds, ${navigator.hardwareConcurrency} CPUs, load average ${loadavg()}`,
);
// One untimed run each first: a checkout run for the first time has its modules transpiled and
// cached by Deno, which would count against it.
for (const v of variants) {
  await Deno.remove(sqlite).catch(() => {});
  await timed(Deno.execPath(), argsOf(v), { NO_COLOR: "1" });
}
const greps: Timed[] = [];
const runs: Timed[][] = variants.map(() => []);
const rows = new Set<number>();
let failed = false;
for (let r = 0; r < rounds; r++) {
  await new Deno.Command("cat", { args: gen.paths, stdout: "null" }).output();
  greps.push(await timed("grep", ["-F", "-c", ",CONNECT,", ...gen.paths], { LC_ALL: "C" }));
  for (const [k, v] of variants.entries()) {
    await Deno.remove(sqlite).catch(() => {});
    const t = await timed(Deno.execPath(), argsOf(v), { NO_COLOR: "1" });
    if (t.code !== 0) {
      console.error(`${v.label}: exit ${t.code}: ${t.stderr.trim()}`);
      failed = true;
    } else rows.add(readAccounts(sqlite).length);
    runs[k].push(t);
  }
}
const grepMs = median(greps.map((g) => g.ms));
console.log(`grep -F -c ,CONNECT, (LC_ALL=C): ${timing(greps)}`);
for (const [k, v] of variants.entries()) {
  const ms = median(runs[k].map((t) => t.ms));
  console.log(
    `${v.label}: ${timing(runs[k])}, ${(ms / grepMs).toFixed(2)}x grep, peak RSS ${
      maxRss(runs[k])
    } MB  [${v.flags || "no V8 flags"}${v.root === ROOT ? "" : ` @ ${v.root}`}]`,
  );
}
if (rows.size > 1) {
  console.error(`the variants filled different numbers of Accounts rows: ${[...rows].join(", ")}`);
  failed = true;
}
console.log(
  `Accounts rows: ${[...rows].join(", ")}; load average after ${loadavg()}; grep ${secs(grepMs)} s`,
);
if (failed) Deno.exit(1);
