/**
 * The central store (`Store`) and the report server (`ReportHost`) over TLS with a client
 * certificate, against a real TLS-enabled MariaDB whose accounts require one; a certificate
 * that does not name the configured host is refused before the login.
 */
import assert from "node:assert/strict";
import { sandbox, settle } from "./support/conntrack.ts";
import { makeCerts } from "./support/certs.ts";
import { dropStoreIni, startCentral, storeIni } from "./support/fleet.ts";
import { runCli } from "./support/cli.ts";

Deno.test("fleet over TLS: Store and ReportHost with CA and client certificate; a wrong host name is refused", async () => {
  const certs = await makeCerts("IP:127.0.0.1");
  try {
    await using central = await startCentral(["db1"], {
      args: certs.serverArgs,
      audit: { events: "CONNECT" },
    });
    await central.query("ALTER USER 'db1'@'127.0.0.1' REQUIRE X509");
    await central.query(
      "CREATE USER 'reporter'@'127.0.0.1' IDENTIFIED BY 'rep pw' REQUIRE X509",
    );
    await central.query("GRANT SELECT ON mysql.user TO 'reporter'@'127.0.0.1'");
    await central.query("GRANT SELECT ON mysql.global_priv TO 'reporter'@'127.0.0.1'");
    await central.query("CREATE USER 'alice'@'%'");

    await using box = await sandbox();
    await Deno.writeTextFile(`${box.dir}/report.passwd`, "rep pw\n", { mode: 0o600 });
    await Deno.chmod(`${box.dir}/report.passwd`, 0o600);
    const tls = (prefix: string) =>
      `${prefix}TLS=1\n${prefix}TLSCA=${certs.ca}\n${prefix}TLSCert=${certs.clientCert}\n` +
      `${prefix}TLSKey=${certs.clientKey}\n`;
    await Deno.writeTextFile(
      box.ini,
      `ReportHost=127.0.0.1\nReportPort=${central.port}\nReportUser=reporter\n` +
        `ReportPasswordFile=${box.dir}/report.passwd\n${tls("Report")}`,
      { append: true },
    );
    await storeIni(box, central, "db1", { extra: tls("Store") });
    await Deno.writeTextFile(
      `${box.auditDir}/server_audit.log`,
      "20240301 10:00:00,srv,alice,10.0.0.1,1,0,CONNECT,,,0\n",
    );
    await settle(box.auditDir);
    // Each run has a new login to send (a run with nothing new does not connect).
    let id = 1;
    const run = async () => {
      id++;
      await Deno.writeTextFile(
        `${box.auditDir}/server_audit.log`,
        `20240301 10:00:0${id},srv,alice,10.0.0.1,${id},0,CONNECT,,,0\n`,
        { append: true },
      );
      await settle(box.auditDir);
      return runCli(["conntrack", "-c", box.ini], {
        read: [box.dir, box.auditDir, certs.dir],
        write: [box.dir],
      });
    };
    const logins = async () =>
      (await Deno.readTextFile(central.auditLog!)).split("\n").filter((l) => /,db1,/.test(l))
        .length;

    let r = await run();
    assert.equal(r.code, 0, r.stderr);
    const rows = await central.query<{ name: unknown }>(
      "SELECT name FROM conntrack.conntrack_accounts WHERE server = 'db1'",
    );
    assert.deepEqual(rows.map((x) => String(x.name)), ["alice"]);

    const report = await runCli(["conntrack", "report", "-c", box.ini, "--json"], {
      read: [box.dir, certs.dir],
    });
    assert.equal(report.code, 0, report.stderr);
    const alice = JSON.parse(report.stdout).accounts.find((a: { user: string }) =>
      a.user === "alice"
    );
    assert.equal(alice.last_seen, "2024-03-01 10:00:02+00:00");

    // The client certificate is what lets db1 in (the account requires one).
    await dropStoreIni(box);
    await storeIni(box, central, "db1", {
      extra: `StoreTLS=1\nStoreTLSCA=${certs.ca}\n`,
    });
    r = await run();
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /Access denied for user 'db1'/);

    // "localhost" is not a name of the certificate (it has only IP 127.0.0.1): no login at all.
    await dropStoreIni(box);
    await storeIni(box, central, "db1", { host: "localhost", extra: tls("Store") });
    const before = await logins();
    r = await run();
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /the server's certificate is not for "localhost" \(it names IP Address:127\.0\.0\.1\)/,
    );
    assert.equal(await logins(), before, "the central server saw no login attempt");

    // Verification explicitly off: it connects, with a warning.
    await dropStoreIni(box);
    await storeIni(box, central, "db1", {
      host: "localhost",
      extra: `${tls("Store")}StoreTLSVerifyServerCert=0\n`,
    });
    r = await run();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /TLS without certificate verification \(StoreTLSVerifyServerCert=0\)/);
    assert.ok(await logins() > before);
  } finally {
    await Deno.remove(certs.dir, { recursive: true });
  }
});
