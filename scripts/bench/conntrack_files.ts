/**
 * Per-file parse times on one thread: scans the files of a directory in order (or newest last
 * with --reverse) in this process, as one parser thread does, and prints each file's time, so
 * the thread's start-up (V8 compiling and re-compiling the parser) shows against the files read
 * later. Prints figures; it is not a test. Run it with the V8 flags the binary carries
 * (scripts/compile.sh), e.g.
 *
 *     deno run -A --v8-flags=--max-semi-space-size=1,--no-allocation-site-pretenuring,--no-concurrent-recompilation \
 *       scripts/bench/conntrack_files.ts /work/.bench-corpus/1024x10/audit
 *
 * `--step N` also prints the time of every N MiB read (across files), where the warm-up shows
 * at a finer grain than per file.
 *
 * Add --trace-opt,--trace-deopt to those flags to see what V8 compiles in which file (with --mark, a
 * line `---- file N` goes through V8's own output after each file, so the two stay in order; it
 * needs --allow-natives-syntax as well).
 * @module
 */
import { parseArgs } from "node:util";
import { Findings, scanFile } from "../../src/conntrack/scan.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: {
    reverse: { type: "boolean", default: false },
    mark: { type: "boolean", default: false },
    step: { type: "string" },
  },
  allowPositionals: true,
});
const dir = positionals[0];
if (!dir) {
  console.error("usage: conntrack_files.ts [--reverse] [--mark] [--step MiB] DIR");
  Deno.exit(64);
}
const files = [...Deno.readDirSync(dir)].filter((e) => e.isFile).map((e) => `${dir}/${e.name}`)
  .sort();
if (values.reverse) files.reverse();

/** Prints through V8 (so it lands in order with --trace-* output) when natives syntax is on. */
function mark(text: string): void {
  if (!values.mark) return;
  new Function("s", "%DebugPrint(s)")(text);
}

// With --step N: the time of every N MiB read, across files, to show how the warm-up goes.
const stepBytes = values.step ? Number(values.step) * 1048576 : 0;
const steps: number[] = [];
let bytesRead = 0;
let nextStep = stepBytes;
let stepStart = performance.now();
const onRead = stepBytes > 0
  ? (n: number) => {
    bytesRead += n;
    while (bytesRead >= nextStep) {
      const now = performance.now();
      steps.push(now - stepStart);
      stepStart = now;
      nextStep += stepBytes;
    }
  }
  : undefined;

const found = new Findings();
const times: number[] = [];
let rejected = 0;
const t0 = performance.now();
files.forEach((path, k) => {
  const t = performance.now();
  const r = scanFile(
    { path, start: 0, end: Deno.statSync(path).size, zone: "UTC" },
    found,
    onRead,
  );
  rejected += r.rejected;
  times.push(performance.now() - t);
  mark(`---- file ${k + 1}`);
});
const total = performance.now() - t0;
const steady = times.slice(-Math.max(1, Math.floor(times.length / 2)));
const median = steady.sort((a, b) => a - b)[Math.floor(steady.length / 2)];
console.log(
  `${files.length} files, ms each: ${times.map((t) => t.toFixed(0)).join(" ")}; total ${
    total.toFixed(0)
  } ms; start-up ≈ ${
    (total - median * times.length).toFixed(0)
  } ms over ${files.length} × the later half's median (${
    median.toFixed(0)
  } ms); ${rejected} lines rejected, ${found.logins.size} accounts`,
);
if (steps.length) {
  console.log(`ms per ${values.step} MiB read: ${steps.map((t) => t.toFixed(1)).join(" ")}`);
}
