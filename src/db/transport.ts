/**
 * What makes a connection safe to send the password over: the TLS peer check and the policy for
 * authentication plugins that want the password itself.
 *
 * - TLS: mysql2 checks the chain (`rejectUnauthorized`), but its own host-name check names the
 *   wrong host for servers given by IP address (under Deno it compares with "localhost"). So
 *   mysql2's check is left off and {@link openConnection} checks the certificate against the
 *   configured host itself, after the TLS handshake and before the credentials are written.
 * - `sha256_password` and `caching_sha2_password` (full authentication) send the password: in
 *   clear over TLS or a Unix socket, else RSA-encrypted with the server's public key. mysql2
 *   fetches that key from the server unverified, so a fake server gets the password encrypted
 *   with a key it chose. Here the key must come from a configured file unless the connection is
 *   TLS or a Unix socket; otherwise the login is refused before anything derived from the
 *   password for that plugin is sent. `mysql_clear_password` is always refused.
 * @module
 */
import mysqlCore, { type AuthPlugin, authPlugins as standardPlugins } from "mysql2";
import mysql from "mysql2/promise";
import { checkServerIdentity, type PeerCertificate } from "node:tls";
import { RuntimeError } from "../errors.ts";

/** What {@link authPlugins} and {@link openConnection} need to know about the server. */
export interface TransportPolicy {
  /** Label for messages (server id, "central store …"). */
  id: string;
  /** Host name or address the certificate must name; "localhost" for a Unix socket. */
  host: string;
  /** Unix socket: the password may go in clear, as with the standard clients. */
  socket: boolean;
  /** TLS is on. */
  tls: boolean;
  /** TLS checks chain and host name. */
  verify: boolean;
  /** PEM of the server's RSA public key, from the configuration. */
  serverPublicKey?: string;
  /** The settings that would make an RSA login safe, for the refusal message. */
  hint: string;
}

/** Request byte of caching_sha2_password: "send the password" (full authentication). */
const PERFORM_FULL_AUTHENTICATION = 4;

/** Auth plugins for mysql2's `authPlugins` option that follow the policy above. */
export function authPlugins(policy: TransportPolicy): Record<string, AuthPlugin> {
  const secure = policy.tls || policy.socket;
  const key = policy.serverPublicKey;
  const refusal = (plugin: string) =>
    new RuntimeError(
      `${policy.id}: the server asks for the password (${plugin}) over a connection without ` +
        `TLS and would choose the key it is encrypted with; refused. Set ${policy.hint}`,
    );
  const sha256: AuthPlugin = secure || key !== undefined
    ? standardPlugins.sha256_password(key === undefined ? {} : { serverPublicKey: key })
    : () => () => {
      throw refusal("sha256_password");
    };
  const standardSha2 = standardPlugins.caching_sha2_password(
    key === undefined ? {} : { serverPublicKey: key },
  );
  // The fast path (a scramble, like mysql_native_password's) is fine; only full authentication
  // sends the password.
  const cachingSha2: AuthPlugin = secure || key !== undefined ? standardSha2 : (context) => {
    const inner = standardSha2(context);
    return (data) => {
      if (data.length === 1 && data[0] === PERFORM_FULL_AUTHENTICATION) {
        throw refusal("caching_sha2_password");
      }
      return inner(data);
    };
  };
  const clear: AuthPlugin = () => () => {
    throw new RuntimeError(
      `${policy.id}: the server asks for the password in clear text (mysql_clear_password); refused`,
    );
  };
  return {
    sha256_password: sha256,
    caching_sha2_password: cachingSha2,
    mysql_clear_password: clear,
  };
}

/**
 * Why `cert` does not prove to be `host`'s, or undefined when it does. An empty certificate
 * (none seen) fails.
 */
export function identityError(host: string, cert: PeerCertificate | undefined): Error | undefined {
  if (!cert || Object.keys(cert).length === 0) {
    return new Error(`no server certificate to check against "${host}"`);
  }
  if (checkServerIdentity(host, cert) === undefined) return undefined;
  const names = cert.subjectaltname || (cert.subject?.CN ? `CN=${cert.subject.CN}` : "no name");
  return new Error(
    `the server's certificate is not for "${host}" (it names ${names}); refusing to log in`,
  );
}

/**
 * The promise wrapper class, taken from the module loaded at start: mysql2's own
 * `connection.promise()` requires it from disk on first use, which fails once the daemon has
 * dropped root and can no longer read root's module cache.
 */
const PromiseConnection = (mysql as unknown as {
  PromiseConnection: new (core: mysqlCore.Connection) => mysql.Connection;
}).PromiseConnection;

interface CoreInternals {
  stream: { getPeerCertificate?: (detailed?: boolean) => PeerCertificate };
  startTLS(onSecure: (err?: Error) => void): void;
}

/**
 * Opens a connection with mysql2's callback API, so the host-name check can be put between
 * the TLS handshake and the credentials, then hands back the promise API.
 */
export function openConnection(
  options: mysql.ConnectionOptions,
  policy: TransportPolicy,
): Promise<mysql.Connection> {
  const core = mysqlCore.createConnection(options as mysqlCore.ConnectionOptions);
  if (policy.tls && policy.verify) {
    const internals = core as unknown as CoreInternals;
    const startTLS = internals.startTLS;
    internals.startTLS = function (onSecure) {
      startTLS.call(this, (err) => {
        if (err) return onSecure(err);
        onSecure(identityError(policy.host, internals.stream.getPeerCertificate?.(true)));
      });
    };
  }
  return new Promise((resolve, reject) => {
    core.once("connect", () => resolve(new PromiseConnection(core)));
    core.once("error", (err) => {
      core.destroy();
      reject(err);
    });
  });
}
