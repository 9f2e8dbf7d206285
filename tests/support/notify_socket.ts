/**
 * A listening NOTIFY_SOCKET for tests: a child Deno process (with --unstable-net, which only
 * this helper needs) binds a Unix datagram socket and prints each message it receives as one
 * JSON line. The program under test sends to it exactly as it would to systemd.
 * @module
 */

/** A datagram socket collecting sd_notify messages. */
export class NotifySocket implements AsyncDisposable {
  readonly path: string;
  readonly messages: string[] = [];
  #child: Deno.ChildProcess;
  #done: Promise<void>;

  private constructor(path: string, child: Deno.ChildProcess, ready: Promise<void>) {
    this.path = path;
    this.#child = child;
    this.#done = ready;
  }

  /** Binds a socket at `path` and starts collecting. */
  static async listen(path: string): Promise<NotifySocket> {
    const script = `
      const l = Deno.listenDatagram({ transport: "unixpacket", path: ${JSON.stringify(path)} });
      console.log(JSON.stringify("LISTENING"));
      for await (const [data] of l) console.log(JSON.stringify(new TextDecoder().decode(data)));
    `;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", "--unstable-net", script],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    let signalReady!: () => void;
    const ready = new Promise<void>((r) => signalReady = r);
    const sock = new NotifySocket(path, child, Promise.resolve());
    const pump = (async () => {
      let buf = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const msg = JSON.parse(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          if (msg === "LISTENING") signalReady();
          else sock.messages.push(msg);
        }
      }
    })();
    sock.#done = pump;
    await ready;
    // Like systemd's own socket: any user may send, so a daemon that dropped root still can.
    await Deno.chmod(path, 0o777);
    return sock;
  }

  /** Waits until a message matching `pattern` arrived (or throws after `ms`). */
  async waitFor(pattern: RegExp, ms = 15_000): Promise<string> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const hit = this.messages.find((m) => pattern.test(m));
      if (hit !== undefined) return hit;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(
      `no sd_notify message matching ${pattern}; got ${JSON.stringify(this.messages)}`,
    );
  }

  /** Stops listening and removes the socket. */
  async close(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch { /* gone */ }
    await this.#child.status;
    await this.#done.catch(() => {});
    await Deno.remove(this.path).catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
