/**
 * End to end: TLS to the server with CA verification (tls_ca), and a refused connection when
 * the CA does not match, against a throwaway MariaDB with its own certificates.
 */
import assert from "node:assert/strict";
import { MariaDB } from "./support/mariadb.ts";
import { createMonitorAccount, fillSchema, isLocked, Sandbox } from "./support/monitor_fixture.ts";
import { makeCerts } from "./support/certs.ts";

Deno.test("tls: verified TLS connection with tls_ca; a wrong CA fails the scan without action", async () => {
  const certs = await makeCerts("IP:127.0.0.1");
  try {
    await using db = await MariaDB.start({ args: certs.serverArgs });
    await createMonitorAccount(db);
    await db.query("ALTER USER 'monitor'@'127.0.0.1' REQUIRE SSL");
    await db.query("CREATE USER 'ivy'@'%' IDENTIFIED BY 'x'");
    await db.query("GRANT ALL ON ivy.* TO 'ivy'@'%'");
    await fillSchema(db, "ivy", 256);
    await using sb = await Sandbox.create([db]);
    await sb.writeUsers("ivy,10K,100K\n");
    const conf = (ca: string) =>
      sb.globals() + `[server db1]\ndb_host=127.0.0.1\ndb_port=${db.port}\ndb_user=monitor\n` +
      `tls=1\ntls_ca=${ca}\n`;
    const paths = [certs.dir];

    await sb.writeConf(conf(certs.otherCa));
    let r = await sb.run(["--once", "-d", "2"], {}, paths);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /scan failed, no action taken: .*(certificate|self.signed|verify)/i);
    assert.equal(await isLocked(db, "ivy", "%"), false);

    await sb.writeConf(conf(certs.ca));
    r = await sb.run(["--once", "-d", "2"], {}, paths);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(await isLocked(db, "ivy", "%"));
    // The connection really was encrypted: the account requires SSL.
    const [row] = await db.query<{ n: number }>(
      "SELECT COUNT(*) AS n FROM mysql.global_priv WHERE User='monitor' AND Host='127.0.0.1' AND JSON_VALUE(Priv, '$.ssl_type') = 1",
    );
    assert.equal(Number(row.n), 1);
  } finally {
    await Deno.remove(certs.dir, { recursive: true });
  }
});
