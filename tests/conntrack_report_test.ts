import assert from "node:assert/strict";
import { MariaDB } from "./support/mariadb.ts";
import { sandbox, settle } from "./support/conntrack.ts";
import { runCli } from "./support/cli.ts";
import { promtool } from "./support/promtool.ts";

const DAY = 86_400_000;

/** `YYYYMMDD HH:MM:SS` and the stored form `YYYY-MM-DD HH:MM:SS+00:00` of `ms` (UTC). */
function times(ms: number): { audit: string; stored: string } {
  const iso = new Date(Math.floor(ms / 1000) * 1000).toISOString();
  return {
    audit: `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)} ${iso.slice(11, 19)}`,
    stored: `${iso.slice(0, 10)} ${iso.slice(11, 19)}+00:00`,
  };
}

/** The time of login number `i`, `days` (and a few seconds) before `now`. */
function instant(now: number, days: number, i: number): number {
  return now - days * DAY - (20 - i) * 1000;
}

/** Audit lines (in time order) for logins `[daysAgo, user, host, retcode]`. */
function auditLog(now: number, logins: [number, string, string, number][]): string {
  return logins
    .map(([days, user, host, rc], i) => ({ at: instant(now, days, i), user, host, rc, i }))
    .sort((a, b) => a.at - b.at)
    .map(({ at, user, host, rc, i }) =>
      `${times(at).audit},db1,${user},${host},${100 + i},0,${
        rc === 0 ? "CONNECT" : "FAILED_CONNECT"
      },,,${rc}\n`
    )
    .join("");
}

