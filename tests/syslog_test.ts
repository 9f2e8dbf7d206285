/** The syslog log target, received on a real datagram socket. */
import assert from "node:assert/strict";
import { log, setupLogging, teardownLogging } from "../src/system/log.ts";
import { NotifySocket } from "./support/notify_socket.ts";

Deno.test("log: syslog target sends one datagram per record with facility daemon", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mmd-syslog-" });
  try {
    await using sock = await NotifySocket.listen(`${dir}/log.sock`);
    await setupLogging({ level: "info", target: "syslog", syslogPath: sock.path });
    try {
      log("monitor").warning("user {user} over soft limit", { user: "bob\nforged" });
      log("monitor").error("locked {user}", { user: "eve" });
    } finally {
      await teardownLogging();
    }
    // daemon facility (3) * 8 + warning (4) = 28; + error (3) = 27
    assert.equal(
      await sock.waitFor(/^<28>/),
      `<28>mysql_monitor_daemon[${Deno.pid}]: monitor: user "bob\\nforged" over soft limit`,
    );
    assert.equal(
      await sock.waitFor(/^<27>/),
      `<27>mysql_monitor_daemon[${Deno.pid}]: monitor: locked eve`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
