import assert from "node:assert/strict";
import { ConfigError } from "../errors.ts";
import { parseConntrackConfig } from "./conntrack_ini.ts";

Deno.test("conntrack ini: the Go tool's ini-dist is accepted, with defaults for the rest", () => {
  const c = parseConntrackConfig(
    `[default]
AuditLogPath=/var/lib/mysql
SqlitePath=/var/lib/mysql/audit.sqlite
TimeFormatAudit="20060102 15:04:05"
TimeFormatDB="2006-01-02 15:04:05-07:00 MST"
TimeLocation=Europe/Zurich
MaxWorkers=4
LogLevel=ERROR
`,
    "c.ini",
  );
  assert.deepEqual(c, {
    auditLogPath: "/var/lib/mysql",
    sqlitePath: "/var/lib/mysql/audit.sqlite",
    timeLocation: "Europe/Zurich",
    timeLocationSet: true,
    maxWorkers: 4,
    logLevel: "error",
    report: { socket: "/run/mysqld/mysqld.sock", port: 3306, user: "root" },
    serverName: Deno.hostname(),
  });
});

Deno.test("conntrack ini: report and fleet keys", () => {
  const c = parseConntrackConfig(
    `[default]
SqlitePath=/var/lib/mysql/audit.sqlite
ReportHost=db1.example.org
ReportPort=3307
ReportUser=reporter
ReportPasswordFile=/etc/conntracker/report.passwd
Store=mysql://tracker@central.example.org:3310/conntrack
StorePasswordFile=/etc/conntracker/store.passwd
ServerName=db1
`,
    "c.ini",
  );
  assert.deepEqual(c.report, {
    host: "db1.example.org",
    port: 3307,
    user: "reporter",
    passwordFile: "/etc/conntracker/report.passwd",
    passwordLine: 6,
  });
  assert.deepEqual(c.store, {
    host: "central.example.org",
    port: 3310,
    user: "tracker",
    database: "conntrack",
    passwordFile: "/etc/conntracker/store.passwd",
    passwordLine: 8,
    display: "mysql://tracker@central.example.org:3310/conntrack",
  });
  assert.equal(c.serverName, "db1");
  const sock = parseConntrackConfig(
    "Store=mysql://t@localhost/fleet?socket=/run/mysqld/mysqld.sock\nSqlitePath=/s\n",
    "c.ini",
  );
  assert.equal(sock.store?.socket, "/run/mysqld/mysqld.sock");
  assert.equal(sock.store?.host, undefined);

  const cases: [string, RegExp][] = [
    ["Store=mysql://u:secret@h/db\n", /^c\.ini:1: Store must not contain a password/],
    ["Store=postgres://u@h/db\n", /^c\.ini:1: Store must be a mysql:\/\/ URL/],
    ["Store=mysql://h/db\n", /^c\.ini:1: Store must name the user/],
    ["Store=mysql://u@h/\n", /^c\.ini:1: Store must name the database/],
    [
      "Store=mysql://u@h/d?ssl=1\n",
      /^c\.ini:1: Store: unknown parameter \(only socket=\/path is known\)$/,
    ],
    ["Store=not a url\n", /^c\.ini:1: Store must be a URL/],
    ["StorePasswordFile=/x\n", /^c\.ini:1: StorePasswordFile is set but Store is not/],
    ["ReportPort=0\n", /^c\.ini:1: ReportPort must be a port number/],
    ["ReportSocket=rel.sock\n", /^c\.ini:1: ReportSocket must be an absolute path/],
    ["\nReportPasswordFile=p\n", /^c\.ini:2: ReportPasswordFile must be an absolute path/],
  ];
  for (const [text, message] of cases) {
    const ini = text.startsWith("SqlitePath") ? text : `${text}SqlitePath=/s\n`;
    assert.throws(() => parseConntrackConfig(ini, "c.ini"), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, message);
      assert.doesNotMatch(err.message, /secret/);
      return true;
    });
  }
});

Deno.test("conntrack ini: errors name file, line and the closest key", () => {
  const cases: [string, RegExp][] = [
    [
      "[default]\nAuditLogPath=/x\nSqlitPath=/y\n",
      /^c\.ini:3: unknown key "SqlitPath" \(did you mean "SqlitePath"\?\)$/,
    ],
    ["[default]\nMaxWorkers=0\n", /^c\.ini:2: MaxWorkers must be a whole number from 1 to 64/],
    [
      "[default]\n\nTimeLocation=Mars/Base\n",
      /^c\.ini:3: TimeLocation is not a known IANA/,
    ],
    ["[default]\nLogLevel=LOUD\n", /^c\.ini:2: LogLevel must be one of/],
    ["[other]\n", /^c\.ini:1: unknown section; the settings go in \[default\]$/],
    ["[defualt]\n", /^c\.ini:1: unknown section \[defualt\]; the settings go in \[default\]$/],
    ["[ default ]\nSqlitePath=/s\n", /^c\.ini:1: write the section header as \[default\], without/],
    ["[default]\nSqlitePath=rel.sqlite\n", /^c\.ini:2: SqlitePath must be an absolute path/],
    ["[default]\nMaxWorkers=2\nMaxWorkers=3\n", /^c\.ini:3: MaxWorkers is set twice/],
    ['[default]\nTimeFormatAudit="2006"\n', /^c\.ini:2: TimeFormatAudit must be/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseConntrackConfig(text, "c.ini"), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, message);
      return true;
    });
  }
});

