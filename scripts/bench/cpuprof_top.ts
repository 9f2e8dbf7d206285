/**
 * Reads a V8 CPU profile (`deno run --cpu-prof --cpu-prof-dir=DIR …` writes one per run) and
 * prints the functions with the most self time: milliseconds, share of the sampled time, name
 * and place. With `--parents NAME` it prints, instead, which callers NAME's self time came from.
 * Prints figures; it is not a test.
 *
 *     deno run -A --cpu-prof --cpu-prof-dir=/tmp/prof --v8-flags=$F \
 *       scripts/bench/conntrack_files.ts DIR
 *     deno run -A scripts/bench/cpuprof_top.ts [--top 30] [--parents lastByte] /tmp/prof/*.cpuprofile
 * @module
 */
import { parseArgs } from "node:util";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: { top: { type: "string", default: "30" }, parents: { type: "string" } },
  allowPositionals: true,
});
if (positionals.length !== 1) {
  console.error("usage: cpuprof_top.ts [--top N] [--parents NAME] FILE.cpuprofile");
  Deno.exit(64);
}
const profile: Profile = JSON.parse(Deno.readTextFileSync(positionals[0]));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parentOf = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
/** Microseconds of samples whose top frame is each node. */
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => {
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
const where = (f: CallFrame) =>
  `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}:${f.lineNumber + 1}`;

const sums = new Map<string, number>();
let total = 0;
for (const [id, us] of selfUs) {
  total += us;
  const node = byId.get(id)!;
  if (values.parents !== undefined && node.callFrame.functionName !== values.parents) continue;
  const parent = byId.get(parentOf.get(id) ?? -1);
  const key = values.parents !== undefined
    ? (parent ? where(parent.callFrame) : "(root)")
    : where(node.callFrame);
  sums.set(key, (sums.get(key) ?? 0) + us);
}
const rows = [...sums].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top));
for (const [key, us] of rows) {
  console.log(
    `${(us / 1000).toFixed(1).padStart(8)} ms ${
      (100 * us / total).toFixed(1).padStart(5)
    } %  ${key}`,
  );
}
console.log(`sampled ${(total / 1000).toFixed(0)} ms`);
