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
