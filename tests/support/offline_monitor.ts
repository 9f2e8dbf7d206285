/**
 * A monitor sandbox and a background daemon for tests that need no database: its one server is a closed port,
 * so scans fail fast while the daemon runs, reloads and answers signals as usual.
 * @module
 */
import { spawnCli } from "./cli.ts";
import { Sandbox } from "./monitor_fixture.ts";

/**
 * A sandbox readable by `run_as=mysql`, whose output directories the daemon creates itself,
 * with a pid file in the sandbox and one server at 127.0.0.1:1 (nothing listens there).
 */
export async function offlineMonitorSandbox(): Promise<Sandbox> {
  const sb = await Sandbox.create();
  await Deno.chmod(sb.dir, 0o755);
  await Deno.remove(`${sb.dir}/out`, { recursive: true });
  await Deno.remove(sb.state, { recursive: true });
  await sb.writeConf(
    sb.globals(`run_as=mysql\npid_file=${sb.dir}/run/monitor.pid\n`) +
      "[server main]\ndb_host=127.0.0.1\ndb_port=1\ndb_user=monitor\nmonitor_interval_sec=60\n",
  );
  await sb.writeUsers("eve,10GB\n");
  return sb;
}

/** A monitor daemon running in the background; its stderr collects as it arrives. */
export class BackgroundMonitor implements AsyncDisposable {
  /** Everything the daemon wrote to stderr so far. */
  stderr = "";
  readonly #child: Deno.ChildProcess;
  readonly #pump: Promise<void>;

  /** Starts `monitor -c DIR ...args` with the sandbox readable and writable. */
  constructor(sb: Sandbox, args: string[]) {
    const child = spawnCli(["monitor", "-c", sb.dir, ...args], {
      read: [sb.dir],
      write: [sb.dir],
    });
    this.#child = child;
    this.#pump = (async () => {
      for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) this.stderr += c;
    })();
    this.#child.stdout.cancel();
  }

  /** Polls `ready` every 100 ms for up to a minute; fails with the daemon's stderr. */
  async until(what: string, ready: () => boolean | Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (!(await Promise.resolve().then(ready).catch(() => false))) {
      if (Date.now() > deadline) {
        throw new Error(`${what} timed out; daemon stderr: ${this.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops the daemon (SIGTERM) and waits for it. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch { /* already gone */ }
    await this.#child.status;
    await this.#pump;
  }
}
