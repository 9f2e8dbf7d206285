/**
 * Parser for search.conf: `key=value` lines, `#` comments, blank lines, and optional
 * `[server NAME]` sections.
 *
 * Servers can be given three ways, which may be combined:
 * - flat form, one server: `db_host`, `db_user`, `db_id`, … at the top of the file;
 * - the established flat form with several servers: the block `db_host`/`db_user`/`db_id`/
 *   `monitor_interval_sec` repeated; a `db_host` line when the current block already has one
 *   starts the next server;
 * - `[server NAME]` sections, each with its own keys until the next section.
 *
 * This module only checks syntax and key names; values are checked by config.ts. CR, LF and
 * CRLF all end a line. A line that is not `key=value` with a known key is never quoted in an
 * error: the file named could be a password file. An unknown key is quoted only when it is close
 * to a known one (a typo, then, not a secret).
 * @module
 */
import { closest, typo } from "./suggest.ts";
import { ConfigError } from "../errors.ts";
import { splitLines } from "./safe_read.ts";
import { findUnsafeChar, quoteValue } from "../util/text.ts";
import { LABEL_MAX_CHARS } from "./value_rules.ts";

/** A value with the line it came from. */
export interface Setting {
  value: string;
  line: number;
}

/** Keys of one server block, by name. */
export interface RawServer {
  /** Name from `[server NAME]`; undefined for the flat form. */
  name?: string;
  /** Line where the block starts (section header or first key). */
  line: number;
  settings: Map<string, Setting>;
}

/** search.conf split into global keys and server blocks. */
export interface RawSearchConf {
  file: string;
  globals: Map<string, Setting>;
  servers: RawServer[];
}

/** Keys that describe one server and only make sense inside a server block. */
export const SERVER_KEYS = [
  "db_host",
  "db_port",
  "db_socket",
  "db_user",
  "db_id",
  "passwd_index",
] as const;

/** Keys valid globally (as defaults) and inside a server block. */
export const SHARED_KEYS = [
  "monitor_interval_sec",
  "passwd_file",
  "usage_source",
  "datadir",
  "schema_mapping",
  "connect_timeout_sec",
  "query_timeout_sec",
  "connect_retries",
  "tls",
  "tls_ca",
  "tls_cert",
  "tls_key",
  "tls_verify_server_cert",
  "server_public_key",
  "hard_grace",
  "hard_action",
  "notify_url",
  "notify_secret_file",
  "notify_tls_ca",
] as const;

/** Keys valid only at the top of the file (before any section). */
export const GLOBAL_KEYS = [
  "prometheus_truncate",
  "prometheus_file",
  "audit_log",
  "state_dir",
  "pid_file",
  "run_as",
  "workers",
  "lru_size",
  "protected_users",
] as const;

const ALL_KEYS: readonly string[] = [...SERVER_KEYS, ...SHARED_KEYS, ...GLOBAL_KEYS];
const SERVER_SET = new Set<string>(SERVER_KEYS);
const GLOBAL_SET = new Set<string>(GLOBAL_KEYS);

/** The known key closest to `key`, or undefined when none is reasonably close. */
export function closestKey(key: string, known: readonly string[] = ALL_KEYS): string | undefined {
  return closest(key, known);
}

/** The server name of section header `line`; throws when it is malformed or a repeat. */
function sectionName(
  line: string,
  servers: readonly RawServer[],
  file: string,
  lineNo: number,
): string {
  const m = new RegExp(`^\\[\\s*server\\s+([A-Za-z0-9_.:-]{1,${LABEL_MAX_CHARS}})\\s*\\]$`)
    .exec(line);
  if (!m) {
    throw new ConfigError(
      `bad section header; write [server NAME] (NAME: 1 to ${LABEL_MAX_CHARS} letters, ` +
        `digits, _ . : -)`,
      file,
      lineNo,
    );
  }
  if (servers.some((s) => s.name === m[1])) {
    throw new ConfigError(`server "${m[1]}" is defined twice`, file, lineNo);
  }
  return m[1];
}

/**
 * The key and value of setting `line`; throws for a line without one, a key search.conf must
 * not hold (notify_secret) and an unknown key (shown only when it is close to a known one, as
 * the line may be a password).
 */
function keyValue(line: string, file: string, lineNo: number): { key: string; value: string } {
  const eq = line.indexOf("=");
  if (eq <= 0) {
    throw new ConfigError(
      "expected key=value (the line is not shown, in case it is a password)",
      file,
      lineNo,
    );
  }
  const key = line.slice(0, eq).trim();
  const value = line.slice(eq + 1).trim();
  if (key === "notify_secret") {
    throw new ConfigError(
      "notify_secret is not read from search.conf, which others may read; put the secret " +
        "in a file of mode 0600 and name it with notify_secret_file (the line is not shown)",
      file,
      lineNo,
    );
  }
  if (!ALL_KEYS.includes(key)) {
    const t = typo(key, ALL_KEYS);
    throw new ConfigError(
      t
        ? `unknown key ${quoteValue(t.key)}; did you mean "${t.hint}"?`
        : "unknown key (not shown, in case the line is a password)",
      file,
      lineNo,
    );
  }
  return { key, value };
}

/** Parses the text of search.conf; `file` is used in error messages. */
export function parseSearchConf(text: string, file: string): RawSearchConf {
  const globals = new Map<string, Setting>();
  const servers: RawServer[] = [];
  let flat: RawServer | undefined;
  let section: RawServer | undefined;
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i].trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const bad = findUnsafeChar(lines[i], true);
    if (bad) {
      throw new ConfigError(
        `control character in line (${bad.name} in column ${bad.column}); remove it`,
        file,
        lineNo,
      );
    }
    if (line.startsWith("[")) {
      section = {
        name: sectionName(line, servers, file, lineNo),
        line: lineNo,
        settings: new Map(),
      };
      servers.push(section);
      continue;
    }
    const { key, value } = keyValue(line, file, lineNo);
    const setting = { value, line: lineNo };
    if (section) {
      if (GLOBAL_SET.has(key)) {
        throw new ConfigError(
          `"${key}" is a global setting; move it above the first [server ...] section`,
          file,
          lineNo,
        );
      }
      addOnce(section.settings, key, setting, file);
      continue;
    }
    if (SERVER_SET.has(key) || (flat && !GLOBAL_SET.has(key))) {
      // Established form: a db_host after a complete block starts the next server.
      if (!flat || (key === "db_host" && flat.settings.has("db_host"))) {
        flat = { line: lineNo, settings: new Map() };
        servers.push(flat);
      }
      addOnce(flat.settings, key, setting, file);
      continue;
    }
    addOnce(globals, key, setting, file);
  }
  return { file, globals, servers };
}

function addOnce(map: Map<string, Setting>, key: string, setting: Setting, file: string) {
  const earlier = map.get(key);
  if (earlier) {
    throw new ConfigError(
      `"${key}" is set twice (first on line ${earlier.line}); keep one`,
      file,
      setting.line,
    );
  }
  map.set(key, setting);
}
