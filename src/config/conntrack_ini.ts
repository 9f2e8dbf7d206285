/**
 * conntracker.ini: the Go conntracker's settings file, read as npm:ini reads it (ini_values.ts)
 * plus line tracking so every error names `file:line`.
 *
 * Keys live in a `[default]` section (keys before any section count too). Every key is
 * optional; see README "conntrack" for the list and defaults. Unknown keys and sections are
 * errors naming the key and the closest known one.
 * @module
 */
import { closest } from "./suggest.ts";
import { iniValues } from "./ini_values.ts";
import { ConfigError } from "../errors.ts";
import { Zone } from "../conntrack/tz.ts";
import type { LogLevel } from "../system/log.ts";
import { hasUnsafeChars, quoteValue } from "../util/text.ts";

/** Default location of the ini file. */
export const DEFAULT_CONNTRACK_INI = "/etc/conntracker/conntracker.ini";

/** Validated conntrack settings. */
export interface ConntrackConfig {
  /** Directory holding the audit log, or the live log file itself. */
  auditLogPath: string;
  /** Base name of the live log inside the directory; unset: audit files are found by content. */
  auditFileName?: string;
  sqlitePath: string;
  /** IANA zone of the server's clock. */
  timeLocation: string;
  /** False when TimeLocation was left out (then UTC, as for the Go tool). */
  timeLocationSet: boolean;
  maxWorkers: number;
  logLevel: LogLevel;
  /** Where `conntrack report` reads `mysql.user` (ReportHost/ReportPort/ReportSocket/…). */
  report: ServerAddress;
  /** Fleet mode: account rows also go to this central MariaDB/MySQL database (`Store`). */
  store?: CentralStore;
  /** This server's name in the central store (`ServerName`, default the host name). */
  serverName: string;
}

/** How to reach a MariaDB/MySQL server: a Unix socket, or host and port. */
export interface ServerAddress {
  /** Unix socket; used when set (host and port are then ignored). */
  socket?: string;
  host?: string;
  port: number;
  user: string;
  /** A 0600 file holding the password on its first non-comment line; none = no password. */
  passwordFile?: string;
  /** The ini line that named the password file, for error messages. */
  passwordLine?: number;
  /** TLS (`<prefix>TLS=1` and its keys); undefined = no TLS. */
  tls?: AddressTls;
  /** File with the server's RSA public key (`<prefix>ServerPublicKey`), for plain TCP. */
  serverPublicKey?: string;
}

/** The ini keys that make a password login safe without TLS, for the refusal message. */
export function secureHint(prefix: "Report" | "Store"): string {
  return `${prefix}TLS=1 (with ${prefix}TLSCA) or ${prefix}ServerPublicKey=FILE (the server's ` +
    `RSA public key, PEM) in the ini file`;
}

/** TLS files (paths, read when connecting) and verification of one address. */
export interface AddressTls {
  ca?: string;
  cert?: string;
  key?: string;
  /** Check the chain and that the certificate names the host (default true). */
  verifyServerCert: boolean;
  /** Name of the verification key, for the warning when it is off. */
  verifySetting: string;
}

/** The central database of fleet mode. */
export interface CentralStore extends ServerAddress {
  database: string;
  /** The URL without any password, for messages. */
  display: string;
}

/** The Go tool's layouts; only these are understood. */
const AUDIT_LAYOUT = "20060102 15:04:05";
const DB_LAYOUTS = ["2006-01-02 15:04:05-07:00", "2006-01-02 15:04:05-07:00 MST"];

const LEVELS: Record<string, LogLevel> = {
  DEBUG: "debug",
  INFO: "info",
  WARN: "warning",
  WARNING: "warning",
  ERROR: "error",
};

const KEYS = [
  "AuditLogPath",
  "AuditFileName",
  "SqlitePath",
  "TimeLocation",
  "TimeFormatAudit",
  "TimeFormatDB",
  "MaxWorkers",
  "LogLevel",
  "ReportHost",
  "ReportPort",
  "ReportSocket",
  "ReportUser",
  "ReportPasswordFile",
  "Store",
  "StorePasswordFile",
  "ServerName",
  ...tlsKeyNames("Report"),
  ...tlsKeyNames("Store"),
] as const;

