import assert from "node:assert/strict";
import { formatAuditLine } from "./audit_log.ts";

Deno.test("audit log: one line per action, hostile names quoted", () => {
  const t = new Date("2026-01-02T03:04:05Z");
  assert.equal(
    formatAuditLine({
      server: "db1",
      user: "alice",
      host: "%",
      usage: 10,
      limit: 5,
      action: "lock",
      result: "ok",
    }, t),
    "2026-01-02T03:04:05.000Z server=db1 user=alice host=% usage=10 limit=5 action=lock result=ok",
  );
  const line = formatAuditLine({
    server: "db1",
    user: "o'brien\nserver=evil result=ok",
    usage: 1,
    limit: 2,
    action: "soft_exceeded",
    result: "warned",
  }, t);
  assert.equal(line.split("\n").length, 1);
  assert.match(line, /user="o'brien\\nserver=evil result=ok" usage=1/);
});
