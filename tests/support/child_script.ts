/**
 * Runs a snippet of TypeScript in a separate Deno process (all permissions, the project's
 * deno.json) and hands its first line of output to the test. For effects that must not happen
 * in the test process itself: an irreversible privilege drop, a process to be SIGKILLed.
 * @module
 */

/** A running snippet; `kill()` ends it with SIGKILL and releases its streams. */
export interface ScriptChild {
  pid: number;
  /** The first line the snippet printed (without the newline); "" if it printed nothing. */
  firstLine: string;
  kill(): Promise<void>;
}

/** Starts `script` (module code; may import by absolute URL) and waits for its first line. */
export async function startScript(script: string): Promise<ScriptChild> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-q",
      "-A",
      "--config",
      new URL("../../deno.json", import.meta.url).pathname,
      "-",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  while (!buffered.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
  }
  return {
    pid: child.pid,
    firstLine: buffered.split("\n")[0],
    async kill() {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
      await reader.cancel();
    },
  };
}

/** `import.meta.url`-relative module URL, quoted for use inside a snippet. */
export function moduleRef(relative: string, base: string): string {
  return JSON.stringify(new URL(relative, base).href);
}