/** The TLS keys of an address whose keys start with `prefix`. */
function tlsKeyNames<P extends string>(prefix: P) {
  return [
    `${prefix}TLS`,
    `${prefix}TLSCA`,
    `${prefix}TLSCert`,
    `${prefix}TLSKey`,
    `${prefix}TLSVerifyServerCert`,
    `${prefix}ServerPublicKey`,
  ] as const;
}

/** Defaults, as in the Go tool's conntracker.ini-dist where it has one. */
export const CONNTRACK_DEFAULTS = {
  AuditLogPath: "/var/lib/mysql",
  SqlitePath: "/var/lib/mysql/audit.sqlite",
  MaxWorkers: "4",
  LogLevel: "WARN",
  ReportSocket: "/run/mysqld/mysqld.sock",
  ReportPort: "3306",
  ReportUser: "root",
};

/** Reads and validates `path`; a missing or unreadable file is a ConfigError. */
export async function loadConntrackConfig(path = DEFAULT_CONNTRACK_INI): Promise<ConntrackConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    // Not the operator's file at fault: main.ts explains permission refusals.
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      throw err;
    }
    const why = err instanceof Deno.errors.NotFound
      ? "not found (copy conntracker.ini-dist there, or pass -c FILE)"
      : err instanceof Error
      ? err.message
      : String(err);
    throw new ConfigError(`cannot read configuration: ${why}`, path);
  }
  return parseConntrackConfig(text, path);
}

/** Validates the text of a conntracker.ini; `file` is used in error messages. */
export function parseConntrackConfig(text: string, file: string): ConntrackConfig {
  const lines = locateKeys(text, file);
  const values = iniValues(text);
  const get = (key: (typeof KEYS)[number]): string | undefined => {
    const v = values[key]?.trim();
    return v === undefined || v === "" ? undefined : v;
  };
  const fail = (key: string, message: string): never => {
    throw new ConfigError(message, file, lines.get(key));
  };

  const auditFormat = get("TimeFormatAudit");
  if (auditFormat !== undefined && auditFormat !== AUDIT_LAYOUT) {
    fail(
      "TimeFormatAudit",
      `TimeFormatAudit must be "${AUDIT_LAYOUT}" (server_audit's fixed layout), got "${auditFormat}"`,
    );
  }
  const dbFormat = get("TimeFormatDB");
  if (dbFormat !== undefined && !DB_LAYOUTS.includes(dbFormat)) {
    fail(
      "TimeFormatDB",
      `TimeFormatDB must be one of ${
        DB_LAYOUTS.map((l) => `"${l}"`).join(", ")
      }, got "${dbFormat}"`,
    );
  }
  // Left out, the Go tool reads times as UTC (time.LoadLocation("")), and so do its databases.
  const timeLocation = get("TimeLocation") ?? "UTC";
  try {
    new Zone(timeLocation);
  } catch {
    fail(
      "TimeLocation",
      `TimeLocation "${timeLocation}" is not a known IANA time zone (e.g. Europe/Zurich)`,
    );
  }
  const workersText = get("MaxWorkers") ?? CONNTRACK_DEFAULTS.MaxWorkers;
  if (!/^\d+$/.test(workersText) || Number(workersText) < 1 || Number(workersText) > 64) {
    fail("MaxWorkers", `MaxWorkers must be a whole number from 1 to 64, got "${workersText}"`);
  }
  const levelText = (get("LogLevel") ?? CONNTRACK_DEFAULTS.LogLevel).toUpperCase();
  const logLevel = LEVELS[levelText];
  if (!logLevel) {
    fail("LogLevel", `LogLevel must be one of DEBUG, INFO, WARN, ERROR, got "${get("LogLevel")}"`);
  }
  const auditFileName = get("AuditFileName");
  if (auditFileName?.includes("/")) {
    fail("AuditFileName", `AuditFileName must be a file name without "/", got "${auditFileName}"`);
  }
  const auditLogPath = get("AuditLogPath") ?? CONNTRACK_DEFAULTS.AuditLogPath;
  const sqlitePath = get("SqlitePath") ?? CONNTRACK_DEFAULTS.SqlitePath;
  for (const [key, value] of [["AuditLogPath", auditLogPath], ["SqlitePath", sqlitePath]]) {
    if (!value.startsWith("/")) fail(key, `${key} must be an absolute path, got "${value}"`);
  }
  const report = reportAddress(get, fail, lines);
  const store = centralStore(get, fail, lines);
  const serverName = get("ServerName") ?? hostName();
  if (serverName.length > 64 || hasUnsafeChars(serverName)) {
    fail("ServerName", `ServerName must be at most 64 characters without control characters`);
  }
  return {
    auditLogPath,
    ...(auditFileName !== undefined ? { auditFileName } : {}),
    sqlitePath,
    timeLocation,
    timeLocationSet: get("TimeLocation") !== undefined,
    maxWorkers: Number(workersText),
    logLevel,
    report,
    ...(store ? { store } : {}),
    serverName,
  };
}

