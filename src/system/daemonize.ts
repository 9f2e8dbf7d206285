/**
 * `--daemon` for classic init systems.
 *
 * Deno cannot fork, so the program starts itself again as a detached child (new session, no
 * controlling terminal, stdin from /dev/null) and the parent waits: when the child reports
 * that it is ready, the parent exits 0; when the child dies or gives up first, the parent
 * relays the child's error and exits non-zero. After signalling readiness the child closes
 * stdout and stderr, so the only way out for its logs is syslog.
 * @module
 */
import { ConfigError, RuntimeError } from "../errors.ts";
import { readEnv as envGet } from "../util/env.ts";

/** Set in the child's environment so it knows it is the daemon. */
export const CHILD_ENV = "MYSQL_MONITOR_DAEMON_CHILD";
/** JSON array of `deno run` flags for re-running from source (tests set it; default -P=app). */
export const RUN_FLAGS_ENV = "MYSQL_MONITOR_DAEMON_RUN_FLAGS";
const READY = "MMD-READY";

let child: boolean | undefined;

/** True in the detached child started by {@link startDaemon} (read once, then remembered). */
export function isDaemonChild(): boolean {
  child ??= envGet(CHILD_ENV) === "1";
  return child;
}

/** argv that runs this program again: the binary itself, or `deno run <flags> main.ts`. */
export function selfCommand(args: string[]): { cmd: string; args: string[] } {
  const exe = Deno.execPath();
  if (!/(^|\/)deno$/.test(exe)) return { cmd: exe, args };
  const main = new URL(Deno.mainModule).pathname;
  const config = new URL("../../deno.json", import.meta.url).pathname;
  const raw = envGet(RUN_FLAGS_ENV);
  const flags = raw ? JSON.parse(raw) as string[] : ["-P=app", "--config", config];
  return { cmd: exe, args: ["run", "-q", "--no-prompt", ...flags, main, ...args] };
}

/**
 * Parent side: starts the detached child with `args` and waits up to `timeoutMs` for it to be
 * ready. Resolves with the child's pid; throws with the child's own error message otherwise.
 */
export async function startDaemon(args: string[], timeoutMs = 120_000): Promise<number> {
  const { cmd, args: argv } = selfCommand(args);
  const child = new Deno.Command(cmd, {
    args: argv,
    env: { [CHILD_ENV]: "1" },
    detached: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoderStream();
  const out = child.stdout.pipeThrough(decoder).getReader();
  const errText = new Response(child.stderr).text();
  let seen = "";
  const timer = setTimeout(() => {
    try {
      child.kill("SIGTERM");
    } catch (err) {
      if (!(err instanceof TypeError)) throw err; // already exited
    }
  }, timeoutMs);
  try {
    while (!seen.includes(READY)) {
      const { value, done } = await out.read();
      if (done) break;
      seen += value;
    }
  } finally {
    clearTimeout(timer);
  }
  if (seen.includes(READY)) {
    await out.cancel();
    child.unref();
    return child.pid;
  }
  const status = await child.status;
  const why = (await errText).trim().split("\n").filter(Boolean).pop()?.replace(/^[^:]+: /, "");
  // A configuration error keeps its exit code (78) and its file:line message.
  if (status.code === 78 && why) throw new ConfigError(why);
  throw new RuntimeError(
    `the daemon did not start (exit ${status.code})${why ? `: ${why}` : ""}`,
  );
}

/** Child side: tells the waiting parent that start-up succeeded and lets go of stdout/stderr. */
export function signalDaemonReady(): void {
  if (!isDaemonChild()) return;
  Deno.stdout.writeSync(new TextEncoder().encode(`${READY}\n`));
  Deno.stdout.close();
  Deno.stderr.close();
}
