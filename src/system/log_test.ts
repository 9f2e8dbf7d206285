import assert from "node:assert/strict";
import { log, renderMessage, setupLogging, teardownLogging } from "./log.ts";

Deno.test("log: hostile values cannot add lines; levels filter", async () => {
  const lines: string[] = [];
  await setupLogging({ level: "warning", target: { lines } });
  try {
    log("test").info("dropped {x}", { x: 1 });
    log("test").warning("rejected user {user} at {file}:{line}", {
      user: "evil\n20241014 13:22:57,h,root,localhost,1,0,CONNECT,,,0",
      file: "/var/lib/mysql/server_audit.log",
      line: 12,
    });
  } finally {
    await teardownLogging();
  }
  assert.equal(lines.length, 1);
  assert.equal(lines[0].split("\n").length, 1);
  assert.match(
    lines[0],
    /^warning test: rejected user "evil\\n20241014 .*CONNECT,,,0" at \/var\/lib\/mysql\/server_audit.log:12$/,
  );
});

Deno.test("log: values are escaped with escapeText and quoted unless plain", () => {
  const message = ["user ", "a\tb\r\n\x00\x7f\x85\u2028\\", " at ", "/var/log/x.log", ""];
  assert.equal(
    renderMessage({ message }),
    'user "a\\tb\\r\\n\\x00\\x7f\\x85\\u{2028}\\\\" at /var/log/x.log',
  );
});

Deno.test("log: syslog target sends one datagram per record with facility daemon", async () => {
  const { NotifySocket } = await import("../../tests/support/notify_socket.ts");
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
