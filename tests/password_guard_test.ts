/**
 * The password never goes to a server that asks for it over plain TCP with a key of its own
 * choosing: a fake server speaking the MySQL protocol switches the login to sha256_password,
 * caching_sha2_password (full authentication) or mysql_clear_password, offers its own RSA key,
 * and records everything it receives.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, privateDecrypt } from "node:crypto";
import { Buffer } from "node:buffer";
import mysql from "mysql2/promise";
import { connect } from "../src/db/connection.ts";
import { Secret, type ServerConfig } from "../src/config/config.ts";
import { NO_GRACE } from "../src/config/enforcement.ts";
import { FakeMySQL, type FakeScenario } from "./support/fake_mysql.ts";
import { runCli } from "./support/cli.ts";

const PASSWORD = "s3cret-pässword";

function server(port: number, extra: Partial<ServerConfig> = {}): ServerConfig {
  return {
    id: "fake",
    host: "127.0.0.1",
    port,
    user: "monitor",
    password: new Secret(PASSWORD),
    intervalSec: 60,
    usageSource: "information_schema",
    mapping: "grants",
    connectTimeoutSec: 5,
    queryTimeoutSec: 5,
    connectRetries: 0,
    hardGrace: NO_GRACE,
    hardAction: "lock",
    ...extra,
  };
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** Nothing the fake received is the password, or something it could turn into it. */
function assertNothingLeaked(fake: FakeMySQL): void {
  assert.ok(!contains(fake.received(), new TextEncoder().encode(PASSWORD)), "password in clear");
  assert.ok(!fake.recovered.includes(PASSWORD), "the fake decrypted the password");
}

Deno.test("password guard: the fake really steals the password from an unguarded mysql2 client", async () => {
  // Control: without the guard, mysql2 fetches the fake's key and sends the password with it.
  for (const scenario of ["sha256_password", "caching_sha2_password"] as const) {
    await using fake = new FakeMySQL(scenario);
    await assert.rejects(
      mysql.createConnection({
        host: "127.0.0.1",
        port: fake.port,
        user: "monitor",
        password: PASSWORD,
      }),
      /Access denied \(fake server\)/,
    );
    assert.deepEqual(fake.recovered, [PASSWORD], scenario);
  }
});

Deno.test("password guard: no TLS and no server_public_key: the login is refused, nothing the fake can turn into the password leaves", async () => {
  const cases: [FakeScenario, RegExp][] = [
    ["sha256_password", /asks for the password \(sha256_password\) over a connection without TLS/],
    [
      "caching_sha2_password",
      /asks for the password \(caching_sha2_password\) over a connection without TLS/,
    ],
    ["mysql_clear_password", /password in clear text \(mysql_clear_password\); refused/],
  ];
  for (const [scenario, message] of cases) {
    await using fake = new FakeMySQL(scenario);
    await assert.rejects(connect(server(fake.port)), (err: Error) => {
      assert.match(err.message, message);
      if (scenario !== "mysql_clear_password") {
        assert.match(err.message, /Set tls=1 \(with tls_ca\) or server_public_key=FILE/);
      }
      assert.ok(!err.message.includes(PASSWORD));
      return true;
    });
    // Give the fake a moment to read whatever might still be in flight.
    await new Promise((r) => setTimeout(r, 200));
    assertNothingLeaked(fake);
    const [session] = fake.sessions;
    // Handshake response (mysql_native_password's scramble), then: nothing for sha256_password
    // and clear text; only the fast-path scramble for caching_sha2_password; never a request
    // for the server's key.
    const after = session.packets.slice(1);
    if (scenario === "caching_sha2_password") {
      assert.equal(after.length, 1, `${scenario}: ${after.length} packets after the switch`);
      assert.equal(after[0].length, 32, "the SHA-256 scramble");
    } else {
      assert.equal(after.length, 0, `${scenario}: ${after.length} packets after the switch`);
    }
  }
});

Deno.test("password guard: with server_public_key the password is encrypted with that key only", async () => {
  const trusted = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = trusted.publicKey.export({ type: "spki", format: "pem" }) as string;
  for (const scenario of ["sha256_password", "caching_sha2_password"] as const) {
    await using fake = new FakeMySQL(scenario);
    await assert.rejects(
      connect(server(fake.port, { serverPublicKey: pem })),
      /Access denied \(fake server\)/,
    );
    assertNothingLeaked(fake);
    const [session] = fake.sessions;
    const last = session.packets.at(-1)!;
    assert.equal(last.length, 256, `${scenario}: one RSA-2048 block, without asking for a key`);
    assert.ok(!session.packets.some((p) => p.length === 1), "never asked for the server's key");
    // Whoever holds the configured key's private half gets the password back.
    const plain = privateDecrypt({ key: trusted.privateKey, oaepHash: "sha1" }, Buffer.from(last));
    const password = plain.map((b, i) => b ^ session.nonce[i % 20]);
    assert.equal(new TextDecoder().decode(password), `${PASSWORD}\0`);
  }
});

Deno.test("password guard: with tls=1 a server without TLS gets nothing at all", async () => {
  await using fake = new FakeMySQL("sha256_password");
  await assert.rejects(
    connect(server(fake.port, { tls: { verifyServerCert: true } })),
    /does not support secure connection/,
  );
  assert.equal(fake.sessions.length, 1);
  assert.deepEqual(fake.sessions[0].packets, []);
});

Deno.test("password guard: monitor --once against the fake fails the scan with what to configure", async () => {
  await using fake = new FakeMySQL("sha256_password");
  const dir = await Deno.makeTempDir({ prefix: "mmd-guard-" });
  try {
    await Deno.writeTextFile(
      `${dir}/search.conf`,
      `prometheus_file=${dir}/m.prom\naudit_log=${dir}/audit.log\nstate_dir=${dir}/state\n` +
        `pid_file=${dir}/m.pid\npasswd_file=${dir}/passwd\nrun_as=root\n` +
        `db_host=127.0.0.1\ndb_port=${fake.port}\ndb_user=monitor\nconnect_retries=0\n`,
    );
    await Deno.writeTextFile(`${dir}/search_user`, "alice,1G\n");
    await Deno.writeTextFile(`${dir}/passwd`, `${PASSWORD}\n`, { mode: 0o600 });
    await Deno.chmod(`${dir}/passwd`, 0o600);
    const r = await runCli(["monitor", "--once", "-c", dir], { read: [dir], write: [dir] });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /scan failed/);
    assert.match(
      r.stderr + r.stdout,
      /sha256_password\) over a connection without TLS.*Set tls=1 \(with tls_ca\) or server_public_key=FILE/,
    );
    assert.ok(!(r.stderr + r.stdout).includes(PASSWORD));
    assert.equal(fake.sessions.length, 1, "the monitor did talk to the fake");
    assertNothingLeaked(fake);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
