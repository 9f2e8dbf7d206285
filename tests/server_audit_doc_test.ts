/**
 * docs/enabling-server-audit.md is right: a real MariaDB started with exactly its my.cnf lines
 * (only the log's directory moved into the test's sandbox) answers its check query as the page
 * says, logs connection events and no statements, refuses to unload the plugin, and conntrack
 * records a login from that log.
 */
import assert from "node:assert/strict";
import mysql from "mysql2/promise";
import { ROOT } from "./support/cli.ts";
import { MariaDB } from "./support/mariadb.ts";
import { sandbox, settle } from "./support/conntrack.ts";

const PAGE = `${ROOT}/docs/enabling-server-audit.md`;

/** The body of the first fenced block of `lang` after the line `heading`. */
function block(markdown: string, heading: string, lang: string): string[] {
  const lines = markdown.split("\n");
  const at = lines.indexOf(heading);
  assert.ok(at >= 0, `no heading "${heading}"`);
  const open = lines.findIndex((l, i) => i > at && l === "```" + lang);
  const close = lines.findIndex((l, i) => i > open && l === "```");
  assert.ok(open > at && close > open, `no ${lang} block after "${heading}"`);
  return lines.slice(open + 1, close);
}

Deno.test("server_audit page: its my.cnf lines and check query work on a real MariaDB, and conntrack reads the log", async () => {
  const page = await Deno.readTextFile(PAGE);
  const cnf = block(page, "## my.cnf", "ini");
  assert.equal(cnf[0], "[mariadb]");
  const options = new Map(
    cnf.slice(1).filter((l) => l.trim() && !/^[#;]/.test(l)).map((l) => {
      const m = /^([a-z_]+)\s*=\s*(.+)$/.exec(l);
      assert.ok(m, `not an option line: ${l}`);
      return [m[1], m[2]] as [string, string];
    }),
  );
  const documentedPath = options.get("server_audit_file_path")!;
  assert.equal(documentedPath, "/var/lib/mysql/server_audit.log");

  const dir = await Deno.makeTempDir({ prefix: "mmd-audit-doc-" });
  try {
    // The same options on the command line (an option file line is a long option without its
    // dashes); only the log's directory is moved into the sandbox.
    const logPath = documentedPath.replace("/var/lib/mysql/", `${dir}/`);
    const args = [...options].map(([k, v]) =>
      `--${k}=${k === "server_audit_file_path" ? logPath : v}`
    );
    await using db = await MariaDB.start({ args });

    // The check query, as printed, and the answer the page promises.
    const queries = block(page, "## Check", "sql");
    assert.equal(queries.length, 2);
    const c = await mysql.createConnection(db.connectionOptions());
    try {
      const [plugin] = await c.query(queries[0]);
      const [vars] = await c.query(queries[1]);
      const rows = [
        ...(plugin as Record<string, string>[]).map((r) => Object.values(r).join("  ")),
        ...(vars as Record<string, string>[]).map((r) =>
          `${r.VARIABLE_NAME.padEnd(24)}  ${r.VARIABLE_VALUE}`
        ),
      ];
      const expected = block(page, "What it must show:", "").map((l) =>
        l.replace(documentedPath, logPath)
      );
      assert.deepEqual(rows, expected);
      // FORCE_PLUS_PERMANENT: the plugin stays.
      await assert.rejects(c.query("UNINSTALL SONAME 'server_audit'"));
    } finally {
      await c.end();
    }

    // A login, a failed login and a statement: connection events only in the log.
    await db.query("CREATE USER 'alice'@'%' IDENTIFIED BY 'pw'");
    const alice = await mysql.createConnection(db.connectionOptions("alice", "pw", true));
    await alice.query("SELECT 1");
    await alice.end();
    await assert.rejects(mysql.createConnection(db.connectionOptions("alice", "bad", true)));
    // The server may write the refused login's record after the client has its error.
    let log = await Deno.readTextFile(logPath);
    for (const deadline = Date.now() + 30_000; !/,FAILED_CONNECT,/.test(log);) {
      assert.ok(Date.now() < deadline, `no FAILED_CONNECT record in ${logPath}:\n${log}`);
      await new Promise((r) => setTimeout(r, 20));
      log = await Deno.readTextFile(logPath);
    }
    assert.match(log, /,alice,localhost,\d+,0,CONNECT,,,0$/m);
    assert.match(log, /,alice,localhost,\d+,0,DISCONNECT,,,0$/m);
    assert.match(log, /,alice,localhost,\d+,0,FAILED_CONNECT,,,1045$/m);
    assert.doesNotMatch(log, /,QUERY,/);

    // conntrack with the documented default file name, on that directory.
    await settle(dir);
    await using box = await sandbox({
      auditDir: dir,
      timeLocation: "UTC",
      extraIni: "AuditFileName = server_audit.log\n",
    });
    const r = await box.run();
    assert.equal(r.code, 0, r.stderr);
    assert.ok(box.accounts().some((a) => a.startsWith("alice|localhost|")), box.accounts().join());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
