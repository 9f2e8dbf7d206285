/**
 * mysql2 connections to a monitored server: socket or TCP, optional TLS, connect timeout,
 * per-query timeout, and connection retries with exponential backoff. TLS checks the chain and
 * the host name unless turned off (then a warning is logged once per process and server), and
 * the password goes only where {@link authPlugins} allows (see transport.ts).
 * @module
 */
import type mysql from "mysql2/promise";
import iconv from "iconv-lite";
import { RuntimeError } from "../errors.ts";
import { log } from "../system/log.ts";
import { authPlugins, openConnection, type TransportPolicy } from "./transport.ts";

/** TLS settings of a connection. */
export interface TlsOptions {
  /** PEM texts. */
  ca?: string;
  cert?: string;
  key?: string;
  /** Check the certificate chain and that the certificate names the host. */
  verifyServerCert: boolean;
  /** Name of the setting that turned verification off, for the warning. */
  verifySetting?: string;
}

/**
 * Where and how to connect, as db/ needs it whoever configured it (the monitor maps its
 * ConnectOptions to this; the conntrack report and central store map their ini addresses).
 */
export interface ConnectOptions {
  /** Name of the server or connection in messages. */
  id: string;
  socket?: string;
  host?: string;
  port?: number;
  user: string;
  /** The password, revealed only to the driver. */
  password: { reveal(): string };
  connectTimeoutSec: number;
  queryTimeoutSec: number;
  /** Further attempts of {@link connectWithRetry}. */
  connectRetries: number;
  /** TLS; undefined = plain TCP or socket. */
  tls?: TlsOptions;
  /** PEM of the server's RSA public key, the only key a password may be encrypted with. */
  serverPublicKey?: string;
  /** The settings that make a refused login possible, named in the refusal. */
  secureHint?: string;
}

/** An open connection plus the query timeout of its server. */
export interface Db {
  conn: mysql.Connection;
  /** Runs one statement with placeholders and the server's query timeout; returns the rows. */
  query<T>(sql: string, values?: unknown[]): Promise<T[]>;
  /**
   * Like {@link query}, each row an array of the selected columns in order: for large results
   * (far fewer short-lived objects and no generated row parser).
   */
  queryArrays(sql: string, values?: unknown[]): Promise<unknown[][]>;
  /** Closes the connection (never throws). */
  close(): Promise<void>;
}

/**
 * Loads the character-set tables the driver otherwise loads on first use. MariaDB sends
 * information_schema text as utf8mb3, which mysql2 decodes through iconv-lite, and iconv-lite
 * reads its tables from disk lazily: under `deno run` after the privilege drop, run_as may no
 * longer be able to read root's module cache. Call before dropping root.
 */
export function preloadDriver(): void {
  iconv.getCodec("cesu8");
}

/** Default of {@link ConnectOptions.secureHint}: the search.conf settings. */
export const SECURE_HINT =
  "tls=1 (with tls_ca) or server_public_key=FILE (the server's RSA public key, PEM) in search.conf";

/** How the password may travel to `server`. */
export function transportPolicy(server: ConnectOptions): TransportPolicy {
  return {
    id: server.id,
    host: server.socket ? "localhost" : server.host ?? "localhost",
    socket: server.socket !== undefined,
    tls: server.tls !== undefined,
    verify: server.tls?.verifyServerCert ?? false,
    serverPublicKey: server.serverPublicKey,
    hint: server.secureHint ?? SECURE_HINT,
  };
}

/** The sql_mode every connection sets for itself (valid on MariaDB and MySQL). */
export const SESSION_SQL_MODE = "STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION";

/** mysql2 options for `server`; the password only goes to the driver. */
export function connectionOptions(server: ConnectOptions): mysql.ConnectionOptions {
  const where = server.socket
    ? { socketPath: server.socket }
    : { host: server.host, port: server.port };
  return {
    ...where,
    user: server.user,
    password: server.password.reveal(),
    connectTimeout: server.connectTimeoutSec * 1000,
    multipleStatements: false,
    supportBigNumbers: true,
    bigNumberStrings: true,
    charset: "utf8mb4_general_ci",
    ssl: server.tls
      ? {
        ca: server.tls.ca,
        cert: server.tls.cert,
        key: server.tls.key,
        rejectUnauthorized: server.tls.verifyServerCert,
        // The host name is checked by openConnection (mysql2's check misses IP addresses).
        verifyIdentity: false,
      }
      : undefined,
    authPlugins: authPlugins(transportPolicy(server)),
  };
}