type Getter = (key: (typeof KEYS)[number]) => string | undefined;
type Fail = (key: string, message: string) => never;

function hostName(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

function portOf(text: string, key: string, fail: Fail): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    fail(key, `${key} must be a port number from 1 to 65535, got "${text}"`);
  }
  return Number(text);
}

function absolute(key: string, value: string | undefined, fail: Fail): string | undefined {
  if (value !== undefined && !value.startsWith("/")) {
    fail(key, `${key} must be an absolute path, got "${value}"`);
  }
  return value;
}

/** ReportHost wins over the default socket; ReportSocket wins over ReportHost. */
function reportAddress(get: Getter, fail: Fail, lines: Map<string, number>): ServerAddress {
  const host = get("ReportHost");
  const socket = absolute("ReportSocket", get("ReportSocket"), fail) ??
    (host === undefined ? CONNTRACK_DEFAULTS.ReportSocket : undefined);
  const passwordFile = absolute("ReportPasswordFile", get("ReportPasswordFile"), fail);
  return {
    ...(socket !== undefined ? { socket } : { host }),
    port: portOf(get("ReportPort") ?? CONNTRACK_DEFAULTS.ReportPort, "ReportPort", fail),
    user: get("ReportUser") ?? CONNTRACK_DEFAULTS.ReportUser,
    ...(passwordFile ? { passwordFile, passwordLine: lines.get("ReportPasswordFile") } : {}),
    ...transport("Report", get, fail, socket !== undefined),
  };
}

const TRUE = ["1", "yes", "true", "on"];
const FALSE = ["0", "no", "false", "off"];

function flag(key: string, get: Getter, fail: Fail, fallback: boolean): boolean {
  const text = get(key as (typeof KEYS)[number]);
  if (text === undefined) return fallback;
  if (TRUE.includes(text.toLowerCase())) return true;
  if (FALSE.includes(text.toLowerCase())) return false;
  return fail(key, `${key} must be 1 or 0, got ${quoteValue(text, 20)}`);
}

/**
 * TLS and public-key settings of the address with key prefix `prefix` ("Report", "Store"):
 * every TLS key needs `<prefix>TLS=1`, the client certificate and key go together, and
 * `<prefix>ServerPublicKey` only serves plain TCP. A key that cannot take effect is an error.
 */
function transport(
  prefix: "Report" | "Store",
  get: Getter,
  fail: Fail,
  overSocket: boolean,
): Pick<ServerAddress, "tls" | "serverPublicKey"> {
  const [on, caKey, certKey, keyKey, verifyKey, publicKey] = tlsKeyNames(prefix);
  const tls = flag(on, get, fail, false);
  const verify = flag(verifyKey, get, fail, true);
  const path = (key: string) => absolute(key, get(key as (typeof KEYS)[number]), fail);
  for (const key of [caKey, certKey, keyKey, verifyKey]) {
    if (!tls && get(key as (typeof KEYS)[number]) !== undefined) {
      fail(key, `${key} has no effect without ${on}=1; add ${on}=1 or remove ${key}`);
    }
  }
  const serverPublicKey = path(publicKey);
  if (serverPublicKey !== undefined && (tls || overSocket)) {
    fail(
      publicKey,
      `${publicKey} has no effect ${
        tls ? `with ${on}=1` : "over a Unix socket"
      }; it only serves servers reached over TCP without TLS; remove it`,
    );
  }
  if (!tls) return serverPublicKey ? { serverPublicKey } : {};
  const [ca, cert, key] = [path(caKey), path(certKey), path(keyKey)];
  if ((cert === undefined) !== (key === undefined)) {
    const [set, missing] = cert ? [certKey, keyKey] : [keyKey, certKey];
    fail(set, `${set} needs ${missing} (the client certificate and its key)`);
  }
  return { tls: { ca, cert, key, verifyServerCert: verify, verifySetting: verifyKey } };
}

