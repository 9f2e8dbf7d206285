/**
 * What the conntrack benchmarks share: a child process timed under `/usr/bin/time -v` (wall and
 * CPU time, peak RSS), medians and their printing, the load average, the V8 flags the binary
 * carries, and the generated corpora kept in a directory between calls.
 * @module
 */
import { generateAudit, type GenResult } from "./gen_audit.ts";

/** One timed child process. */
export interface Timed {
  ms: number;
  /** User plus system CPU time, ms (less disturbed by other load than the wall time). */
  cpuMs: number;
  code: number;
  stdout: string;
  stderr: string;
  rssKb: number;
}

/** Runs `cmd` under `/usr/bin/time -v`: wall time, exit code, output, peak RSS. */
export async function timed(
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
  const cpu = (what: string) =>
    Number(new RegExp(`${what} time \\(seconds\\): ([\\d.]+)`).exec(stderr)?.[1]);
  return {
    ms,
    cpuMs: 1000 * (cpu("User") + cpu("System")),
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: stderr.replace(/\n?\s*Command being timed:[\s\S]*$/, ""),
    rssKb: rss ? Number(rss[1]) : NaN,
  };
}

/** The middle value (the upper one of the two middles for an even count). */
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** Milliseconds as seconds with three decimals. */
export const secs = (ms: number) => (ms / 1000).toFixed(3);
const list = (xs: number[]) => `[${xs.map(secs).join(", ")}]`;
/** `median s [each], CPU median s` of some runs. */
export const timing = (ts: Timed[]) =>
  `${secs(median(ts.map((t) => t.ms)))} s ${list(ts.map((t) => t.ms))}, CPU ${
    secs(median(ts.map((t) => t.cpuMs)))
  } s`;
/** The highest peak RSS of some runs, in MB (MiB, as `time` counts). */
export const maxRss = (ts: Timed[]) => Math.max(...ts.map((t) => t.rssKb)) / 1024 | 0;
/** The 1, 5 and 15 minute load averages. */
export const loadavg = () =>
  Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");

/** The V8 flags scripts/compile.sh gives the binary (its `V8_FLAGS="…"` line). */
export function binaryV8Flags(): string {
  const script = Deno.readTextFileSync(new URL("../compile.sh", import.meta.url));
  const m = /^V8_FLAGS="([^"]*)"$/m.exec(script);
  if (!m) throw new Error("scripts/compile.sh has no V8_FLAGS line");
  return m[1];
}

/**
 * The generated corpus of `mb` MiB in `files` files under `dir` (`dir/audit`), made on the first
 * call and reused from `dir/corpus.json` on the next ones.
 */
export async function corpus(
  dir: string,
  mb: number,
  files: number,
  longLines = false,
): Promise<Omit<GenResult, "next">> {
  const saved = `${dir}/corpus.json`;
  try {
    const j = JSON.parse(await Deno.readTextFile(saved));
    return { ...j, truth: new Map(j.truth) };
  } catch { /* not generated yet */ }
  const gen = await generateAudit({
    dir: `${dir}/audit`,
    files,
    bytesPerFile: Math.floor((mb * 1048576) / files),
    accounts: 5000,
    seed: 42,
    longLines,
  });
  await Deno.writeTextFile(saved, JSON.stringify({ ...gen, truth: [...gen.truth] }));
  return gen;
}

/**
 * Writes the conntracker.ini the benchmarks run with for the corpus in `dir` (`dir/audit`, the
 * database `dir/audit.sqlite`; with `workers`, that MaxWorkers in a file of its own) and returns
 * its path.
 */
export function writeIni(dir: string, workers?: number): string {
  const path = `${dir}/conntracker${workers ?? ""}.ini`;
  Deno.writeTextFileSync(
    path,
    `[default]\nAuditLogPath=${dir}/audit\nSqlitePath=${dir}/audit.sqlite\nTimeLocation=UTC\n` +
      `LogLevel=ERROR\n${workers ? `MaxWorkers=${workers}\n` : ""}`,
  );
  return path;
}

/**
 * Dates the corpus files a minute back, so that conntrack does not hold back the newest one as
 * possibly still being written.
 */
export async function ageFiles(paths: string[]): Promise<void> {
  const past = new Date(Date.now() - 60_000);
  for (const p of paths) await Deno.utime(p, past, past);
}
