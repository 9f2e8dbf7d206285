/**
 * Connections to a server named by a {@link ServerAddress} (the conntrack ini's report and
 * central-store settings), through the monitor's connection code: the same TLS checks and the
 * same refusal to hand the password to a server that picks its own key.
 * @module
 */
import { secureHint, type ServerAddress } from "../config/conntrack_ini.ts";
import { Secret } from "../config/config.ts";
import { passwordAt, readPasswordFile } from "../config/passwd.ts";
import { isRsaPublicKey, notPublicKey, readPem } from "../config/pem.ts";
import { ConfigError, errorText, RuntimeError } from "../errors.ts";
import { connect, type ConnectOptions, type Db, type TlsOptions } from "./connection.ts";

/** Seconds allowed for connecting and for each query. */
export const ADDRESS_TIMEOUT_SEC = 10;

/**
 * Reads the password (if any) and the TLS and public-key files, and opens a connection. A bad
 * password file is a ConfigError (same rule as the monitor's: mode 0600 or stricter, owned by
 * root or the current user), and so is an unreadable PEM file; a server that cannot be reached
 * is a RuntimeError naming `what` and the address.
 */
export async function connectAddress(
  address: ServerAddress,
  what: string,
  keys: "Report" | "Store",
): Promise<Db> {
  let password = "";
  if (address.passwordFile) {
    const file = await readPasswordFile(address.passwordFile, [0, Deno.uid() ?? 0]);
    password = passwordAt(file, 0, what);
  }
  const server: ConnectOptions = {
    id: what,
    ...(address.socket ? { socket: address.socket } : { host: address.host, port: address.port }),
    user: address.user,
    password: new Secret(password),
    connectTimeoutSec: ADDRESS_TIMEOUT_SEC,
    queryTimeoutSec: ADDRESS_TIMEOUT_SEC,
    connectRetries: 0,
    ...await transportFiles(address, what),
    secureHint: secureHint(keys),
  };
  try {
    return await connect(server);
  } catch (err) {
    throw new RuntimeError(
      `${what}: cannot connect to ${describeAddress(address)}: ${errorText(err)}`,
      { cause: err },
    );
  }
}

/** `user@host:port` or `user@/socket/path`, without any password. */
export function describeAddress(address: ServerAddress): string {
  return `${address.user}@${address.socket ?? `${address.host}:${address.port}`}`;
}

/** Reads the PEM files an address names. */
async function transportFiles(
  address: ServerAddress,
  what: string,
): Promise<Pick<ConnectOptions, "tls" | "serverPublicKey">> {
  const pem = async (path: string | undefined): Promise<string | undefined> => {
    if (path === undefined) return undefined;
    try {
      return await readPem(path);
    } catch (err) {
      throw new ConfigError(`${what}: ${errorText(err)}`);
    }
  };
  const out: Pick<ConnectOptions, "tls" | "serverPublicKey"> = {};
  if (address.tls) {
    const tls: TlsOptions = {
      ca: await pem(address.tls.ca),
      cert: await pem(address.tls.cert),
      key: await pem(address.tls.key),
      verifyServerCert: address.tls.verifyServerCert,
      verifySetting: address.tls.verifySetting,
    };
    out.tls = tls;
  }
  const key = await pem(address.serverPublicKey);
  if (key !== undefined) {
    if (!isRsaPublicKey(key)) {
      throw new ConfigError(`${what}: ${notPublicKey(address.serverPublicKey!)}`);
    }
    out.serverPublicKey = key;
  }
  return out;
}