/**
 * `Store = mysql://user@host:port/database` (or `mysql://user@localhost/database?socket=/path`).
 * A password in the URL is refused: it would show in `ps`-like listings, backups of the ini and
 * messages; it goes in StorePasswordFile.
 */
function centralStore(
  get: Getter,
  fail: Fail,
  lines: Map<string, number>,
): CentralStore | undefined {
  const text = get("Store");
  const passwordFile = absolute("StorePasswordFile", get("StorePasswordFile"), fail);
  if (text === undefined) {
    for (const key of ["StorePasswordFile", ...tlsKeyNames("Store")] as const) {
      if (get(key) !== undefined) fail(key, `${key} is set but Store is not`);
    }
    return undefined;
  }
  const example = "mysql://user@host:3306/database";
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail("Store", `Store must be a URL like ${example}`);
  }
  if (url.protocol !== "mysql:") {
    fail("Store", `Store must be a mysql:// URL like ${example}, got scheme "${url.protocol}"`);
  }
  if (url.password !== "") {
    fail(
      "Store",
      "Store must not contain a password; put it in a 0600 file named by StorePasswordFile",
    );
  }
  const user = decodeURIComponent(url.username);
  if (user === "") fail("Store", `Store must name the user, like ${example}`);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (!/^[A-Za-z0-9_$]{1,64}$/.test(database)) {
    fail("Store", `Store must name the database (letters, digits, _ and $), like ${example}`);
  }
  const params = [...url.searchParams.keys()].filter((k) => k !== "socket");
  if (params.length) fail("Store", `Store: unknown parameter "${params[0]}" (only socket=/path)`);
  const socket = absolute("Store", url.searchParams.get("socket") ?? undefined, fail);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (!socket && host === "") fail("Store", `Store must name a host, like ${example}`);
  const port = url.port === "" ? 3306 : portOf(url.port, "Store", fail);
  return {
    ...(socket ? { socket } : { host }),
    port,
    user,
    database,
    ...(passwordFile ? { passwordFile, passwordLine: lines.get("StorePasswordFile") } : {}),
    ...transport("Store", get, fail, socket !== undefined),
    display: `mysql://${url.username}@${url.host}/${database}${socket ? `?socket=${socket}` : ""}`,
  };
}

/** Maps each key to its line; rejects unknown keys and sections with file:line. */
function locateKeys(text: string, file: string): Map<string, number> {
  const found = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith(";") || line.startsWith("#")) return;
    const sectionMatch = /^\[(.*)\]$/.exec(line);
    if (sectionMatch) {
      if (sectionMatch[1].trim() !== "default") {
        throw new ConfigError(
          `unknown section [${sectionMatch[1]}]; the settings go in [default]`,
          file,
          i + 1,
        );
      }
      return;
    }
    const eq = line.indexOf("=");
    if (eq <= 0) {
      throw new ConfigError(`expected "Key = value", got ${quoteValue(line, 60)}`, file, i + 1);
    }
    const key = line.slice(0, eq).trim();
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new ConfigError(`unknown key ${quoteValue(key, 60)}${suggest(key)}`, file, i + 1);
    }
    if (found.has(key)) {
      throw new ConfigError(`${key} is set twice (first on line ${found.get(key)})`, file, i + 1);
    }
    found.set(key, i + 1);
  });
  return found;
}

function suggest(key: string): string {
  const best = closest(key, KEYS);
  return best ? ` (did you mean "${best}"?)` : ` (known keys: ${KEYS.join(", ")})`;
}
