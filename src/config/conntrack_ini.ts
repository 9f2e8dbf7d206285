/**
 * conntracker.ini: the Go conntracker's settings file, read with npm:ini plus line tracking so
 * every error names `file:line`.
 *
 * Keys live in a `[default]` section (keys before any section count too). Every key is
 * optional; see README "conntrack" for the list and defaults. Unknown keys and sections are
 * errors naming the key and the closest known one.
 * @module
 */
import { closest } from "./suggest.ts";
import { parse as parseIni } from "ini";
import { ConfigError } from "../errors.ts";
import { localZoneName, Zone } from "../conntrack/tz.ts";
import { escapeControl, type LogLevel } from "../system/log.ts";

/** Default location of the ini file. */
export const DEFAULT_CONNTRACK_INI = "/etc/conntracker/conntracker.ini";

/** Validated conntrack settings. */
export interface ConntrackConfig {
  /** Directory holding the audit log, or the live log file itself. */
  auditLogPath: string;
  /** Base name of the live log inside the directory. */
  auditFileName: string;
  sqlitePath: string;
  /** IANA zone of the server's clock. */
  timeLocation: string;
  maxWorkers: number;
  logLevel: LogLevel;
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
] as const;

/** Defaults, as in the Go tool's conntracker.ini-dist where it has one. */
export const CONNTRACK_DEFAULTS = {
  AuditLogPath: "/var/lib/mysql",
  AuditFileName: "server_audit.log",
  SqlitePath: "/var/lib/mysql/audit.sqlite",
  MaxWorkers: "4",
  LogLevel: "WARN",
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
  let data: Record<string, unknown>;
  try {
    data = parseIni(text);
  } catch (err) {
    throw new ConfigError(`not an ini file: ${err instanceof Error ? err.message : err}`, file);
  }
  const values: Record<string, string> = {};
  const section = (data.default ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries({ ...data, ...section })) {
    if (k === "default") continue;
    values[k] = typeof v === "string" ? v : String(v);
  }
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
  const timeLocation = get("TimeLocation") ?? localZoneName();
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
  const auditFileName = get("AuditFileName") ?? CONNTRACK_DEFAULTS.AuditFileName;
  if (auditFileName.includes("/")) {
    fail("AuditFileName", `AuditFileName must be a file name without "/", got "${auditFileName}"`);
  }
  const auditLogPath = get("AuditLogPath") ?? CONNTRACK_DEFAULTS.AuditLogPath;
  const sqlitePath = get("SqlitePath") ?? CONNTRACK_DEFAULTS.SqlitePath;
  for (const [key, value] of [["AuditLogPath", auditLogPath], ["SqlitePath", sqlitePath]]) {
    if (!value.startsWith("/")) fail(key, `${key} must be an absolute path, got "${value}"`);
  }
  return {
    auditLogPath,
    auditFileName,
    sqlitePath,
    timeLocation,
    maxWorkers: Number(workersText),
    logLevel,
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
      throw new ConfigError(`expected "Key = value", got ${quote(line)}`, file, i + 1);
    }
    const key = line.slice(0, eq).trim();
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new ConfigError(`unknown key ${quote(key)}${suggest(key)}`, file, i + 1);
    }
    if (found.has(key)) {
      throw new ConfigError(`${key} is set twice (first on line ${found.get(key)})`, file, i + 1);
    }
    found.set(key, i + 1);
  });
  return found;
}

/** Quotes text from the file for a message: control characters escaped, at most 60 characters. */
function quote(text: string): string {
  const short = text.length > 60 ? `${text.slice(0, 60)}…` : text;
  return `"${escapeControl(short).replaceAll('"', '\\"')}"`;
}

function suggest(key: string): string {
  const best = closest(key, KEYS);
  return best ? ` (did you mean "${best}"?)` : ` (known keys: ${KEYS.join(", ")})`;
}
