/**
 * The demo behind scripts/demo.sh: a sandbox MariaDB with the audit plugin, a few users over and
 * under their limits, `monitor --once -d 2` and what it did, some logins, `conntrack` and what it
 * recorded — every command run exactly as an operator runs it (`deno run` with the binary's
 * permission set, widened to the sandbox). Everything it starts is stopped and removed at the
 * end, also on failure.
 * @module
 */
import { MariaDB } from "../tests/support/mariadb.ts";
import { type CliResult, runCli } from "../tests/support/cli.ts";
import {
  createMonitorAccount,
  fillSchema,
  Sandbox,
  socketServer,
} from "../tests/support/monitor_fixture.ts";

const bold = Deno.stdout.isTerminal() ? (s: string) => `\x1b[1m${s}\x1b[0m` : (s: string) => s;
const started = Date.now();

function heading(n: number, text: string) {
  console.log(`\n${bold(`== ${n}. ${text}`)}`);
}

function indent(text: string): string {
  return text.trimEnd().split("\n").map((l) => `   ${l}`).join("\n");
}

function show(label: string, r: CliResult) {
  console.log(`$ mysql_monitor_daemon ${label}   (exit ${r.code})`);
  if (r.stdout.trim()) console.log(indent(r.stdout));
  if (r.stderr.trim()) console.log(indent(r.stderr));
}

async function sh(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
}

heading(1, "A sandbox MariaDB with the server_audit plugin");
await using db = await MariaDB.start({ audit: {} });
const [v] = await db.query<{ v: string }>("SELECT VERSION() AS v");
console.log(indent(`${v.v}, pid ${db.pid}, 127.0.0.1:${db.port}, files in ${db.dir}`));

heading(2, "Users, their schemas and their limits");
await createMonitorAccount(db);
const users: [string, number][] = [["alice", 256], ["bob", 1536], ["carol", 3072]];
for (const [user, kib] of users) {
  await db.query("CREATE USER ?@'%' IDENTIFIED BY 'secret'", [user]);
  await db.query(`GRANT ALL ON \`${user}\`.* TO ?@'%'`, [user]);
  await fillSchema(db, user, kib);
}
await using sb = await Sandbox.create([db]);
await sb.writeConf(sb.globals() + socketServer(db, "demo", "schema_mapping=name\n"));
const limits = "# user,soft[,hard]\nalice,10MB,20MB\nbob,1MB,100MB\ncarol,1MB,2MB\n";
await sb.writeUsers(limits);
console.log(indent(`search_user:\n${limits}`));
console.log(
  indent(
    `monitor account "monitor" with the minimal grants (docs/monitor.md), password file mode 0600`,
  ),
);

heading(3, "monitor --once -d 2: measure, warn, lock");
show("monitor --once -d 2", await sb.run(["--once", "-d", "2"], {}, [db.dir]));

heading(4, "What it did");
const [create] = await db.query<Record<string, string>>("SHOW CREATE USER 'carol'@'%'");
console.log(indent(`SHOW CREATE USER carol  ->  ${Object.values(create)[0]}`));
console.log(indent(`audit log ${sb.audit}:\n${await sb.auditLog()}`));
const metrics = (await sb.metrics()).split("\n").filter((l) => l.startsWith("mysql_"));
console.log(indent(`metrics file ${sb.prom} (${metrics.length} series), for example:`));
console.log(indent(metrics.filter((l) => /storage_bytes|locked|_up\{/.test(l)).join("\n")));

heading(5, "Logins: good, failed, and the locked account");
const attempts: [string, string, boolean][] = [
  ["alice", "secret", true],
  ["bob", "secret", false],
  ["alice", "wrong password", true],
  ["carol", "secret", true],
];
for (const [user, pw, tcp] of attempts) {
  try {
    const c = await db.connect(user, pw, tcp);
    await c.query("SELECT 1");
    await c.end();
    console.log(indent(`${user} over ${tcp ? "TCP" : "the socket"}: connected`));
  } catch (err) {
    console.log(
      indent(`${user} over ${tcp ? "TCP" : "the socket"}: refused (${(err as Error).message})`),
    );
  }
}
// The live log is rotated away, as logrotate or the plugin's own rotation would do.
await db.query("SET GLOBAL server_audit_file_rotate_now = ON");

heading(6, "conntrack: last successful login per account, from the audit log");
const auditDir = db.auditLog!.replace(/\/[^/]*$/, "");
const ini = `${sb.dir}/conntracker.ini`;
const sqlite = `${sb.dir}/audit.sqlite`;
await Deno.writeTextFile(
  ini,
  `[default]\nAuditLogPath = ${auditDir}\nSqlitePath = ${sqlite}\nTimeLocation = UTC\n`,
);
const ct = await runCli(["conntrack", "-c", ini, "-v"], {
  read: [sb.dir, auditDir],
  write: [sb.dir],
});
show(`conntrack -c ${ini} -v`, ct);
console.log(`$ sqlite3 ${sqlite} "SELECT name, host, last_seen FROM Accounts"`);
console.log(
  indent(
    await sh("sqlite3", [sqlite, "SELECT name, host, last_seen FROM Accounts ORDER BY name, host"]),
  ),
);

heading(7, "conntrack report: every account of the server, seen or not");
// The report reads mysql.user over the sandbox socket as root (ReportSocket in the ini).
await Deno.writeTextFile(ini, `ReportSocket = ${db.socket}\n`, { append: true });
show(
  "conntrack report --unused-days 30",
  await runCli(["conntrack", "report", "-c", ini, "--unused-days", "30"], {
    read: [sb.dir, auditDir, db.dir],
    write: [sb.dir, db.dir],
  }),
);

heading(8, "Clean-up");
const dirs = [db.dir, sb.dir];
await db.stop();
await sb[Symbol.asyncDispose]();
console.log(indent(`stopped the sandbox server (pid ${db.pid}), removed ${dirs.join(" and ")}`));
console.log(indent(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`));
