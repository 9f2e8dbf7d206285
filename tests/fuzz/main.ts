/**
 * `deno task fuzz`: the long fuzz run, on demand.
 *
 *     deno task fuzz --cases 20000                  # random seed, printed first
 *     deno task fuzz --cases 5000 --seed 0x1234 --target search_user
 *     deno task fuzz --target passwd --case-seed 0x9e3779b9 [--cli]   # replay one case
 *
 * Every case runs its loader in this process; every `--cli-every`-th case (default 20) also
 * runs the real program as a child process. Prints each failure with its replay command and
 * keeps its inputs; exits 1 when any case failed.
 * @module
 */
import { parseArgs } from "node:util";
import { auditLogTarget } from "./audit_log.ts";
import { CONFIG_TARGETS } from "./config_targets.ts";
import { describeFailure, type FuzzTarget, runFuzz } from "./runner.ts";

/** Every target `deno task fuzz` knows. Targets for more inputs are added to this list. */
export const ALL_TARGETS: readonly FuzzTarget[] = [...CONFIG_TARGETS, auditLogTarget];

function number(text: string | undefined, fallback: number, name: string): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(text) || !Number.isSafeInteger(n)) {
    throw new TypeError(`--${name} takes a number (decimal or 0x hex), got "${text}"`);
  }
  return n;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv[0] === "--" ? argv.slice(1) : argv,
    options: {
      cases: { type: "string" },
      seed: { type: "string" },
      target: { type: "string", multiple: true },
      "case-seed": { type: "string" },
      cli: { type: "boolean" },
      "cli-every": { type: "string" },
      jobs: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "deno task fuzz [--cases N] [--seed S] [--target NAME ...] [--cli-every N] [--jobs N]\n" +
        "deno task fuzz --target NAME --case-seed S [--cli]\n" +
        `targets: ${ALL_TARGETS.map((t) => t.name).join(", ")}`,
    );
    return 0;
  }
  const names = values.target ?? [];
  const unknown = names.filter((n) => !ALL_TARGETS.some((t) => t.name === n));
  if (unknown.length) throw new TypeError(`unknown target ${unknown.join(", ")}`);
  const targets = names.length ? ALL_TARGETS.filter((t) => names.includes(t.name)) : ALL_TARGETS;
  const seed = number(values.seed, (Math.random() * 2 ** 32) >>> 0, "seed") >>> 0;
  const replay = values["case-seed"];
  if (replay !== undefined && targets.length !== 1) {
    throw new TypeError("--case-seed needs exactly one --target");
  }
  const cases = number(values.cases, 2000, "cases");
  if (replay === undefined) {
    console.log(
      `fuzz: ${cases} cases over ${targets.map((t) => t.name).join(", ")}, seed 0x${
        seed.toString(16)
      } (rerun with --seed 0x${seed.toString(16)})`,
    );
  }
  let lastReport = performance.now();
  const summary = await runFuzz({
    targets,
    cases,
    seed,
    cliEvery: number(values["cli-every"], 20, "cli-every"),
    jobs: number(values.jobs, 2, "jobs"),
    only: replay === undefined ? undefined : {
      target: targets[0].name,
      seed: number(replay, 0, "case-seed") >>> 0,
      cli: values.cli ?? false,
    },
    onCase(done, total, failure) {
      if (failure) console.log(describeFailure(failure));
      if (performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        console.log(`fuzz: ${done}/${total} cases`);
      }
    },
  });
  console.log(
    `fuzz: ${summary.cases} cases (${summary.cliCases} through the program) in ${
      (summary.ms / 1000).toFixed(1)
    } s; exit codes ${JSON.stringify(summary.codes)}; slowest case ${
      Math.round(summary.slowestMs)
    } ms; largest child peak ${summary.peakMiB} MiB; ${summary.failures.length} failed`,
  );
  return summary.failures.length ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (err) {
    console.error(`fuzz: ${err instanceof Error ? err.message : err}`);
    Deno.exit(2);
  }
}