Deno.test("conntrack ini: binary garbage is reported on one line, by position only", () => {
  assert.throws(
    () => parseConntrackConfig("[default]\nLogLevel=\u001b[31m\u0007bad", "c.ini"),
    (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(
        err.message,
        "c.ini:2: control character in line (U+001B in column 10); remove it",
      );
      return true;
    },
  );
});

Deno.test("conntrack ini: TimeLocation left out is UTC (the Go tool's reading), AuditFileName unset", () => {
  const c = parseConntrackConfig(
    "[default]\nAuditLogPath=/var/lib/mysql\nSqlitePath=/s\n",
    "c.ini",
  );
  assert.equal(c.timeLocation, "UTC");
  assert.equal(c.timeLocationSet, false);
  assert.equal(c.auditFileName, undefined);
  const named = parseConntrackConfig(
    "AuditFileName=audit.log\nTimeLocation=UTC\nSqlitePath=/s\n",
    "c.ini",
  );
  assert.equal(named.auditFileName, "audit.log");
  assert.equal(named.timeLocationSet, true);
});

Deno.test("conntrack ini: TLS keys of the report server and the central store", () => {
  const c = parseConntrackConfig(
    `ReportHost=db1.example.org
ReportTLS=1
ReportTLSCA=/etc/conntracker/ca.pem
Store=mysql://db1@central.example.org/fleet
StoreTLS=yes
StoreTLSCA=/etc/conntracker/ca.pem
StoreTLSCert=/etc/conntracker/client.pem
StoreTLSKey=/etc/conntracker/client.key
StoreTLSVerifyServerCert=0
SqlitePath=/s
`,
    "c.ini",
  );
  assert.deepEqual(c.report.tls, {
    ca: "/etc/conntracker/ca.pem",
    cert: undefined,
    key: undefined,
    verifyServerCert: true,
    verifySetting: "ReportTLSVerifyServerCert",
  });
  assert.deepEqual(c.store?.tls, {
    ca: "/etc/conntracker/ca.pem",
    cert: "/etc/conntracker/client.pem",
    key: "/etc/conntracker/client.key",
    verifyServerCert: false,
    verifySetting: "StoreTLSVerifyServerCert",
  });
  const plain = parseConntrackConfig(
    "ReportHost=h\nReportServerPublicKey=/etc/conntracker/db1.pub\nSqlitePath=/s\n",
    "c.ini",
  );
  assert.equal(plain.report.tls, undefined);
  assert.equal(plain.report.serverPublicKey, "/etc/conntracker/db1.pub");

  const cases: [string, RegExp][] = [
    [
      "ReportTLSVerifyServerCert=maybe\n",
      /^c\.ini:1: ReportTLSVerifyServerCert must be 1 or 0$/,
    ],
    [
      "ReportHost=h\nReportTLSVerifyServerCert=0\n",
      /^c\.ini:2: ReportTLSVerifyServerCert has no effect without ReportTLS=1; add ReportTLS=1 or remove ReportTLSVerifyServerCert$/,
    ],
    ["ReportTLS=2\n", /^c\.ini:1: ReportTLS must be 1 or 0/],
    ["ReportTLSKey=/k\n", /^c\.ini:1: ReportTLSKey has no effect without ReportTLS=1/],
    ["ReportTLS=1\nReportTLSKey=/k\n", /^c\.ini:2: ReportTLSKey needs ReportTLSCert/],
    ["ReportTLS=1\nReportTLSCA=ca.pem\n", /^c\.ini:2: ReportTLSCA must be an absolute path/],
    [
      "ReportServerPublicKey=/k.pub\n",
      /^c\.ini:1: ReportServerPublicKey has no effect over a Unix socket/,
    ],
    [
      "ReportHost=h\nReportTLS=1\nReportServerPublicKey=/k.pub\n",
      /^c\.ini:3: ReportServerPublicKey has no effect with ReportTLS=1/,
    ],
    ["StoreTLS=1\n", /^c\.ini:1: StoreTLS is set but Store is not/],
    [
      "Store=mysql://u@h/db\nStoreTLSCert=/c\n",
      /^c\.ini:2: StoreTLSCert has no effect without StoreTLS=1/,
    ],
    [
      "Store=mysql://u@h/db\nStoreTLS=1\nStoreTLSVerifyServerCert=nope\n",
      /^c\.ini:3: StoreTLSVerifyServerCert must be 1 or 0/,
    ],
    [
      "Store=mysql://u@localhost/db?socket=/s\nStoreServerPublicKey=/k\n",
      /^c\.ini:2: StoreServerPublicKey has no effect over a Unix socket/,
    ],
  ];
  for (const [text, message] of cases) {
    // SqlitePath (required) last, so the line numbers above hold.
    assert.throws(() => parseConntrackConfig(`${text}SqlitePath=/s\n`, "c.ini"), (err: Error) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.match(err.message, message);
      return true;
    }, text);
  }
});
Deno.test("conntrack ini: TimeLocation takes IANA names only; an offset gets a suggestion", () => {
  const ini = (zone: string) => `[default]\nSqlitePath=/s\nTimeLocation=${zone}\n`;
  assert.equal(parseConntrackConfig(ini("Etc/GMT-2"), "c.ini").timeLocation, "Etc/GMT-2");
  assert.equal(parseConntrackConfig(ini("UTC"), "c.ini").timeLocation, "UTC");
  const cases: [string, RegExp][] = [
    [
      "+02:00",
      /^c\.ini:3: TimeLocation is the UTC offset \+02:00, .*Europe\/Zurich .* or Etc\/GMT-2 for/,
    ],
    ["-05", /TimeLocation is the UTC offset -05:00, .* or Etc\/GMT\+5 for a fixed offset/],
    ["UTC+05:30", /TimeLocation is the UTC offset \+05:30, not a time zone name; .*time\)$/],
    ["Mars/Base", /TimeLocation is not a known IANA time zone/],
    ["../../etc/x", /TimeLocation must be an IANA time zone name/],
  ];
  for (const [zone, message] of cases) {
    assert.throws(() => parseConntrackConfig(ini(zone), "c.ini"), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, message);
      return true;
    }, zone);
  }
});