const warnedUnverified = new Set<string>();

/** Logs, once per process and server, that TLS does not check who the server is. */
function warnUnverified(server: ConnectOptions): void {
  if (!server.tls || server.tls.verifyServerCert || warnedUnverified.has(server.id)) return;
  warnedUnverified.add(server.id);
  log("db").warning(
    "{server}: TLS without certificate verification ({setting}=0): the server's identity is " +
      "not checked, and whoever answers at {address} receives the password",
    {
      server: server.id,
      setting: server.tls.verifySetting ?? "tls_verify_server_cert",
      address: server.socket ?? `${server.host}:${server.port}`,
    },
  );
}

/** Opens one connection to `server`, failing after connect_timeout_sec or when `signal` aborts. */
export async function connect(server: ConnectOptions, signal?: AbortSignal): Promise<Db> {
  const options = connectionOptions(server);
  warnUnverified(server);
  // mysql2's connectTimeout covers the TCP connect; the overall race also covers a peer that
  // accepts but never completes the handshake.
  const ms = server.connectTimeoutSec * 1000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const pending = openConnection(options, transportPolicy(server));
  const conn = await Promise.race([
    pending,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RuntimeError(`connect timed out after ${server.connectTimeoutSec} s`)),
        ms,
      );
      onAbort = () => reject(new RuntimeError("connect abandoned: stopping"));
      if (signal?.aborted) onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
  ]).finally(() => {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }).catch((err) => {
    pending.then((c) => c.destroy(), () => {});
    throw err;
  });
  // Keep the handshake error handler from crashing the process on later socket errors.
  conn.on("error", () => {});
  const timeout = server.queryTimeoutSec * 1000;
  // Never rely on the server's global sql_mode: NO_BACKSLASH_ESCAPES would break the driver's
  // quoting (o'brien), ANSI_QUOTES or ORACLE the statements themselves.
  await conn.query({ sql: `SET SESSION sql_mode = '${SESSION_SQL_MODE}'`, timeout }).catch(
    (err) => {
      conn.destroy();
      throw err;
    },
  );
  return {
    conn,
    async query<T>(sql: string, values: unknown[] = []): Promise<T[]> {
      const [rows] = await conn.query({ sql, values, timeout });
      return rows as T[];
    },
    async queryArrays(sql: string, values: unknown[] = []): Promise<unknown[][]> {
      const [rows] = await conn.query({ sql, values, timeout, rowsAsArray: true });
      return rows as unknown[][];
    },
    async close() {
      // end() waits for the server's goodbye, which never comes after a timed-out query or a
      // hung peer; give it a moment, then drop the socket.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const ended = await Promise.race([
        conn.end().then(() => true, () => false),
        new Promise<boolean>((resolve) => timer = setTimeout(() => resolve(false), 1000)),
      ]);
      clearTimeout(timer);
      if (!ended) conn.destroy();
    },
  };
}

/** Errors that another attempt cannot fix (wrong password, unknown user). */
function permanent(err: unknown): boolean {
  const code = (err as { errno?: number }).errno;
  return code === 1045 || code === 1044 || code === 1698;
}

/** Sleeps `ms`, ending early when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** Delay before retry number `attempt` (0-based): 0.5 s, 1 s, 2 s, … capped at 30 s. */
export function backoffMs(attempt: number): number {
  return Math.min(30_000, 500 * 2 ** attempt);
}

/**
 * Connects, retrying up to `connect_retries` times with exponential backoff. `onRetry` hears
 * about each failed attempt. Gives up at once on authentication errors or when `signal` aborts.
 */
export async function connectWithRetry(
  server: ConnectOptions,
  options: {
    signal?: AbortSignal;
    onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  } = {},
): Promise<Db> {
  for (let attempt = 0;; attempt++) {
    try {
      return await connect(server, options.signal);
    } catch (err) {
      if (attempt >= server.connectRetries || permanent(err) || options.signal?.aborted) throw err;
      const delay = backoffMs(attempt);
      options.onRetry?.(err, attempt + 1, delay);
      await sleep(delay, options.signal);
      if (options.signal?.aborted) throw err;
    }
  }
}
