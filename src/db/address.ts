/**
 * Connections to a server named by a {@link ServerAddress} (the conntrack ini's report and
 * central-store settings), through the monitor's connection code.
 * @module
 */
import type { ServerAddress } from "../config/conntrack_ini.ts";
import { Secret, type ServerConfig } from "../config/config.ts";
import { passwordAt, readPasswordFile } from "../config/passwd.ts";
import { RuntimeError } from "../errors.ts";
import { connect, type Db } from "./connection.ts";

/** Seconds allowed for connecting and for each query. */
export const ADDRESS_TIMEOUT_SEC = 10;

/**
 * Reads the password (if any) and opens a connection. A bad password file is a ConfigError
 * (same rule as the monitor's: mode 0600 or stricter, owned by root or the current user); a
 * server that cannot be reached is a RuntimeError naming `what` and the address.
 */
export async function connectAddress(address: ServerAddress, what: string): Promise<Db> {
  let password = "";
  if (address.passwordFile) {
    const file = await readPasswordFile(address.passwordFile, [0, Deno.uid() ?? 0]);
    password = passwordAt(file, 0, what);
  }
  const server: ServerConfig = {
    id: what,
    ...(address.socket ? { socket: address.socket } : { host: address.host, port: address.port }),
    user: address.user,
    password: new Secret(password),
    intervalSec: 0,
    usageSource: "information_schema",
    mapping: "grants",
    connectTimeoutSec: ADDRESS_TIMEOUT_SEC,
    queryTimeoutSec: ADDRESS_TIMEOUT_SEC,
    connectRetries: 0,
  };
  try {
    return await connect(server);
  } catch (err) {
    throw new RuntimeError(
      `${what}: cannot connect to ${describeAddress(address)}: ${
        err instanceof Error ? err.message : err
      }`,
    );
  }
}

/** `user@host:port` or `user@/socket/path`, without any password. */
export function describeAddress(address: ServerAddress): string {
  return `${address.user}@${address.socket ?? `${address.host}:${address.port}`}`;
}
