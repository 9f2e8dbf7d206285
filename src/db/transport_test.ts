import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { PeerCertificate } from "node:tls";
import { authPlugins, identityError, type TransportPolicy } from "./transport.ts";

const policy = (extra: Partial<TransportPolicy> = {}): TransportPolicy => ({
  id: "db1",
  host: "db1.example.org",
  socket: false,
  tls: false,
  verify: false,
  hint: "tls=1 or server_public_key=FILE",
  ...extra,
});

function cert(altnames: string, cn = "x"): PeerCertificate {
  return { subject: { CN: cn }, subjectaltname: altnames } as unknown as PeerCertificate;
}

Deno.test("identityError: DNS names, IP addresses, and no certificate at all", () => {
  assert.equal(identityError("db1.example.org", cert("DNS:db1.example.org")), undefined);
  assert.equal(identityError("10.0.0.5", cert("IP Address:10.0.0.5")), undefined);
  assert.match(
    identityError("10.0.0.6", cert("IP Address:10.0.0.5"))!.message,
    /certificate is not for "10\.0\.0\.6" \(it names IP Address:10\.0\.0\.5\)/,
  );
  assert.match(
    identityError("db1.example.org", cert("DNS:wrong.example.org"))!.message,
    /not for "db1\.example\.org" \(it names DNS:wrong\.example\.org\)/,
  );
  assert.match(identityError("db1", {} as PeerCertificate)!.message, /no server certificate/);
  assert.match(identityError("db1", undefined)!.message, /no server certificate/);
});

Deno.test("authPlugins: over plain TCP without a key, the RSA request and clear text are refused", () => {
  const context = { connection: { config: { password: "pw", ssl: undefined } }, command: "" };
  // deno-lint-ignore no-explicit-any
  const start = (p: TransportPolicy, name: string) => authPlugins(p)[name](context as any);
  const scramble = Buffer.alloc(20, 7);
  assert.throws(
    () => start(policy(), "sha256_password")(scramble),
    /db1: the server asks for the password \(sha256_password\) over a connection without TLS .*Set tls=1 or server_public_key=FILE/,
  );
  const sha2 = start(policy(), "caching_sha2_password");
  assert.equal((sha2(scramble) as Buffer).length, 32, "the fast-path scramble is allowed");
  assert.throws(() => sha2(Buffer.from([4])), /\(caching_sha2_password\) over a connection/);
  assert.throws(() => start(policy({ tls: true }), "mysql_clear_password")(scramble), /clear text/);
  // Over a socket, mysql2's own plugin goes on: it asks the server (the local one) for its key.
  assert.deepEqual(
    [...(start(policy({ socket: true }), "sha256_password")(scramble) as Buffer)],
    [1],
  );
});
