/**
 * Runs the program as a child process the way an operator would: `deno run` with the binary's
 * own permission set ("app" in deno.json), widened only by the sandbox paths a test needs.
 * @module
 */

/** Repository root, as a path. */
export const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** Options for {@link runCli}. */
export interface CliOptions {
  /** Extra paths the process may read (added to the app permission set). */
  read?: string[];
  /** Extra paths the process may write. */
  write?: string[];
  /** Programs the process may run (the app set allows none). */
  run?: string[];
  /** Extra environment variables the process may read (added to the app permission set). */
  allowEnv?: string[];
  /** Environment variables to add. */
  env?: Record<string, string>;
  /** Text for standard input. */
  stdin?: string;
  /** Working directory; default the repository root. */
  cwd?: string;
  /**
   * A hang guard, not a timing assertion: {@link runCli} kills the run with SIGKILL and throws
   * when it has not ended after this many ms (default {@link CLI_HANG_MS}).
   */
  timeoutMs?: number;
}

/** Default hang guard of {@link runCli}: far beyond any run of the suite, short of forever. */
export const CLI_HANG_MS = 300_000;

/** What a finished run printed and returned. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The list the app permission set grants for `kind` ("read", "write" or "env"). */
function appPaths(kind: "read" | "write" | "env"): string[] | true {
  const config = JSON.parse(Deno.readTextFileSync(`${ROOT}/deno.json`));
  const value = config.permissions?.app?.[kind];
  return value === true ? true : Array.isArray(value) ? value : [];
}

/**
 * argv for `deno run` with the app permission set plus `options`' extra paths. A command-line
 * `--allow-read=…` replaces the set's read list instead of adding to it, so the set's own paths
 * are repeated in the flag.
 */
export function cliCommand(args: string[], options: CliOptions = {}): string[] {
  const extra: string[] = [];
  for (const kind of ["read", "write"] as const) {
    const more = options[kind] ?? [];
    const base = appPaths(kind);
    if (more.length && base !== true) extra.push(`--allow-${kind}=${[...base, ...more].join(",")}`);
  }
  if (options.run?.length) extra.push(`--allow-run=${options.run.join(",")}`);
  const env = appPaths("env");
  if (options.allowEnv?.length && env !== true) {
    extra.push(`--allow-env=${[...env, ...options.allowEnv].join(",")}`);
  }
  return [
    "run",
    "-q",
    "--no-prompt",
    "--config",
    `${ROOT}/deno.json`,
    "-P=app",
    ...extra,
    `${ROOT}/main.ts`,
    ...args,
  ];
}

/**
 * The permission flags {@link cliCommand} passes for `options` (everything between `run` and
 * `main.ts`), e.g. for a program that starts itself again (`--daemon`).
 */
export function permissionFlags(options: CliOptions = {}): string[] {
  const argv = cliCommand([], options);
  return argv.slice(argv.indexOf("--config"), -1);
}

/** Starts `main.ts` with `args` in the background, stdout and stderr piped. */
export function spawnCli(args: string[], options: CliOptions = {}): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: cliCommand(args, options),
    cwd: options.cwd ?? ROOT,
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Runs `main.ts` with `args` and collects exit code, stdout and stderr. */
export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: cliCommand(args, options),
    cwd: options.cwd ?? ROOT,
    env: { NO_COLOR: "1", ...options.env },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const limit = options.timeoutMs ?? CLI_HANG_MS;
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    try {
      child.kill("SIGKILL");
    } catch { /* it ended just now */ }
  }, limit);
  const out = await child.output().finally(() => clearTimeout(timer));
  const dec = new TextDecoder();
  const result = { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  if (hung) {
    throw new Error(
      `${args.join(" ")} did not end within ${limit / 1000} s (killed); stderr: ${result.stderr}`,
    );
  }
  return result;
}