Deno.test("conntrack report against a real server: host patterns, dropped, never seen, hostile names, JSON, metrics", async () => {
  await using db = await MariaDB.start();
  await using box = await sandbox();
  for (
    const sql of [
      "CREATE USER 'app'@'%'",
      "CREATE USER 'app'@'10.1.0.0/255.255.0.0'",
      "CREATE USER 'web'@'web_.example.org'",
      "CREATE USER 'local'@'localhost'",
      "CREATE USER 'never'@'%'",
      "CREATE USER 'locked'@'%' ACCOUNT LOCK",
      "CREATE USER 'dropme'@'%'",
      "CREATE USER 'we,ird\"q'@'%'",
      "CREATE ROLE 'somerole'",
      "DROP USER 'dropme'@'%'",
      "CREATE USER 'reporter'@'127.0.0.1' IDENTIFIED BY 'rep pw'",
      "GRANT SELECT ON mysql.user TO 'reporter'@'127.0.0.1'",
      "GRANT SELECT ON mysql.global_priv TO 'reporter'@'127.0.0.1'",
    ]
  ) await db.query(sql);
  const now = Date.now();
  const hostile = "\x1b]0;pwned\x07\x1b[2Jroot";
  await Deno.writeTextFile(
    `${box.auditDir}/server_audit.log`,
    auditLog(now, [
      [200, "app", "192.168.7.7", 0], // app@% : unused
      [2, "app", "10.1.2.3", 0], // app@10.1.0.0/255.255.0.0 (more specific than %)
      [1, "app", "10.1.2.3", 1045],
      [1, "app", "10.1.2.3", 1045],
      [5, "web", "web1.example.org", 0], // web_.example.org
      [4, "web", "web10.example.org", 0], // no pattern of web matches
      [100, "local", "localhost", 0],
      [3, "dropme", "10.0.0.1", 0], // dropped account
      [1, 'we,ird"q', "10.0.0.5", 0],
      [1, hostile, "10.6.6.6", 1045],
      [300, "locked", "localhost", 0],
    ]),
  );
  await settle(box.auditDir);
  const run = await box.run();
  assert.equal(run.code, 0, run.stderr);
  const sqliteBefore = await Deno.readFile(box.sqlite);

  // Read-only: the report gets no write permission on the sandbox beyond its metrics file.
  const report = (...args: string[]) =>
    runCli(["conntrack", "report", "-c", box.ini, ...args], {
      read: [box.dir, db.dir],
      write: [`${box.dir}/out`, db.socket],
    });
  await Deno.mkdir(`${box.dir}/out`);

  const table = await report("--server", db.socket);
  assert.equal(table.code, 0, table.stderr);
  assert.equal(table.stderr, "");
  const lines = table.stdout.split("\n");
  assert.match(lines[0], /^USER +HOST +STATUS +LAST SEEN +FROM +FAILED LOGINS$/);
  const row = (user: string, host: string) =>
    lines.find((l) => l.startsWith(`${user} `) && l.split(/ {2,}/)[1] === host);
  assert.match(row("app", "10.1.0.0/255.255.0.0")!, /active .* 10\.1\.2\.3 +2 \(last /);
  assert.match(row("app", "%")!, /unused for 200 days .* 192\.168\.7\.7 +0$/);
  assert.match(row("local", "localhost")!, /unused for 100 days/);
  assert.match(row("locked", "%")!, /unused for 300 days, locked/);
  assert.match(row("never", "%")!, /never seen +- +- +0$/);
  assert.equal(row("somerole", ""), undefined, "roles are not accounts");
  const unmatched = lines.slice(lines.findIndex((l) => l.startsWith("No matching account")));
  assert.match(
    unmatched.find((l) => l.startsWith("dropme"))!,
    /10\.0\.0\.1 .* no account of this user$/,
  );
  assert.match(
    unmatched.find((l) => l.startsWith("web "))!,
    /web10\.example\.org .* no host pattern of this user matches$/,
  );
  assert.ok(unmatched.some((l) => l.startsWith("\\x1b]0;pwned\\x07\\x1b[2Jroot ")), table.stdout);
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(table.stdout, /[\x00-\x09\x0b-\x1f\x7f]/);

  // A longer threshold: local (100 days) becomes active, app@% (200 days) stays unused.
  const json = await report("--server", db.socket, "--unused-days", "150", "--json");
  assert.equal(json.code, 0, json.stderr);
  const doc = JSON.parse(json.stdout);
  assert.ok(Math.abs(Date.parse(doc.generated_at) - Date.now()) < 60_000);
  delete doc.generated_at;
  const at = (days: number, i: number) => times(instant(now, days, i));
  const seen = (days: number, i: number, host: string) => ({
    last_seen: at(days, i).stored,
    last_seen_epoch: Math.floor(instant(now, days, i) / 1000),
    clients: [{ host, last_seen: at(days, i).stored }],
  });
  const account = (
    user: string,
    host: string,
    status: string,
    idle: number | null,
    s: ReturnType<typeof seen> | null,
    failed = { count: 0, last: null as string | null },
    locked = false,
  ) => ({
    user,
    host,
    locked,
    status,
    last_seen: s?.last_seen ?? null,
    last_seen_epoch: s?.last_seen_epoch ?? null,
    idle_days: idle,
    clients: s?.clients ?? [],
    failed_logins: failed,
  });
  // The server's own accounts (root@localhost, root@<hostname>, mariadb.sys, …) were never
  // seen in this log.
  const own = ["root", "mariadb.sys", "reporter", "PUBLIC", ""];
  const builtIn = doc.accounts.filter((a: { user: string }) => own.includes(a.user));
  assert.ok(builtIn.some((a: { user: string }) => a.user === "root"));
  for (const a of builtIn) assert.equal(a.status, "never seen", JSON.stringify(a));
  doc.accounts = doc.accounts.filter((a: { user: string }) => !own.includes(a.user));
  assert.deepEqual(doc, {
    unused_days: 150,
    accounts: [
      account("app", "%", "unused", 200, seen(200, 0, "192.168.7.7")),
      account("app", "10.1.0.0/255.255.0.0", "active", 2, seen(2, 1, "10.1.2.3"), {
        count: 2,
        last: at(1, 3).stored,
      }),
      account("local", "localhost", "active", 100, seen(100, 6, "localhost")),
      account("locked", "%", "unused", 300, seen(300, 10, "localhost"), undefined, true),
      account("never", "%", "never seen", null, null),
      account('we,ird"q', "%", "active", 1, seen(1, 8, "10.0.0.5")),
      account("web", "web_.example.org", "active", 5, seen(5, 4, "web1.example.org")),
    ],
    unmatched: [
      {
        name: hostile,
        host: "10.6.6.6",
        reason: "no account of this user",
        last_seen: null,
        failed_logins: { count: 1, last: at(1, 9).stored },
      },
      {
        name: "dropme",
        host: "10.0.0.1",
        reason: "no account of this user",
        last_seen: at(3, 7).stored,
        failed_logins: { count: 0, last: null },
      },
      {
        name: "web",
        host: "web10.example.org",
        reason: "no host pattern of this user matches",
        last_seen: at(4, 5).stored,
        failed_logins: { count: 0, last: null },
      },
    ],
  });

  // Metrics, over TCP as a least-privileged account with a password file (ini keys).
  await Deno.writeTextFile(`${box.dir}/report.passwd`, "# reporter\nrep pw\n", { mode: 0o600 });
  await Deno.chmod(`${box.dir}/report.passwd`, 0o600);
  await Deno.writeTextFile(
    box.ini,
    `ReportHost=127.0.0.1\nReportPort=${db.port}\nReportUser=reporter\nReportPasswordFile=${box.dir}/report.passwd\n`,
    { append: true },
  );
  const prom = `${box.dir}/out/accounts.prom`;
  const metrics = await report("--prom", prom);
  assert.equal(metrics.code, 0, metrics.stderr);
  assert.equal(metrics.stdout, "");
  const text = await Deno.readTextFile(prom);
  assert.match(
    text,
    new RegExp(
      `^mysql_account_last_seen_timestamp_seconds\\{user="app",host="10\\.1\\.0\\.0/255\\.255\\.0\\.0"\\} ${
        Math.floor(instant(now, 2, 1) / 1000)
      }$`,
      "m",
    ),
  );
  assert.match(
    text,
    /^mysql_account_last_seen_timestamp_seconds\{user="we,ird\\"q",host="%"\} \d+$/m,
  );
  assert.match(text, /^mysql_account_never_seen\{user="never",host="%"\} 1$/m);
  assert.doesNotMatch(text, /dropme|pwned/);
  const lint = await promtool(prom);
  assert.equal(lint.code, 0, lint.output);
  assert.equal(lint.output.trim(), "");
  assert.deepEqual([...Deno.readDirSync(`${box.dir}/out`)].map((e) => e.name), ["accounts.prom"]);

  // Without SELECT on mysql.global_priv the same accounts are listed (roles still left out),
  // each lock unknown: the report reads the accounts through the monitor's reader.
  await db.query("REVOKE SELECT ON mysql.global_priv FROM 'reporter'@'127.0.0.1'");
  const noLocks = await report("--json");
  assert.equal(noLocks.code, 0, noLocks.stderr);
  const listed = (JSON.parse(noLocks.stdout).accounts as { user: string; locked: unknown }[])
    .filter((a) => !own.includes(a.user));
  assert.deepEqual(listed.map((a) => a.user), doc.accounts.map((a: { user: string }) => a.user));
  assert.ok(listed.every((a) => a.locked === null), noLocks.stdout);
  await db.query("GRANT SELECT ON mysql.global_priv TO 'reporter'@'127.0.0.1'");

  // Nothing was changed in conntrack's data.
  assert.deepEqual(await Deno.readFile(box.sqlite), sqliteBefore);

  // Bad inputs: a readable password file, a server that does not answer, no data yet.
  await Deno.chmod(`${box.dir}/report.passwd`, 0o644);
  let bad = await report();
  assert.equal(bad.code, 78, bad.stderr);
  assert.match(bad.stderr, /report\.passwd: password file is accessible by group or others/);
  assert.doesNotMatch(bad.stderr, /rep pw/);
  await Deno.chmod(`${box.dir}/report.passwd`, 0o600);
  bad = await report("--server", `${box.dir}/no.sock`);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /report: cannot connect to reporter@.*no\.sock/);
  await db.query("CREATE USER 'nogrants'@'127.0.0.1' IDENTIFIED BY 'rep pw'");
  bad = await report("--server", `nogrants@127.0.0.1:${db.port}`);
  assert.equal(bad.code, 1);
  assert.match(
    bad.stderr,
    /report: cannot read the accounts \(mysql\.user\) as nogrants@127\.0\.0\.1:\d+: .*denied.*needs SELECT on mysql\.user/,
  );
  bad = await report("--server", "bad host!");
  assert.equal(bad.code, 2);
  bad = await report("--unused-days", "0");
  assert.equal(bad.code, 2);
  await Deno.remove(box.sqlite);
  bad = await report("--server", db.socket);
  assert.equal(bad.code, 1);
  assert.match(
    bad.stderr,
    /cannot open SQLite database .*audit\.sqlite \(has conntrack run yet\?\)/,
  );
  assert.equal(bad.stderr.trim().split("\n").length, 1);
});
