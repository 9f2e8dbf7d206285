/**
 * conntracker.ini: the Go conntracker's settings file, read as npm:ini reads it (ini_values.ts)
 * plus line tracking so every error names `file:line`.
 *
 * Keys live in a `[default]` section (keys before any section count too). Every key but
 * `SqlitePath` is optional; see docs/configuration.md for the list and defaults. Unknown keys and
 * sections are errors naming the line and the closest known key. CR, LF and CRLF all end a
 * line. Errors never quote a value: the file may hold a secret (a password pasted into `Store`,
 * a line joined to it, or `-c` pointing at a password file). An unknown key is quoted only when
 * it is close to a known one (a typo, then); the line number shows the rest.
 * @module
 */
import { typo } from "./suggest.ts";
import { iniValues } from "./ini_values.ts";
import { ConfigError } from "../errors.ts";
import { Zone } from "../time/tz.ts";
import type { LogLevel } from "../system/log.ts";
import { findUnsafeChar, quoteValue } from "../util/text.ts";
import { LIST_MAX_BYTES, readConfigText, splitLines } from "./safe_read.ts";
import {
  accountProblem,
  fileNameProblem,
  hostProblem,
  MAX_PORT,
  MYSQL_DEFAULT_PORT,
  type PathKind,
  pathProblem,
} from "./value_rules.ts";

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

/** Every key conntracker.ini accepts (docs/configuration.md describes each one). */
export const CONNTRACK_KEYS: readonly string[] = KEYS;

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
  ReportPort: String(MYSQL_DEFAULT_PORT),
  ReportUser: "root",
};

/**
 * Reads and validates `path`; a missing, unreadable or oversized file, or anything but a
 * regular file, is a ConfigError. A refusal by the permission set is passed on (main.ts
 * explains it).
 */
export async function loadConntrackConfig(path = DEFAULT_CONNTRACK_INI): Promise<ConntrackConfig> {
  const text = await readConfigText(path, {
    maxBytes: LIST_MAX_BYTES,
    label: "configuration",
    notFound:
      "cannot read configuration: not found (copy conntracker.ini-dist there, or pass -c FILE)",
  });
  return parseConntrackConfig(text, path);
}

/** Most parser threads MaxWorkers may ask for. */
const MAX_WORKERS = 64;
/** Longest ServerName, in characters (it is a column of the central store). */
const SERVER_NAME_MAX_CHARS = 64;

/**
 * The Go tool's time layouts: accepted when they say what this program does anyway (the
 * audit log's fixed layout, a database layout it writes), refused otherwise.
 */
