import assert from "node:assert/strict";
import { NotifySocket } from "./support/notify_socket.ts";

async function runWith(env: Record<string, string>, code: string): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "-q", code],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

const mod = JSON.stringify(new URL("../src/system/sd_notify.ts", import.meta.url).href);

Deno.test("sd_notify: READY, RELOADING with MONOTONIC_USEC and STOPPING reach NOTIFY_SOCKET", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mmd-notify-" });
  try {
    await using sock = await NotifySocket.listen(`${dir}/notify.sock`);
    const sent = await runWith(
      { NOTIFY_SOCKET: sock.path },
      `import * as n from ${mod};
       console.log([n.notifyReady("2 servers"), n.notifyReloading(), n.notifyStopping()].join(","));`,
    );
    assert.equal(sent, "true,true,true");
    assert.equal(await sock.waitFor(/^READY=1/), "READY=1\nSTATUS=2 servers");
    const reloading = await sock.waitFor(/^RELOADING=1/);
    const usec = BigInt(reloading.match(/^MONOTONIC_USEC=(\d+)$/m)![1]);
    assert.ok(usec > 0n);
    await sock.waitFor(/^STOPPING=1$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sd_notify: no NOTIFY_SOCKET means no-op; watchdog follows WATCHDOG_USEC/PID", async () => {
  const out = await runWith(
    { WATCHDOG_USEC: "4000000" },
    `import * as n from ${mod}; console.log(n.notify("READY=1"), n.watchdogIntervalMs());`,
  );
  assert.equal(out, "false 2000");
  const other = await runWith(
    { WATCHDOG_USEC: "4000000", WATCHDOG_PID: "1" },
    `import * as n from ${mod}; console.log(n.watchdogIntervalMs());`,
  );
  assert.equal(other, "undefined");
});
