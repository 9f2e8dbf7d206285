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
  /** Environment variables to add. */
  env?: Record<string, string>;
  /** Text for standard input. */
  stdin?: string;
  /** Working directory; default the repository root. */
  cwd?: string;
}

/** What a finished run printed and returned. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** argv for `deno run` with the app permission set plus `options`' extra paths. */
export function cliCommand(args: string[], options: CliOptions = {}): string[] {
  const extra: string[] = [];
  if (options.read?.length) extra.push(`--allow-read=${options.read.join(",")}`);
  if (options.write?.length) extra.push(`--allow-write=${options.write.join(",")}`);
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
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
