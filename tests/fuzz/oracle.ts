/**
 * What every fuzz case must satisfy, whatever its input, and the two ways a case runs: the
 * loader in a worker thread of this process (fast), or the real program as a child process with the binary's own
 * permission set, writes limited to the case's temporary directory, no network, every
 * permission check recorded (DENO_AUDIT_PERMISSIONS), and its time and peak memory measured.
 * @module
 */
import { findUnsafeChar } from "../../src/util/text.ts";
import { permissionFlags, ROOT } from "../support/cli.ts";
import type { LoadReply, LoadRequest } from "./load_worker.ts";

/** The result of running one case. */
export interface Outcome {
  /** Exit code (in process: the code main.ts would exit with). */
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time in milliseconds. */
  ms: number;
  /** Peak resident memory of the child process in MiB (CLI runs only). */
  peakMiB?: number;
  /** Whether the run was stopped for going over its time or memory bound. */
  killed?: string;
  /** Paths the child asked to write (allowed or not), from Deno's permission audit. */
  writes?: string[];
}

/** Bounds and facts an oracle needs about one case. */
export interface OracleOptions {
  /** Exit codes allowed (default 0, 1, 2, 78). */
  codes?: readonly number[];
  /** Longest acceptable run in milliseconds. */
  maxMs: number;
  /** Largest acceptable peak memory in MiB (CLI runs). */
  maxMiB?: number;
  /** Strings that must never appear in any output (passwords of the case). */
  secrets?: readonly string[];
  /** Every byte of the case's input, as text: a path the program tried to write must be in it. */
  inputText?: string;
  /** The temporary directory of the case. */
  dir?: string;
  /** Paths outside `dir` the program may ask to write although the input does not name them. */
  allowedWrites?: readonly string[];
}

/** Program name that starts each error line. */
const PREFIX = "mysql_monitor_daemon: ";
/** A configuration error longer than this (after its file name) is not "quoted at ~80 chars". */
const MAX_CONFIG_MESSAGE = 700;

/**
 * The problems of one outcome under the common oracles: exit code, stack traces, one-line
 * errors that name a file (and stay short and escaped for configuration errors), no secret in
 * any output, bounded time and memory, and no write outside the case's directory unless the
 * input itself named the path.
 */
export function commonProblems(o: Outcome, opts: OracleOptions): string[] {
  const problems: string[] = [];
  const codes = opts.codes ?? [0, 1, 2, 78];
  if (o.killed) problems.push(o.killed);
  if (!codes.includes(o.code)) problems.push(`exit code ${o.code} not in {${codes.join(", ")}}`);
  const all = `${o.stdout}\n${o.stderr}`;
  if (/^\s+at\s/m.test(o.stderr) || /Uncaught|panicked|RUST_BACKTRACE/.test(o.stderr)) {
    problems.push("stack trace or uncaught error on stderr");
  }
  for (const secret of opts.secrets ?? []) {
    if (secret.length >= 6 && all.includes(secret)) problems.push("a password shows in the output");
  }
  if (o.ms > opts.maxMs) problems.push(`took ${Math.round(o.ms)} ms (bound ${opts.maxMs} ms)`);
  if (opts.maxMiB !== undefined && o.peakMiB !== undefined && o.peakMiB > opts.maxMiB) {
    problems.push(`peak memory ${o.peakMiB} MiB (bound ${opts.maxMiB} MiB)`);
  }
  const lines = o.stderr.split("\n").filter((l) => l !== "");
  if (o.code !== 0) {
    if (lines.length !== 1) problems.push(`error is ${lines.length} lines, not one`);
    const line = lines[lines.length - 1] ?? "";
    if (!line.startsWith(PREFIX)) problems.push("error line does not start with the program name");
    const message = line.slice(PREFIX.length);
    if (o.code === 78) {
      // An absolute path (which may itself hold ":"), then the line when there is one.
      const where = /^\/.*?(?::\d+)?: /.exec(message);
      if (!where) problems.push("configuration error does not name a file");
      else if (message.length - where[0].length > MAX_CONFIG_MESSAGE) {
        problems.push(`configuration error is ${message.length} characters long`);
      }
    }
    const bad = findUnsafeChar(message);
    if (bad) problems.push(`raw ${bad.name} in the error message`);
  }
  // Writes are limited to the case directory; every write asked for elsewhere is in the audit
  // (and in Deno's refusal message), allowed only when the input itself named the path.
  const writes = [...(o.writes ?? [])];
  const refused = /Requires write access to "([^"]*)"/.exec(o.stderr);
  if (refused) writes.push(refused[1]);
  for (const path of new Set(writes)) {
    const inside = opts.dir !== undefined && (path === opts.dir || path.startsWith(`${opts.dir}/`));
    if (!inside && !(opts.inputText ?? "").includes(path) && !opts.allowedWrites?.includes(path)) {
      problems.push(`tried to write ${path}, outside its directory and not named by the input`);
    }
  }
  return problems;
}

