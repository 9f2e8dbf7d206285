import assert from "node:assert/strict";
import { ConfigError, describeError } from "../errors.ts";
import { keptSecrets, loadConfig, shardPath } from "./config.ts";
import { generateKeyPairSync } from "node:crypto";

async function sandbox(conf: string, users = "alice,1G,2G\n", passwd = "pw0\npw1\n") {
  const dir = await Deno.makeTempDir({ prefix: "mmd-config-" });
  await Deno.writeTextFile(`${dir}/search.conf`, conf.replaceAll("$DIR", dir));
  await Deno.writeTextFile(`${dir}/search_user`, users);
  await Deno.writeTextFile(`${dir}/passwd`, passwd, { mode: 0o600 });
  await Deno.chmod(`${dir}/passwd`, 0o600);
  return dir;
}

/**
 * Loads each configuration of `cases` in a sandbox that also holds `files` (mode 0600) and
 * expects a ConfigError whose message matches; `check` adds assertions on every message.
 */
async function assertRefused(
  cases: [string, RegExp][],
  files: Record<string, string> = {},
  check?: (message: string) => void,
) {
  for (const [conf, expected] of cases) {
    const dir = await sandbox(conf);
    try {
      for (const [name, text] of Object.entries(files)) {
        await Deno.writeTextFile(`${dir}/${name}`, text, { mode: 0o600 });
      }
      await assert.rejects(loadConfig(dir, { credentialsDirectory: "" }), (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.match(e.message, expected);
        check?.(e.message);
        return true;
      }, conf);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
}

Deno.test("config: established flat form; passwords by db_id from <DIR>/passwd; defaults", async () => {
  const dir = await sandbox(
    "db_host=localhost\ndb_user=mon\ndb_id=0\n\ndb_host=db2.example\ndb_user=dev\ndb_id=1\nmonitor_interval_sec=600\n",
    "alice,1G,2G\nroot,1G\n",
    "# comment\npw0\n\npw1\n",
  );
  try {
    const c = await loadConfig(dir, { credentialsDirectory: "" });
    assert.equal(c.servers.length, 2);
    const [a, b] = c.servers;
    assert.equal(a.socket, "/run/mysqld/mysqld.sock", "localhost means the local socket");
    assert.equal(a.host, undefined);
    assert.equal(a.password.reveal(), "pw0");
    assert.equal(b.host, "db2.example");
    assert.equal(b.port, 3306);
    assert.equal(b.password.reveal(), "pw1");
    assert.equal(b.intervalSec, 600);
    assert.equal(a.intervalSec, 3600);
    assert.equal(c.prometheusFile, "/run/mysql_monitor/mysql_monitor.prom");
    assert.equal(c.auditLog, "/var/log/mysql_monitor/audit.log");
    assert.equal(c.prometheusTruncate, true);
    assert.deepEqual(c.protectedUsers, ["root", "mariadb.sys", "mysql", "mon", "dev"]);
    assert.deepEqual(c.protectedInConfig.map((p) => p.user), ["root"]);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.servers[0]), "config is frozen");
    // The password never shows in JSON or inspection.
    assert.doesNotMatch(JSON.stringify(c), /pw0|pw1/);
    assert.doesNotMatch(Deno.inspect(c, { depth: 10 }), /pw0|pw1/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config: sections, per-server password files, CREDENTIALS_DIRECTORY", async () => {
  const dir = await sandbox(
    "protected_users=ops, backup\nschema_mapping=prefix\n[server a]\ndb_host=[::1]\ndb_port=3307\ndb_user=m\n" +
      "[server b]\ndb_socket=/tmp/x.sock\ndb_user=m\npasswd_file=$DIR/other\nschema_mapping=name\nusage_source=datadir\n",
  );
  try {
    await Deno.writeTextFile(`${dir}/other`, "other-pw\n", { mode: 0o600 });
    await Deno.mkdir(`${dir}/creds`);
    await Deno.writeTextFile(`${dir}/creds/passwd`, "cred-pw\n", { mode: 0o600 });
    const c = await loadConfig(dir, { credentialsDirectory: `${dir}/creds` });
    assert.equal(c.servers[0].id, "a");
    assert.equal(c.servers[0].host, "::1", "brackets around an IPv6 address are dropped");
    assert.equal(c.servers[0].port, 3307);
    assert.equal(c.servers[0].password.reveal(), "cred-pw");
    assert.equal(c.servers[0].mapping, "prefix");
    assert.equal(c.servers[1].password.reveal(), "other-pw");
    assert.equal(c.servers[1].mapping, "name");
    assert.equal(c.servers[1].usageSource, "datadir");
    assert.ok(c.protectedUsers.includes("ops") && c.protectedUsers.includes("backup"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config: bad values and password files are ConfigErrors with file and line", async () => {
  const cases: [string, string | RegExp][] = [
    [
      "db_host=a\ndb_user=m\nmonitor_interval_sec=soon\n",
      /search\.conf:3: monitor_interval_sec must be a whole number, got "soon"$/,
    ],
    [
      "db_host=a\ndb_user=m\ndb_port=70000\n",
      /search\.conf:3: db_port must be between 1 and 65535, got "70000"$/,
    ],
    [
      "workers=0\ndb_host=a\ndb_user=m\n",
      /search\.conf:1: workers must be between 1 and 256, got "0"$/,
    ],
    [
      "prometheus_truncate=maybe\ndb_host=a\ndb_user=m\n",
      /search\.conf:1: prometheus_truncate must be 0 or 1, got "maybe"$/,
    ],
    [
      "usage_source=guess\ndb_host=a\ndb_user=m\n",
      /search\.conf:1: usage_source must be one of information_schema, datadir, got "guess"$/,
    ],
    [
      "prometheus_file=relative.prom\ndb_host=a\ndb_user=m\n",
      /search\.conf:1: prometheus_file must be an absolute path/,
    ],
    ["db_host=a\n", /search\.conf:1: the server starting on line 1 has no db_user$/],
    ["[server x]\ndb_user=m\n", /search\.conf:1: server "x" has neither db_host nor db_socket$/],
    ["# nothing\n", /search\.conf: no server configured; set db_host and db_user$/],
    [
      "db_host=a\ndb_user=m\ndb_id=7\n",
      /passwd: no password entry #7 for server "7" \(the file has 2;/,
    ],
    [
      "db_host=a\ndb_user=m\ndb_id=x\ndb_host=b\ndb_user=m\ndb_id=x\n",
      /search\.conf:6: server id "x" is used twice \(first on line 3\)$/,
    ],
    [
      "db_host=a\ndb_user=m\ntls=1\ntls_ca=/nonexistent/ca.pem\n",
      /search\.conf:4: tls_ca: \/nonexistent\/ca\.pem: file not found$/,
    ],
  ];
  for (const [conf, expected] of cases) {
    const dir = await sandbox(conf);
    try {
      await assert.rejects(loadConfig(dir, { credentialsDirectory: "" }), (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.match(e.message, expected instanceof RegExp ? expected : new RegExp(expected));
        return true;
      }, conf);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

Deno.test("config: a password file readable by group or others is refused, without the password", async () => {
  const dir = await sandbox("db_host=a\ndb_user=m\n", "alice,1G\n", "s3cret-value\n");
  try {
    await Deno.chmod(`${dir}/passwd`, 0o640);
    await assert.rejects(
      loadConfig(dir, { credentialsDirectory: "" }),
      (e: Error) =>
        /passwd: password file is accessible by group or others \(mode 0640\); run chmod 600 on it$/
          .test(e.message) && !e.message.includes("s3cret"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const OWNER_TEST = "config: a password file owned by a stranger is refused unless it is run_as's";
// chown needs root; CI runs as root, so there the test always runs.
const notRoot = Deno.uid() !== 0 && !Deno.env.get("CI");
if (notRoot) console.log(`skipped: ${OWNER_TEST}: needs root to chown the file`);

Deno.test({ name: OWNER_TEST, ignore: notRoot }, async () => {
  const dir = await sandbox("db_host=a\ndb_user=m\n", "alice,1G\n", "s3cret-value\n");
  try {
    await Deno.chown(`${dir}/passwd`, 65534, 65534);
    await Deno.writeTextFile(`${dir}/users`, "root:x:0:0::/root:/bin/sh\n");
    await assert.rejects(
      loadConfig(dir, { credentialsDirectory: "", passwdDb: `${dir}/users` }),
      (e: Error) =>
        /passwd: password file is owned by uid 65534; it must belong to root or the run_as user$/
          .test(e.message) && !e.message.includes("s3cret"),
    );
    // ...unless that uid is run_as.
    await Deno.writeTextFile(`${dir}/search.conf`, "run_as=65534\ndb_host=a\ndb_user=m\n");
    assert.equal(
      (await loadConfig(dir, { credentialsDirectory: "" })).servers[0].password.reveal(),
      "s3cret-value",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config: per-shard file names", () => {
  assert.equal(shardPath("/run/mysql_monitor.prom", 0, 1), "/run/mysql_monitor.prom");
  assert.equal(shardPath("/run/mysql_monitor.prom", 2, 4), "/run/mysql_monitor_shard2.prom");
  assert.equal(shardPath("/var/lib/x/state", 1, 2), "/var/lib/x/state_shard1");
});

async function mkfifo(path: string) {
  const out = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.equal(out.code, 0);
}

Deno.test("config: FIFOs, /dev/zero and directories in every file slot are refused at once", async () => {
  const base = "db_host=a\ndb_user=m\n";
  // [what to replace, extra search.conf lines, expected message]
  const slots: [string, string, RegExp][] = [
    ["search.conf", "", /search\.conf: configuration file is a (FIFO|character device)/],
    ["search_user", "", /search_user: configuration file is a (FIFO|character device)/],
    ["passwd", "", /passwd: password file is a (FIFO|character device)/],
    ["other", "passwd_file=$DIR/other\n", /other: password file is a (FIFO|character device)/],
    [
      "ca",
      "tls=1\ntls_ca=$DIR/ca\n",
      /search\.conf:4: tls_ca: .*\/ca: file is a (FIFO|character device)/,
    ],
    // The certificate is read before its key; each slot pairs with an ordinary file.
    [
      "cert",
      "tls=1\ntls_cert=$DIR/cert\ntls_key=$DIR/search_user\n",
      /search\.conf:4: tls_cert: .*cert: file is a /,
    ],
    [
      "key",
      "tls=1\ntls_cert=$DIR/search_user\ntls_key=$DIR/key\n",
      /search\.conf:5: tls_key: .*key: file is a /,
    ],
  ];
  for (const [slot, extra, expected] of slots) {
    for (const kind of ["fifo", "zero", "dir"]) {
      const dir = await sandbox(base + extra);
      try {
        await Deno.writeTextFile(`${dir}/search.conf`, (base + extra).replaceAll("$DIR", dir));
        const path = `${dir}/${slot}`;
        await Deno.remove(path).catch(() => {});
        if (kind === "fifo") await mkfifo(path);
        else if (kind === "zero") await Deno.symlink("/dev/zero", path);
        else await Deno.mkdir(path);
        if (slot === "passwd" || slot === "other") await Deno.chmod(path, 0o600).catch(() => {});
        const t = performance.now();
        await assert.rejects(
          loadConfig(dir, { credentialsDirectory: "" }),
          (e: unknown) => {
            assert.ok(e instanceof ConfigError, String(e));
            const want = kind === "dir" ? /is a directory/ : expected;
            assert.match(e.message, want, `${slot} as ${kind}`);
            return true;
          },
        );
        assert.ok(performance.now() - t < 2000, `${slot} as ${kind} took too long`);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }
  }
});

Deno.test("config: the password file's mode is checked on the open file before it is read", async () => {
  const dir = await sandbox("db_host=a\ndb_user=m\n");
  try {
    // A group-readable FIFO: refused for what it is, without ever waiting for a writer.
    await Deno.remove(`${dir}/passwd`);
    await mkfifo(`${dir}/passwd`);
    await Deno.chmod(`${dir}/passwd`, 0o644);
    await assert.rejects(loadConfig(dir, { credentialsDirectory: "" }), /not a regular file/);
    // Over 64 KiB: not a password file.
    await Deno.remove(`${dir}/passwd`);
    await Deno.writeTextFile(`${dir}/passwd`, "p".repeat(70_000), { mode: 0o600 });
    await assert.rejects(
      loadConfig(dir, { credentialsDirectory: "" }),
      /passwd: password file is larger than 64 KiB/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config: every value is checked, even where it takes no effect", async () => {
  const cases: [string, RegExp][] = [
    [
      `db_host=a\ndb_user=m\ndb_id=${"x".repeat(300)}\n`,
      /search\.conf:3: db_id must be 1 to 64 letters, digits, _ \. : -, got "x{80}…" \(300 characters\)$/,
    ],
    [
      // Every server overrides the global default: the default is still checked.
      "usage_source=guess\n[server a]\ndb_host=a\ndb_user=m\nusage_source=datadir\n",
      /search\.conf:1: usage_source must be one of information_schema, datadir, got "guess"$/,
    ],
    [
      // Every server names its own password file: the global one is still checked.
      "passwd_file=relative\n[server a]\ndb_host=a\ndb_user=m\npasswd_file=$DIR/passwd\n",
      /search\.conf:1: passwd_file must be an absolute path, got "relative"$/,
    ],
    [
      "db_socket=/run/x.sock\ndb_port=99999\ndb_user=m\n",
      /search\.conf:2: db_port must be between 1 and 65535, got "99999"$/,
    ],
    [
      "db_host=a\ndb_user=m\ndatadir=/var/\u0000lib\n",
      /search\.conf:3: control character in line \(U\+0000 in column 14\)/,
    ],
    ["db_host=a b\ndb_user=m\n", /search\.conf:1: db_host must be a host name or an IP address/],
    [
      `db_socket=/tmp/${"s".repeat(100)}.sock\ndb_user=m\n`,
      /search\.conf:1: db_socket must be at most 107 bytes long/,
    ],
    [
      `prometheus_file=/run/${"p".repeat(250)}.prom\ndb_host=a\ndb_user=m\n`,
      /search\.conf:1: prometheus_file must end in a file name of at most 200 bytes/,
    ],
    ["pid_file=/run/\ndb_host=a\ndb_user=m\n", /search\.conf:1: pid_file must name a file/],
    ["run_as=my user\ndb_host=a\ndb_user=m\n", /search\.conf:1: run_as must be a system user/],
    [
      `protected_users=ok,${"u".repeat(200)}\ndb_host=a\ndb_user=m\n`,
      /search\.conf:1: protected_users: the name "u{80}…" \(200 characters\) must be at most 128/,
    ],
    [`db_host=a\ndb_user=${"m".repeat(129)}\n`, /search\.conf:2: db_user must be at most 128/],
    [
      `db_host=a\ndb_user=m\nconnect_retries=${"7".repeat(1 << 20)}\u00e9\n`,
      /search\.conf:3: connect_retries must be a whole number, got "7{80}…" \(1048577 characters\)$/,
    ],
  ];
  for (const [conf, expected] of cases) {
    const dir = await sandbox(conf);
    try {
      await assert.rejects(loadConfig(dir, { credentialsDirectory: "" }), (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.match(e.message, expected);
        return true;
      }, conf.slice(0, 100));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
  // passwd_index is checked even when kept passwords make it unused.
  const dir = await sandbox("db_host=a\ndb_user=m\ndb_id=x\npasswd_index=-1\n");
  try {
    await assert.rejects(
      loadConfig(dir, { keptPasswords: new Map() }),
      /search\.conf:4: passwd_index must be a whole number, got "-1"$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config: TLS keys that cannot take effect and bad TLS values are errors (exit 78)", async () => {
  const cases: [string, RegExp][] = [
    [
      "db_host=a\ndb_user=m\ntls_verify_server_cert=maybe\n",
      /:3: tls_verify_server_cert must be 0 or 1, got "maybe"/,
    ],
    [
      "db_host=a\ndb_user=m\ntls=1\ntls_verify_server_cert=maybe\n",
      /:4: tls_verify_server_cert must be 0 or 1/,
    ],
    ["db_host=a\ndb_user=m\ntls=maybe\n", /:3: tls must be 0 or 1, got "maybe"/],
    [
      "db_host=a\ndb_user=m\ntls_verify_server_cert=0\n",
      /:3: tls_verify_server_cert has no effect without tls=1; add tls=1 or remove tls_verify_server_cert$/,
    ],
    ["db_host=a\ndb_user=m\ntls_key=$DIR/k.pem\n", /:3: tls_key has no effect without tls=1/],
    ["db_host=a\ndb_user=m\ntls=0\ntls_ca=$DIR/k.pem\n", /:4: tls_ca has no effect without tls=1/],
    [
      "db_host=a\ndb_user=m\ntls=1\ntls_key=$DIR/k.pem\n",
      /:4: tls_key needs tls_cert \(the client certificate and its key\)$/,
    ],
    ["db_host=a\ndb_user=m\ntls=1\ntls_cert=$DIR/k.pem\n", /:4: tls_cert needs tls_key/],
    // A global key that takes effect on no server.
    [
      "tls_ca=$DIR/k.pem\n[server a]\ndb_host=a\ndb_user=m\n",
      /:1: tls_ca has no effect on any server; add tls=1 or remove tls_ca$/,
    ],
    [
      "tls=1\ntls_verify_server_cert=0\n[server a]\ndb_host=a\ndb_user=m\ntls=0\n",
      /:2: tls_verify_server_cert has no effect on any server/,
    ],
    [
      "db_host=a\ndb_user=m\ntls=1\nserver_public_key=$DIR/pub.pem\n",
      /:4: server_public_key has no effect with tls=1; it only serves servers reached over TCP without TLS/,
    ],
    [
      "db_socket=/run/x.sock\ndb_user=m\nserver_public_key=$DIR/pub.pem\n",
      /:3: server_public_key has no effect over a Unix socket/,
    ],
    [
      "db_host=a\ndb_user=m\nserver_public_key=$DIR/k.pem\n",
      /:3: server_public_key: .*k\.pem is not an RSA public key in PEM form/,
    ],
  ];
  await assertRefused(cases, { "k.pem": "not a key\n", "pub.pem": publicPem() });
});

Deno.test("config: tls=1 verifies by default; global TLS keys serve the servers with tls=1; server_public_key for plain TCP", async () => {
  const dir = await sandbox(
    "tls_ca=$DIR/ca.pem\nserver_public_key=$DIR/pub.pem\n" +
      "[server a]\ndb_host=a\ndb_user=m\ntls=1\n" +
      "[server b]\ndb_host=b\ndb_user=m\n" +
      "[server c]\ndb_socket=/run/c.sock\ndb_user=m\n" +
      "[server d]\ndb_host=d\ndb_user=m\ntls=1\ntls_verify_server_cert=0\n",
  );
  try {
    await Deno.writeTextFile(`${dir}/ca.pem`, "CA PEM\n");
    await Deno.writeTextFile(`${dir}/pub.pem`, publicPem());
    const c = await loadConfig(dir, { credentialsDirectory: "" });
    const [a, b, sock, d] = c.servers;
    assert.deepEqual(a.tls, {
      ca: "CA PEM\n",
      cert: undefined,
      key: undefined,
      verifyServerCert: true,
    });
    assert.equal(a.serverPublicKey, undefined);
    assert.equal(b.tls, undefined);
    assert.match(b.serverPublicKey!, /BEGIN PUBLIC KEY/);
    assert.equal(sock.tls, undefined);
    assert.equal(sock.serverPublicKey, undefined);
    assert.equal(d.tls?.verifyServerCert, false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

let pem: string | undefined;
function publicPem(): string {
  if (pem === undefined) {
    const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    pem = publicKey.export({ type: "spki", format: "pem" }) as string;
  }
  return pem;
}

Deno.test("config: hard_grace, hard_action and notify_url default to today's behaviour and apply per server", async () => {
  const dir = await sandbox(
    "hard_grace=2h\nhard_action=readonly\nnotify_url=https://hooks.example.org/quota\n" +
      "[server a]\ndb_host=a\ndb_user=m\n" +
      "[server b]\ndb_host=b\ndb_user=m\nhard_grace=3 scans\nhard_action=lock\n" +
      "notify_url=http://127.0.0.1:9000/b\n",
  );
  const plain = await sandbox("db_host=a\ndb_user=m\n");
  try {
    const c = await loadConfig(dir, { credentialsDirectory: "" });
    const [a, b] = c.servers;
    assert.deepEqual(a.hardGrace, { unit: "seconds", value: 7200 });
    assert.equal(a.hardAction, "readonly");
    assert.deepEqual(a.notify, { url: "https://hooks.example.org/quota" });
    assert.deepEqual(b.hardGrace, { unit: "scans", value: 3 });
    assert.equal(b.hardAction, "lock");
    assert.deepEqual(b.notify, { url: "http://127.0.0.1:9000/b" });
    const d = (await loadConfig(plain, { credentialsDirectory: "" })).servers[0];
    assert.deepEqual(d.hardGrace, { unit: "seconds", value: 0 }, "no grace by default");
    assert.equal(d.hardAction, "lock", "lock by default");
    assert.equal(d.notify, undefined, "no webhook by default");
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(plain, { recursive: true });
  }
});

Deno.test("config: bad hard_grace, hard_action, notify_url and notify secrets are one-line errors with file:line", async () => {
  const cases: [string, RegExp][] = [
    ["hard_grace=10\ndb_host=a\ndb_user=m\n", /search\.conf:1: hard_grace must be 0, a duration/],
    [
      // Checked even where every server overrides it.
      "hard_action=kill\n[server a]\ndb_host=a\ndb_user=m\nhard_action=lock\n",
      /search\.conf:1: hard_action must be lock or readonly, got "kill"$/,
    ],
    [
      "db_host=a\ndb_user=m\nnotify_url=https://u:hunter2hunter2@x.example/\n",
      /search\.conf:3: notify_url must not hold a user name or password/,
    ],
    [
      "notify_url=ftp://x.example/\ndb_host=a\ndb_user=m\n",
      /search\.conf:1: notify_url must start/,
    ],
    [
      "notify_secret=hunter2hunter2hunter2\ndb_host=a\ndb_user=m\n",
      /search\.conf:1: notify_secret is not read from search\.conf.*notify_secret_file/,
    ],
    [
      "notify_secret_file=$DIR/secret\ndb_host=a\ndb_user=m\n",
      /search\.conf:1: notify_secret_file has no effect on any server; set notify_url/,
    ],
    [
      "[server a]\ndb_host=a\ndb_user=m\nnotify_secret_file=$DIR/secret\n",
      /search\.conf:4: notify_secret_file has no effect without notify_url/,
    ],
    [
      "notify_url=http://h.example/\nnotify_secret_file=secret\ndb_host=a\ndb_user=m\n",
      /search\.conf:2: notify_secret_file must be an absolute path/,
    ],
    [
      "notify_url=http://h.example/\nnotify_secret_file=$DIR/missing\ndb_host=a\ndb_user=m\n",
      /search\.conf:2: notify_secret_file: .*missing: notify secret file not found$/,
    ],
  ];
  await assertRefused(
    cases,
    { secret: "hunter2hunter2hunter2\n" },
    (message) => assert.doesNotMatch(message, /hunter2|\n/),
  );
});

Deno.test("config: notify_secret_file is read like a password file and kept across a reload", async () => {
  const conf = "notify_url=https://h.example/hook\nnotify_secret_file=$DIR/secret\n" +
    "db_host=a\ndb_user=m\n";
  const dir = await sandbox(conf);
  const secret = `${dir}/secret`;
  try {
    await Deno.writeTextFile(secret, "# signing key\n0123456789abcdef0123\n", { mode: 0o600 });
    await Deno.chmod(secret, 0o600);
    const c = await loadConfig(dir, { credentialsDirectory: "" });
    const notify = c.servers[0].notify!;
    assert.equal(notify.url, "https://h.example/hook");
    assert.equal(notify.secret?.reveal(), "0123456789abcdef0123");
    assert.doesNotMatch(JSON.stringify(c) + Deno.inspect(c, { depth: 9 }), /0123456789abcdef/);

    // Kept: a reload that can no longer read the file uses the secret read at start.
    await Deno.rename(secret, `${secret}.away`);
    const again = await loadConfig(dir, { keptPasswords: keptSecrets(c) });
    assert.equal(again.servers[0].notify?.secret?.reveal(), "0123456789abcdef0123");
    await assert.rejects(loadConfig(dir, { credentialsDirectory: "" }), /secret file not found/);
    await Deno.rename(`${secret}.away`, secret);

    const refused: [string, number, RegExp][] = [
      [
        "0123456789abcdef0123\n",
        0o640,
        /search\.conf:2: notify_secret_file: .*notify secret file is accessible by group or others \(mode 0640\); run chmod 600/,
      ],
      [
        "tiny-s3cr3t\n",
        0o600,
        /search\.conf:2: notify_secret_file: the secret in .* is shorter than 16 characters/,
      ],
      ["# only a comment\n\n", 0o600, /search\.conf:2: notify_secret_file: .* holds no secret/],
    ];
    for (const [text, mode, expected] of refused) {
      await Deno.remove(secret);
      await Deno.writeTextFile(secret, text, { mode });
      await Deno.chmod(secret, mode);
      await assert.rejects(loadConfig(dir, { credentialsDirectory: "" }), (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.match(e.message, expected);
        assert.doesNotMatch(e.message, /0123456789|tiny-s3cr3t/);
        return true;
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config: notify_tls_ca serves an https:// notify_url and must hold a usable certificate", async () => {
  // A committed CA certificate (no key): the loader only has to find a usable certificate in it.
  const certs = { ca: new URL("./testdata/notify_ca.pem", import.meta.url).pathname };
  const ca = await Deno.readTextFile(certs.ca);
  const https = "notify_url=https://127.0.0.1:8443/hook\n";
  const dir = await sandbox(`${https}notify_tls_ca=${certs.ca}\ndb_host=a\ndb_user=m\n`);
  try {
    const c = await loadConfig(dir, { credentialsDirectory: "" });
    assert.equal(c.servers[0].notify?.caCert, ca);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const cases: [string, RegExp][] = [
    [
      `notify_url=http://h.example/\nnotify_tls_ca=${certs.ca}\ndb_host=a\ndb_user=m\n`,
      /search\.conf:2: notify_tls_ca has no effect on any server; it only serves an https:\/\/ notify_url/,
    ],
    [
      `${https}[server a]\ndb_host=a\ndb_user=m\nnotify_url=http://h.example/\nnotify_tls_ca=${certs.ca}\n`,
      /search\.conf:6: notify_tls_ca has no effect without an https:\/\/ notify_url/,
    ],
    [
      `${https}notify_tls_ca=$DIR/search_user\ndb_host=a\ndb_user=m\n`,
      /search\.conf:2: notify_tls_ca: .*search_user holds no PEM certificate/,
    ],
    [
      `${https}notify_tls_ca=$DIR/bad.pem\ndb_host=a\ndb_user=m\n`,
      /search\.conf:2: notify_tls_ca: .*bad\.pem holds a certificate that cannot be used/,
    ],
    [
      `${https}notify_tls_ca=$DIR/none.pem\ndb_host=a\ndb_user=m\n`,
      /search\.conf:2: notify_tls_ca: .*none\.pem: file not found/,
    ],
  ];
  await assertRefused(cases, {
    "bad.pem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
  });
});

Deno.test("config: an unreadable user database is a configuration error naming it, not an empty one", async () => {
  const dir = await sandbox("run_as=mysql\ndb_host=a\ndb_user=m\n");
  try {
    for (const passwdDb of [`${dir}/missing`, dir]) {
      const err = await loadConfig(dir, { credentialsDirectory: "", passwdDb }).then(
        () => assert.fail("loaded with an unreadable user database"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(describeError(err).code, 78);
      assert.ok(err.message.startsWith(`${passwdDb}: `), err.message);
      assert.match(err.message, /user database \(to find run_as "mysql"\)/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