function checkTimeFormats(
  get: (key: (typeof KEYS)[number]) => string | undefined,
  fail: (key: string, message: string) => never,
): void {
  const auditFormat = get("TimeFormatAudit");
  if (auditFormat !== undefined && auditFormat !== AUDIT_LAYOUT) {
    fail(
      "TimeFormatAudit",
      `TimeFormatAudit must be "${AUDIT_LAYOUT}" (server_audit's fixed layout)`,
    );
  }
  const dbFormat = get("TimeFormatDB");
  if (dbFormat !== undefined && !DB_LAYOUTS.includes(dbFormat)) {
    fail(
      "TimeFormatDB",
      `TimeFormatDB must be one of ${DB_LAYOUTS.map((l) => `"${l}"`).join(", ")}`,
    );
  }
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
  const check = (key: string, value: string, problem: string | undefined): string => {
    if (problem) fail(key, `${key} ${problem}`);
    return value;
  };

  checkTimeFormats(get, fail);
  // Left out, the Go tool reads times as UTC (time.LoadLocation("")), and so do its databases.
  const timeLocation = get("TimeLocation") ?? "UTC";
  const zoneError = zoneProblem(timeLocation);
  if (zoneError) fail("TimeLocation", `TimeLocation ${zoneError}`);
  const workersText = get("MaxWorkers") ?? CONNTRACK_DEFAULTS.MaxWorkers;
  if (
    !/^\d+$/.test(workersText) || Number(workersText) < 1 || Number(workersText) > MAX_WORKERS
  ) {
    fail("MaxWorkers", `MaxWorkers must be a whole number from 1 to ${MAX_WORKERS}`);
  }
  const levelText = (get("LogLevel") ?? CONNTRACK_DEFAULTS.LogLevel).toUpperCase();
  const logLevel = LEVELS[levelText];
  if (!logLevel) {
    fail(
      "LogLevel",
      `LogLevel must be one of DEBUG, INFO, WARN, ERROR`,
    );
  }
  const auditFileName = get("AuditFileName");
  if (auditFileName !== undefined) {
    check("AuditFileName", auditFileName, fileNameProblem(auditFileName));
  }
  const auditLogPath = get("AuditLogPath") ?? CONNTRACK_DEFAULTS.AuditLogPath;
  check("AuditLogPath", auditLogPath, pathProblem(auditLogPath, "any"));
  // No default: the Go tool has none either (an empty SqlitePath gives it a throwaway temporary
  // database), and this is the one file conntrack writes.
  const sqlitePath = get("SqlitePath") ??
    fail(
      "SqlitePath",
      `SqlitePath is not set; name the SQLite database, e.g. SqlitePath = ${CONNTRACK_DEFAULTS.SqlitePath} (as in conntracker.ini-dist)`,
    );
  check("SqlitePath", sqlitePath, pathProblem(sqlitePath, "written file"));
  const report = reportAddress(get, fail, check, lines);
  const store = centralStore(get, fail, check, lines);
  const serverName = get("ServerName") ?? hostName();
  if ([...serverName].length > SERVER_NAME_MAX_CHARS || findUnsafeChar(serverName)) {
    fail(
      "ServerName",
      `ServerName must be at most ${SERVER_NAME_MAX_CHARS} characters without control characters`,
    );
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
type Check = (key: string, value: string, problem: string | undefined) => string;

/**
 * What is wrong with a TimeLocation, or undefined: only IANA zone names are accepted (as by
 * the Go tool's time.LoadLocation). A UTC offset such as `+02:00`, which Intl would take, gets
 * the fixed-offset `Etc/GMT` zone suggested, or a region name.
 */
export function zoneProblem(name: string): string | undefined {
  const offset = /^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d\d))?$/i.exec(name);
  if (offset) {
    const hours = Number(offset[2]);
    const minutes = Number(offset[3] ?? 0);
    // The Etc/GMT zones count the other way round: Etc/GMT-2 is two hours east (UTC+02:00).
    const etc = minutes === 0 && hours <= 14
      ? ` or Etc/GMT${hours === 0 ? "" : `${offset[1] === "+" ? "-" : "+"}${hours}`} ` +
        `for a fixed offset without daylight saving time`
      : "";
    // Rebuilt from its digits: the value itself is never quoted.
    const shown = `${offset[1]}${String(hours).padStart(2, "0")}:${
      String(minutes).padStart(2, "0")
    }`;
    return `is the UTC offset ${shown}, not a time zone name; write the server's region, e.g. ` +
      `Europe/Zurich (follows daylight saving time)${etc}`;
  }
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/.test(name) || name.length > 64) {
    return "must be an IANA time zone name (e.g. Europe/Zurich or UTC)";
  }
  try {
    new Zone(name);
  } catch (err) {
    if (err instanceof RangeError) return "is not a known IANA time zone (e.g. Europe/Zurich)";
    throw err;
  }
  return undefined;
}

function hostName(): string {
  try {
    return Deno.hostname();
  } catch (err) {
    // Not permitted to ask (a permission set without sys): the Go tool's fallback.
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      return "localhost";
    }
    throw err;
  }
}

function portOf(text: string, key: string, check: Check): number {
  const bad = !/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > MAX_PORT;
  check(key, text, bad ? `must be a port number from 1 to ${MAX_PORT}` : undefined);
  return Number(text);
}

function absolute(
  key: string,
  value: string | undefined,
  check: Check,
  kind: PathKind = "file",
): string | undefined {
  return value === undefined ? undefined : check(key, value, pathProblem(value, kind));
}

/** ReportHost wins over the default socket; ReportSocket wins over ReportHost. */
function reportAddress(
  get: Getter,
  fail: Fail,
  check: Check,
  lines: Map<string, number>,
): ServerAddress {
  const host = get("ReportHost");
  if (host !== undefined) check("ReportHost", host, hostProblem(host));
  const socket = absolute("ReportSocket", get("ReportSocket"), check, "socket") ??
    (host === undefined ? CONNTRACK_DEFAULTS.ReportSocket : undefined);
  const passwordFile = absolute("ReportPasswordFile", get("ReportPasswordFile"), check);
  const user = get("ReportUser") ?? CONNTRACK_DEFAULTS.ReportUser;
  check("ReportUser", user, accountProblem(user));
  return {
    ...(socket !== undefined ? { socket } : { host }),
    port: portOf(get("ReportPort") ?? CONNTRACK_DEFAULTS.ReportPort, "ReportPort", check),
    user,
    ...(passwordFile ? { passwordFile, passwordLine: lines.get("ReportPasswordFile") } : {}),
    ...transport("Report", get, fail, check, socket !== undefined),
  };
}

const TRUE = ["1", "yes", "true", "on"];
const FALSE = ["0", "no", "false", "off"];

