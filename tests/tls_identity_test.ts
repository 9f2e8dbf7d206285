/**
 * TLS verifies who the server is, not only that some trusted CA signed its certificate: a real
 * MariaDB serving a certificate from the trusted CA but for another host name never sees the
 * monitor's login (its audit log proves it), and turning verification off is explicit and
 * warned about.
 */
import assert from "node:assert/strict";
import { MariaDB } from "./support/mariadb.ts";
import { createMonitorAccount, Sandbox } from "./support/monitor_fixture.ts";
import { makeCerts } from "./support/certs.ts";

Deno.test("tls: a certificate for another host name is refused before the password is sent; tls_verify_server_cert=0 connects with a warning", async () => {
  const certs = await makeCerts("DNS:wrong.example.org");
  try {
    await using db = await MariaDB.start({ args: certs.serverArgs, audit: { events: "CONNECT" } });
    await createMonitorAccount(db);
    await using sb = await Sandbox.create([db]);
    await sb.writeUsers("nobody,1G\n");
    const conf = (extra: string) =>
      sb.globals() + `[server db1]\ndb_host=127.0.0.1\ndb_port=${db.port}\ndb_user=monitor\n` +
      `tls=1\ntls_ca=${certs.ca}\n${extra}`;
    const logins = async () =>
      (await Deno.readTextFile(db.auditLog!)).split("\n").filter((l) => /,monitor,/.test(l));

    await sb.writeConf(conf(""));
    let r = await sb.run(["--once"], {}, [certs.dir]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /scan failed, no action taken: .*wrong\.example\.org/);
    assert.doesNotMatch(r.stderr, /without certificate verification/);
    assert.deepEqual(await logins(), [], "the server saw no login attempt of the monitor");

    // Explicitly off: it connects, and says so.
    await sb.writeConf(conf("tls_verify_server_cert=0\n"));
    r = await sb.run(["--once"], {}, [certs.dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /WARNING db: db1: TLS without certificate verification \(tls_verify_server_cert=0\): the server's identity is not checked/,
    );
    const seen = await logins();
    assert.ok(seen.some((l) => l.includes(",CONNECT,")), seen.join("\n"));

    // A verification setting that cannot take effect, or that means nothing, stops the start.
    for (
      const [text, message] of [
        [
          sb.globals() + `db_host=127.0.0.1\ndb_port=${db.port}\ndb_user=monitor\n` +
          "tls_verify_server_cert=0\n",
          /tls_verify_server_cert has no effect without tls=1/,
        ],
        [conf("tls_verify_server_cert=maybe\n"), /tls_verify_server_cert must be 0 or 1/],
      ] as const
    ) {
      await sb.writeConf(text);
      r = await sb.run(["--once"], {}, [certs.dir]);
      assert.equal(r.code, 78, r.stderr);
      assert.match(r.stderr, message);
    }
  } finally {
    await Deno.remove(certs.dir, { recursive: true });
  }
});
