/**
 * The fuzz runner: runs seeded cases of a list of targets (one per input format) and collects
 * the failures with what is needed to replay each one.
 *
 * A target is anything that can build one case from a random generator in an empty directory,
 * run it and say what went wrong; the configuration targets are in config_targets.ts, and a
 * target for another input (the audit logs) only has to implement {@link FuzzTarget}.
 * Case `i` of a run with seed `s` uses target `i mod n` and the generator seeded with
 * `caseSeed(s, i)`, so a case is replayed from its target and case seed alone, whatever the
 * number of cases or jobs.
 * @module
 */
import { caseSeed, Rng } from "./rng.ts";

/** What a target gets for one case. */
export interface CaseContext {
  /** An empty directory of its own; removed after the case unless it failed. */
  dir: string;
  /** Run the real program as a child process (slow, measures memory, limits writes). */
  cli: boolean;
}

/** What a target reports for one case. */
export interface CaseReport {
  /** What went wrong; empty when the case passed. */
  problems: string[];
  /** A few words about the input (kinds of mutation), shown with a failure. */
  summary: string;
  /** Whether the case ran the real program (a target may insist, e.g. for special files). */
  cli?: boolean;
  /** Outcome figures, for the statistics. */
  code?: number;
  ms?: number;
  peakMiB?: number;
}

/** One input format under test. */
export interface FuzzTarget {
  /** Short name, used in `--target` and in replay lines. */
  name: string;
  /** Builds one case from `rng` in `ctx.dir`, runs it and reports. */
  run(rng: Rng, ctx: CaseContext): Promise<CaseReport>;
  /** Releases what the target kept between cases (workers), at the end of a run. */
  close?(): void;
}

/** A failed case, with how to replay it. */
export interface Failure {
  target: string;
  index: number;
  seed: number;
  cli: boolean;
  summary: string;
  problems: string[];
  /** The case's directory, kept for inspection. */
  dir: string;
  /** The command that runs this case again. */
  replay: string;
}

/** Options of {@link runFuzz}. */
export interface FuzzOptions {
  targets: readonly FuzzTarget[];
  /** Number of cases. */
  cases: number;
  /** Seed of the run. */
  seed: number;
  /** Every N-th case also runs through the real program (0: never). */
  cliEvery: number;
  /** Cases in flight at once. */
  jobs: number;
  /** Only these case seeds (replay); `cases` is then ignored. */
  only?: { target: string; seed: number; cli: boolean };
  /** Called after each case. */
  onCase?: (done: number, total: number, failure?: Failure) => void;
}

/** Figures of a run. */
export interface FuzzSummary {
  cases: number;
  cliCases: number;
  failures: Failure[];
  ms: number;
  /** Exit codes seen, by code. */
  codes: Record<number, number>;
  /** Slowest case in milliseconds, and the largest peak memory of a child process in MiB. */
  slowestMs: number;
  peakMiB: number;
}

/** The command line that replays one case. */
export function replayCommand(target: string, seed: number, cli: boolean): string {
  return `deno task fuzz --target ${target} --case-seed 0x${seed.toString(16).padStart(8, "0")}` +
    (cli ? " --cli" : "");
}

/** Runs the cases and returns the figures and failures. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzSummary> {
  const start = performance.now();
  type Job = { target: FuzzTarget; index: number; seed: number; cli: boolean };
  const jobs: Job[] = [];
  if (options.only) {
    const target = options.targets.find((t) => t.name === options.only!.target);
    if (!target) throw new TypeError(`no fuzz target "${options.only.target}"`);
    jobs.push({ target, index: 0, seed: options.only.seed, cli: options.only.cli });
  } else {
    for (let i = 0; i < options.cases; i++) {
      jobs.push({
        target: options.targets[i % options.targets.length],
        index: i,
        seed: caseSeed(options.seed, i),
        // Spread the CLI runs over the targets.
        cli: options.cliEvery > 0 &&
          Math.floor(i / options.targets.length) % options.cliEvery === 0,
      });
    }
  }
  const summary: FuzzSummary = {
    cases: 0,
    cliCases: 0,
    failures: [],
    ms: 0,
    codes: {},
    slowestMs: 0,
    peakMiB: 0,
  };
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      const dir = await Deno.makeTempDir({ prefix: `mmd-fuzz-${job.target.name}-` });
      let report: CaseReport;
      try {
        report = await job.target.run(new Rng(job.seed), { dir, cli: job.cli });
      } catch (err) {
        // A fault of the harness or of the loader that escaped the target: a failure too.
        report = {
          problems: [`uncaught: ${err instanceof Error ? err.stack ?? err.message : err}`],
          summary: "",
        };
      }
      summary.cases++;
      const cli = report.cli ?? job.cli;
      if (cli) summary.cliCases++;
      if (report.code !== undefined) {
        summary.codes[report.code] = (summary.codes[report.code] ?? 0) + 1;
      }
      summary.slowestMs = Math.max(summary.slowestMs, report.ms ?? 0);
      summary.peakMiB = Math.max(summary.peakMiB, report.peakMiB ?? 0);
      let failure: Failure | undefined;
      if (report.problems.length) {
        failure = {
          target: job.target.name,
          index: job.index,
          seed: job.seed,
          cli,
          summary: report.summary,
          problems: report.problems,
          dir,
          replay: replayCommand(job.target.name, job.seed, job.cli),
        };
        summary.failures.push(failure);
      } else {
        await Deno.remove(dir, { recursive: true });
      }
      options.onCase?.(summary.cases, jobs.length, failure);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, options.jobs) }, worker));
  } finally {
    for (const t of options.targets) t.close?.();
  }
  summary.ms = performance.now() - start;
  return summary;
}

/** A failure as a few lines of text: target, seed, problems, input summary, replay command. */
export function describeFailure(f: Failure): string {
  return [
    `FAIL ${f.target} case ${f.index} seed 0x${f.seed.toString(16).padStart(8, "0")}${
      f.cli ? " (cli)" : ""
    }: ${f.problems.join("; ")}`,
    `  input: ${f.summary}; kept in ${f.dir}`,
    `  replay: ${f.replay}`,
  ].join("\n");
}