function flag(key: string, get: Getter, fail: Fail, fallback: boolean): boolean {
  const text = get(key as (typeof KEYS)[number]);
  if (text === undefined) return fallback;
  if (TRUE.includes(text.toLowerCase())) return true;
  if (FALSE.includes(text.toLowerCase())) return false;
  // The value is not shown: this file may hold a password (see locateKeys).
  return fail(key, `${key} must be 1 or 0`);
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
  check: Check,
  overSocket: boolean,
): Pick<ServerAddress, "tls" | "serverPublicKey"> {
  const [on, caKey, certKey, keyKey, verifyKey, publicKey] = tlsKeyNames(prefix);
  const tls = flag(on, get, fail, false);
  const verify = flag(verifyKey, get, fail, true);
  const path = (key: string) => absolute(key, get(key as (typeof KEYS)[number]), check);
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
  check: Check,
  lines: Map<string, number>,
): CentralStore | undefined {
  const text = get("Store");
  const passwordFile = absolute("StorePasswordFile", get("StorePasswordFile"), check);
  if (text === undefined) {
    for (const key of ["StorePasswordFile", ...tlsKeyNames("Store")] as const) {
      if (get(key) !== undefined) fail(key, `${key} is set but Store is not`);
    }
    return undefined;
  }
  const example = `mysql://user@host:${MYSQL_DEFAULT_PORT}/database`;
  let url: URL;
  try {
    url = new URL(text);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    return fail("Store", `Store must be a URL like ${example}`);
  }
  if (url.protocol !== "mysql:") {
    fail(
      "Store",
      `Store must be a mysql:// URL like ${example}`,
    );
  }
  if (url.password !== "") {
    fail(
      "Store",
      "Store must not contain a password; put it in a 0600 file named by StorePasswordFile",
    );
  }
  const decode = (part: string, what: string): string => {
    try {
      return decodeURIComponent(part);
    } catch (err) {
      if (!(err instanceof URIError)) throw err;
      return fail("Store", `Store: the ${what} has a bad %-escape, like ${example}`);
    }
  };
  const user = decode(url.username, "user");
  if (user === "") fail("Store", `Store must name the user, like ${example}`);
  const userProblem = accountProblem(user);
  if (userProblem) fail("Store", `Store: the user ${userProblem}`);
  const database = decode(url.pathname.replace(/^\//, ""), "database");
  if (!/^[A-Za-z0-9_$]{1,64}$/.test(database)) {
    fail("Store", `Store must name the database (letters, digits, _ and $), like ${example}`);
  }
  const params = [...url.searchParams.keys()].filter((k) => k !== "socket");
  if (params.length) {
    fail("Store", `Store: unknown parameter (only socket=/path is known)`);
  }
  const socket = absolute("Store", url.searchParams.get("socket") ?? undefined, check, "socket");
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (!socket && host === "") fail("Store", `Store must name a host, like ${example}`);
  const port = url.port === "" ? MYSQL_DEFAULT_PORT : portOf(url.port, "Store", check);
  return {
    ...(socket ? { socket } : { host }),
    port,
    user,
    database,
    ...(passwordFile ? { passwordFile, passwordLine: lines.get("StorePasswordFile") } : {}),
    ...transport("Store", get, fail, check, socket !== undefined),
    display: `mysql://${url.username}@${url.host}/${database}${socket ? `?socket=${socket}` : ""}`,
  };
}

/** Maps each key to its line; rejects unknown keys and sections with file:line. */
function locateKeys(text: string, file: string): Map<string, number> {
  const found = new Map<string, number>();
  splitLines(text).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith(";") || line.startsWith("#")) return;
    const bad = findUnsafeChar(raw, true);
    if (bad) {
      throw new ConfigError(
        `control character in line (${bad.name} in column ${bad.column}); remove it`,
        file,
        i + 1,
      );
    }
    if (line.startsWith("[")) {
      // npm:ini keeps the spaces of "[ default ]" in the name: the keys would be lost.
      if (!/^\[default\]$/.test(line)) {
        // String operations, not a regex: "[" followed by 70 000 spaces once took minutes.
        const inner = line.endsWith("]") ? line.slice(1, -1).trim() : "";
        const name = inner.length <= 40 && /^[A-Za-z0-9_. -]+$/.test(inner) ? inner : undefined;
        throw new ConfigError(
          name === "default"
            ? "write the section header as [default], without spaces"
            : `unknown section${name && typo(name, ["default"]) ? ` [${name}]` : ""}; ` +
              `the settings go in [default]`,
          file,
          i + 1,
        );
      }
      return;
    }
    const eq = line.indexOf("=");
    if (eq <= 0) {
      throw new ConfigError(
        `expected "Key = value" (the line is not shown, in case it is a password)`,
        file,
        i + 1,
      );
    }
    const key = line.slice(0, eq).trim();
    if (!(KEYS as readonly string[]).includes(key)) {
      const t = typo(key, KEYS);
      throw new ConfigError(
        t
          ? `unknown key ${quoteValue(t.key)} (did you mean "${t.hint}"?)`
          : `unknown key (not shown, in case the line is a password; known keys: ${
            KEYS.join(", ")
          })`,
        file,
        i + 1,
      );
    }
    if (found.has(key)) {
      throw new ConfigError(`${key} is set twice (first on line ${found.get(key)})`, file, i + 1);
    }
    found.set(key, i + 1);
  });
  return found;
}