Deno.test("conntrack ini: no SqlitePath is an error, never a default database", () => {
  for (const text of ["", "[default]\n", "[default]\nAuditLogPath=/tmp\nSqlitePath=\n"]) {
    assert.throws(() => parseConntrackConfig(text, "c.ini"), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /^c\.ini(:\d+)?: SqlitePath is not set; name the SQLite database/);
      return true;
    });
  }
});

Deno.test("conntrack ini: CR line ends, bad %-escapes, long values, a password file as -c", () => {
  const c = parseConntrackConfig("[default]\rSqlitePath=/s\rMaxWorkers=3\r", "c.ini");
  assert.equal(c.maxWorkers, 3);
  const cases: [string, RegExp][] = [
    ["Store=mysql://%zz@h/db\n", /^c\.ini:1: Store: the user has a bad %-escape/],
    ["Store=mysql://u@h/%e9\n", /^c\.ini:1: Store: the database has a bad %-escape/],
    [
      `MaxWorkers=${"9".repeat(1 << 20)}\n`,
      /^c\.ini:1: MaxWorkers must be a whole number from 1 to 64$/,
    ],
    // A password pasted into the file, joined to another key's line: no value is ever quoted.
    [
      "ReportPort = r:S3crx77GjYBjNsTTjA@db.example.org/fleet\n",
      /^c\.ini:1: ReportPort must be a port number from 1 to 65535$/,
    ],
    ['AuditFileName="a\\u0000b"\n', /^c\.ini:1: AuditFileName must not hold control .*U\+0000/],
    ["ReportUser=a\u0085\n", /^c\.ini:1: control character in line \(U\+0085 in column 13\)/],
    ["ServerName=a\u202eb\n", /^c\.ini:1: control character in line \(U\+202E/],
    [`SqlitePath=/${"d".repeat(300)}\n`, /^c\.ini:1: SqlitePath must not have a path component/],
  ];
  for (const [text, message] of cases) {
    const ini = text.startsWith("SqlitePath") ? text : `${text}SqlitePath=/s\n`;
    assert.throws(() => parseConntrackConfig(ini, "c.ini"), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, message);
      assert.ok(err.message.length < 400);
      return true;
    }, text.slice(0, 40));
  }
  for (const secret of ["hunter2-Secret", "c2VjcmV0LXBhc3N3b3Jk==", "[Passw0rd]"]) {
    assert.throws(() => parseConntrackConfig(`${secret}\n`, "c.ini"), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /^c\.ini:1: /);
      assert.ok(!err.message.includes(secret.replace(/[=\[\]]/g, "")), err.message);
      return true;
    });
  }
});

Deno.test("conntrack ini: a section-like line with 70 000 spaces is refused at once", () => {
  // Found by the fuzz suite (conntrack_ini, seed 0x9ca3c192): a backtracking regex took minutes.
  const t = performance.now();
  assert.throws(
    () => parseConntrackConfig(`[default]\n[${" ".repeat(70_000)}ServerName =db\n`, "c.ini"),
    /c\.ini:2: unknown section; the settings go in \[default\]$/,
  );
  assert.ok(performance.now() - t < 1000, `${performance.now() - t} ms`);
});