/** An in-process outcome, with what the loader returned when it succeeded. */
export interface LoadOutcome extends Outcome {
  /** Name of the error class the loader threw, if any. */
  thrownName?: string;
  /** The worker's projection of the loaded configuration (see load_worker.ts). */
  projection?: unknown;
}

/** Loads handled by one worker before it is replaced (keeps its heap small). */
const WORKER_USES = 400;

/**
 * Runs configuration loaders in worker threads of this process: fast (no process start), and
 * a loader that never returns is stopped (the worker is terminated) instead of stopping the
 * run. Memory is not bounded here: inputs that could exhaust it run as child processes.
 */
export class LoaderPool {
  #idle: { worker: Worker; uses: number }[] = [];
  #next = 1;

  /** Loads `path` (a configuration directory, or an ini file) within `timeoutMs`. */
  async load(kind: LoadRequest["kind"], path: string, timeoutMs: number): Promise<LoadOutcome> {
    const slot = this.#idle.pop() ??
      {
        worker: new Worker(new URL("./load_worker.ts", import.meta.url), { type: "module" }),
        uses: 0,
      };
    const id = this.#next++;
    const start = performance.now();
    const reply = await new Promise<LoadReply | string>((resolve) => {
      const timer = setTimeout(() => resolve(`stopped after ${timeoutMs} ms (hung?)`), timeoutMs);
      slot.worker.onmessage = (e: MessageEvent<LoadReply>) => {
        if (e.data.id !== id) return;
        clearTimeout(timer);
        resolve(e.data);
      };
      slot.worker.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        clearTimeout(timer);
        resolve(`uncaught error in the loader: ${e.message}`);
      };
      slot.worker.postMessage({ id, kind, path } satisfies LoadRequest);
    });
    if (typeof reply === "string") {
      slot.worker.terminate();
      return { code: -1, stdout: "", stderr: "", ms: performance.now() - start, killed: reply };
    }
    if (++slot.uses < WORKER_USES) this.#idle.push(slot);
    else slot.worker.terminate();
    return {
      code: reply.code,
      stdout: "",
      stderr: reply.stderr,
      ms: reply.ms,
      thrownName: reply.thrown,
      projection: reply.projection,
    };
  }

  /** Terminates the idle workers. */
  close(): void {
    for (const { worker } of this.#idle) worker.terminate();
    this.#idle = [];
  }
}

/** Options of {@link runCliCase}. */
export interface CliCaseOptions {
  /** The case's directory: readable and the only writable place. */
  dir: string;
  /** Extra readable paths. */
  read?: string[];
  /** Stop the child after this many milliseconds. */
  timeoutMs: number;
  /** Stop the child when its resident memory goes above this many MiB. */
  maxMiB: number;
}

async function rssMiB(pid: number): Promise<number | undefined> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const m = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs `main.ts args` as the operator would (`deno run` with the app permission set), but with
 * writes allowed only in `dir` and no network. Polls the child's peak memory, and stops it
 * when it goes over the time or memory bound.
 */
export async function runCliCase(args: string[], options: CliCaseOptions): Promise<Outcome> {
  const audit = await Deno.makeTempFile({ prefix: "mmd-fuzz-permissions-" });
  try {
    return { ...await runChild(args, options, audit), writes: await auditedWrites(audit) };
  } finally {
    await Deno.remove(audit);
  }
}

/** The paths of the "write" permission checks in a DENO_AUDIT_PERMISSIONS file. */
async function auditedWrites(audit: string): Promise<string[]> {
  const out: string[] = [];
  for (const line of (await Deno.readTextFile(audit)).split("\n")) {
    if (!line) continue;
    const entry = JSON.parse(line) as { permission?: string; value?: string | null };
    if (entry.permission === "write" && entry.value) out.push(entry.value);
  }
  return out;
}

async function runChild(args: string[], options: CliCaseOptions, audit: string): Promise<Outcome> {
  const start = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-q",
      "--no-prompt",
      ...permissionFlags({ read: [options.dir, ...(options.read ?? [])] }),
      `--allow-write=${options.dir}`,
      "--deny-net",
      `${ROOT}/main.ts`,
      ...args,
    ],
    cwd: options.dir,
    env: { NO_COLOR: "1", DENO_AUDIT_PERMISSIONS: audit },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let peak = 0;
  let killed: string | undefined;
  let done = false;
  const status = child.output();
  const watch = (async () => {
    while (!done) {
      const rss = await rssMiB(child.pid);
      if (rss !== undefined) peak = Math.max(peak, rss);
      const ms = performance.now() - start;
      if (!killed && (peak > options.maxMiB || ms > options.timeoutMs)) {
        killed = peak > options.maxMiB
          ? `stopped at ${peak} MiB (bound ${options.maxMiB} MiB)`
          : `stopped after ${Math.round(ms)} ms (hung?)`;
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const out = await status;
  done = true;
  await watch;
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    ms: performance.now() - start,
    peakMiB: peak,
    killed,
  };
}
