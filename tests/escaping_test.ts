/**
 * Every human output (the `monitor --once` table, log lines on stderr, the journal and syslog,
 * the monitor audit log, the `conntrack report` table) shows hostile names through the one
 * escaping rule, `escapeText`: nothing a terminal acts on gets through, every record stays on
 * its line, and a name holding a literal `\n` never looks like one holding a newline.
 */
import assert from "node:assert/strict";
import { renderTable } from "../src/monitor/table.ts";
import { appendAudit, formatAuditLine } from "../src/monitor/audit_log.ts";
import { buildReport } from "../src/report/report.ts";
import { renderText } from "../src/report/render.ts";
import { log, setupLogging, teardownLogging } from "../src/system/log.ts";
import { NotifySocket } from "./support/notify_socket.ts";

/** Hostile names and how each must be shown. */
const HOSTILE: [string, string][] = [
  ["evil\u202Etxt.exe", "evil\\u{202e}txt.exe"], // bidi override
  ["c1\u009B31m", "c1\\x9b31m"], // C1 CSI
  ["nel\u0085x", "nel\\x85x"], // C1 next line
  ["a\\nb", "a\\\\nb"], // a literal backslash and n
  ["a\nb", "a\\nb"], // a real newline
  ["cr\rlf", "cr\\rlf"],
  ["\x1b[2Jclear", "\\x1b[2Jclear"], // ESC
  ["ls\u2028ps\u2029", "ls\\u{2028}ps\\u{2029}"],
  ["zw\u200Bj", "zw\\u{200b}j"],
];

const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/** Checks `text` (made of `lines` lines) for raw unsafe characters and the escaped forms. */
function checkOutput(what: string, text: string, lines: number): void {
  const split = text.replace(/\n$/, "").split("\n");
  assert.equal(split.length, lines, `${what}: ${lines} lines expected:\n${text}`);
  for (const line of split) assert.doesNotMatch(line, UNSAFE, `${what}: raw character in ${line}`);
  for (const [name, shown] of HOSTILE) {
    assert.ok(text.includes(shown), `${what}: ${JSON.stringify(name)} not shown as ${shown}`);
  }
  // The literal backslash-n and the real newline stay distinguishable.
  assert.ok(text.includes("a\\\\nb") && /(^|[^\\])a\\nb/.test(text), what);
}

Deno.test("escaping: every human output shows hostile names through escapeText", async () => {
  // monitor --once table: header + one row per user.
  const table = renderTable([{
    server: "db1",
    up: true,
    durationSec: 0,
    errorsTotal: 0,
    stale: false,
    users: HOSTILE.map(([name]) => ({
      user: name,
      usage: 10,
      hard: 100,
      locked: false,
      status: "ok" as const,
      actions: [],
    })),
  }]);
  checkOutput("monitor --once table", table, 1 + HOSTILE.length);

  // Monitor audit log, as formatted and as written to the file.
  const entries = HOSTILE.map(([name]) => ({
    server: "db1",
    user: name,
    host: name,
    usage: 1,
    limit: 2,
    action: "lock",
    result: "ok",
  }));
  const audit = entries.map((e) => formatAuditLine(e, new Date(0))).join("\n");
  checkOutput("audit line", audit, HOSTILE.length);
  const dir = await Deno.makeTempDir({ prefix: "mmd-escape-" });
  try {
    await appendAudit(`${dir}/audit.log`, entries);
    checkOutput("audit log file", await Deno.readTextFile(`${dir}/audit.log`), HOSTILE.length);

    // Log lines: in-process sink, syslog datagrams, and stderr/journal of a child process.
    const lines: string[] = [];
    await setupLogging({ level: "info", target: { lines } });
    try {
      for (const [name] of HOSTILE) {
        log("monitor").warning("user {user} over limit", { user: name });
      }
    } finally {
      await teardownLogging();
    }
    checkOutput("log records", lines.join("\n"), HOSTILE.length);

    await using sock = await NotifySocket.listen(`${dir}/log.sock`);
    await setupLogging({ level: "info", target: "syslog", syslogPath: sock.path });
    try {
      for (const [name] of HOSTILE) {
        log("monitor").warning("user {user} over limit", { user: name });
      }
    } finally {
      await teardownLogging();
    }
    await sock.waitFor(/zw\\u\{200b\}j/); // the last one; datagrams arrive in order
    checkOutput("syslog", sock.messages.join("\n"), HOSTILE.length);

    for (const target of ["stderr", "journal"]) {
      const stderr = await childLog(target);
      checkOutput(`${target} log`, stderr, HOSTILE.length);
      if (target === "journal") assert.match(stderr, /^<4>monitor: user "evil/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }

  // conntrack report table: accounts with hostile names, and hostile names no account has.
  const now = Date.UTC(2026, 0, 31);
  const report = buildReport(
    HOSTILE.map(([name]) => ({ user: name, host: "%", locked: false })),
    HOSTILE.flatMap(([name]) => [
      { name, host: "10.0.0.1", lastSeen: "2026-01-30 00:00:00+00:00" },
      { name: `x${name}`, host: name, lastSeen: "2026-01-30 00:00:00+00:00" },
    ]),
    [],
    { now, unusedDays: 90 },
  );
  const text = renderText(report);
  // header + rows, blank, summary, blank, title, header + rows
  checkOutput("conntrack report table", text, 2 * (1 + HOSTILE.length) + 4);
});

/** Runs a child that logs every hostile name to `target` and returns its stderr. */
async function childLog(target: string): Promise<string> {
  const mod = JSON.stringify(new URL("../src/system/log.ts", import.meta.url).href);
  const script = `
    import { log, setupLogging, teardownLogging } from ${mod};
    await setupLogging({ level: "info", target: ${JSON.stringify(target)} });
    for (const name of ${JSON.stringify(HOSTILE.map(([n]) => n))}) {
      log("monitor").warning("user {user} over limit", { user: name });
    }
    await teardownLogging();
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", "-A", "--config", new URL("../deno.json", import.meta.url).pathname, "-"],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const out = await child.output();
  assert.equal(out.code, 0);
  return new TextDecoder().decode(out.stderr);
}
