/**
 * Loads and validates the whole monitor configuration from a directory: search.conf,
 * search_user and the password file(s). The result is a deeply frozen object, so a running
 * monitor can swap it for a newly loaded one in one assignment (see Monitor.reload). Any
 * problem is a ConfigError naming file and line; nothing else happens before it.
 * @module
 */
import { ConfigError, errorText } from "../errors.ts";
import { quoteValue } from "../util/text.ts";
import { readEnv } from "../util/env.ts";
import {
  parseSearchConf,
  type RawSearchConf,
  type RawServer,
  type Setting,
} from "./search_conf.ts";
import { parseSearchUser, type UserLimit } from "./search_user.ts";
import {
  caBundleProblem,
  HARD_ACTIONS,
  type HardAction,
  type HardGrace,
  NO_GRACE,
  parseHardAction,
  parseHardGrace,
  parseNotifyUrl,
} from "./enforcement.ts";
import { passwordAt, type PasswordFile, readPasswordFile } from "./passwd.ts";
import { isRsaPublicKey, notPublicKey, readPem } from "./pem.ts";
import {
  CERT_MAX_BYTES,
  LIST_MAX_BYTES,
  readConfigText,
  SECRET_MAX_BYTES,
  splitLines,
} from "./safe_read.ts";
import {
  accountProblem,
  hostProblem,
  labelProblem,
  type PathKind,
  pathProblem,
  systemUserProblem,
} from "./value_rules.ts";

/** Default configuration directory. */
export const DEFAULT_CONFIG_DIR = "/etc/mysql_search";
/** Password file looked for first when search.conf names none. */
export const DEFAULT_PASSWD_FILE = "/root/mysql_search/passwd";

/** Default paths of everything the monitor reads or writes (the app permission set covers them). */
export const DEFAULT_PATHS = {
  prometheusFile: "/run/mysql_monitor/mysql_monitor.prom",
  auditLog: "/var/log/mysql_monitor/audit.log",
  stateDir: "/var/lib/mysql_monitor",
  pidFile: "/run/mysql_monitor/mysql_monitor.pid",
  socket: "/run/mysqld/mysqld.sock",
  datadir: "/var/lib/mysql",
  passwdDb: "/etc/passwd",
} as const;

/** Accounts that are never locked, whatever search_user says. */
export const ALWAYS_PROTECTED = ["root", "mariadb.sys", "mysql"] as const;

/** A password that does not show up in logs, JSON or Deno.inspect. */
export class Secret {
  #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  /** The password itself; pass it only to the driver. */
  reveal(): string {
    return this.#value;
  }
  /** Masked. */
  toString(): string {
    return "********";
  }
  /** Masked. */
  toJSON(): string {
    return "********";
  }
  /** Masked. */
  [Symbol.for("Deno.customInspect")](): string {
    return "Secret(********)";
  }
}

export type { HardAction, HardGrace } from "./enforcement.ts";

/** Where usage figures come from. */
export type UsageSource = "information_schema" | "datadir";
/** How a user's schemas are found. */
export type SchemaMapping = "grants" | "name" | "prefix";

/** TLS settings of one server connection (PEM text, not paths). */
export interface TlsConfig {
  ca?: string;
  cert?: string;
  key?: string;
  /** Check the certificate chain and that the certificate names the configured host. */
  verifyServerCert: boolean;
  /** Name of the setting that turned verification off, for the start-up warning. */
  verifySetting?: string;
}

/** One server to monitor. */
export interface ServerConfig {
  /** Label in metrics, logs and file names (`db_id` or the section name). */
  id: string;
  host?: string;
  port?: number;
  socket?: string;
  user: string;
  password: Secret;
  intervalSec: number;
  usageSource: UsageSource;
  /** Datadir for `usage_source=datadir`; undefined = ask the server (@@datadir). */
  datadir?: string;
  mapping: SchemaMapping;
  connectTimeoutSec: number;
  queryTimeoutSec: number;
  connectRetries: number;
  /** TLS; undefined = plain TCP or socket. */
  tls?: TlsConfig;
  /**
   * PEM of the server's RSA public key (`server_public_key`): the only key a password is
   * encrypted with for sha256_password/caching_sha2_password over a connection without TLS.
   */
  serverPublicKey?: string;
  /** The settings that make such a login possible, named in the refusal (default search.conf's). */
  secureHint?: string;
  /**
   * How long a user stays over the hard limit before {@link hardAction} is taken (`hard_grace`;
   * `{ unit: "seconds", value: 0 }` = at once, the default).
   */
  hardGrace: HardGrace;
  /** What is done over the hard limit (`hard_action`); a search_user line may override it. */
  hardAction: HardAction;
  /** Where state changes of this server's users are posted (`notify_url`); undefined = nowhere. */
  notify?: NotifyConfig;
}

/** A webhook receiver of one server (see src/notify/webhook.ts). */
export interface NotifyConfig {
  /** `http://` or `https://` URL, normalised, without user information. */
  url: string;
  /** HMAC-SHA256 key of the signature header, from `notify_secret_file`; undefined = unsigned. */
  secret?: Secret;
  /** The file the secret came from (to keep it across reloads). */
  secretFile?: string;
  /** PEM of `notify_tls_ca`: CA certificates trusted for an https receiver, besides the built-in roots. */
  caCert?: string;
}

/** Everything the monitor needs, validated and frozen. */
export interface MonitorConfig {
  dir: string;
  servers: readonly ServerConfig[];
  users: readonly UserLimit[];
  prometheusFile: string;
  prometheusTruncate: boolean;
  auditLog: string;
  stateDir: string;
  pidFile: string;
  runAs: string;
  workers: number;
  lruSize: number;
  /** Built-in protected names, the monitor users, and `protected_users`. */
  protectedUsers: readonly string[];
  /** Protected users listed in search_user: never locked, worth a warning at start. */
  protectedInConfig: readonly { where: string; user: string }[];
}

/** Options for {@link loadConfig}; defaults read the process environment. */
export interface LoadOptions {
  /** `$CREDENTIALS_DIRECTORY` (systemd LoadCredential=). */
  credentialsDirectory?: string;
  /** Path of the passwd database used to find run_as' uid. */
  passwdDb?: string;
  /**
   * Passwords kept from an earlier load, by server id and user. When given, password files
   * are not read at all: after the daemon has dropped root it usually cannot read them, so a
   * reload keeps the passwords it started with. A server without a kept password is an error.
   */
  keptPasswords?: ReadonlyMap<string, Secret>;
}

/** Key of {@link LoadOptions.keptPasswords}. */
export function passwordKey(server: { id: string; user: string }): string {
  return `${server.id}\u0000${server.user}`;
}

function envCredentials(): string | undefined {
  return readEnv("CREDENTIALS_DIRECTORY") || undefined;
}

function readConfigFile(file: string): Promise<string> {
  return readConfigText(file, {
    maxBytes: LIST_MAX_BYTES,
    label: "configuration file",
    notFound: "file not found",
  });
}

/** Whether a default candidate is usable; one we may not even look at is skipped. */
async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (
      err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied ||
      err instanceof Deno.errors.NotCapable
    ) return false;
    throw new ConfigError(`cannot check: ${errorText(err)}`, path);
  }
}

async function uidOf(name: string, passwdDb: string): Promise<number | undefined> {
  if (/^\d+$/.test(name)) return Number(name);
  // An unreadable user database is an error: read as empty, it would silently leave run_as out
  // of the owners a password file may have.
  const text = await readConfigText(passwdDb, {
    maxBytes: LIST_MAX_BYTES,
    label: `user database (to find run_as ${quoteValue(name)})`,
  });
  for (const line of splitLines(text)) {
    const f = line.split(":");
    if (f[0] === name && f.length > 3) return Number(f[2]);
  }
  return undefined;
}

/** Reads typed values out of settings, with file:line errors. */
class Reader {
  constructor(readonly file: string) {}

  fail(message: string, s?: Setting): never {
    throw new ConfigError(message, this.file, s?.line);
  }

  /** Refuses `s` when `problem` (from value_rules.ts) found something wrong with it. */
  rule(key: string, s: Setting, problem: string | undefined): string {
    if (problem) this.fail(`${key} ${problem}, got ${quoteValue(s.value)}`, s);
    return s.value;
  }

  int(key: string, s: Setting | undefined, fallback: number, min: number, max: number): number {
    if (!s) return fallback;
    if (!/^\d+$/.test(s.value)) {
      this.fail(`${key} must be a whole number, got ${quoteValue(s.value)}`, s);
    }
    const n = Number(s.value);
    if (n < min || n > max) {
      this.fail(`${key} must be between ${min} and ${max}, got ${quoteValue(s.value)}`, s);
    }
    return n;
  }

  bool(key: string, s: Setting | undefined, fallback: boolean): boolean {
    if (!s) return fallback;
    const v = s.value.toLowerCase();
    if (["1", "yes", "true", "on"].includes(v)) return true;
    if (["0", "no", "false", "off"].includes(v)) return false;
    return this.fail(`${key} must be 0 or 1, got ${quoteValue(s.value)}`, s);
  }

  choice<T extends string>(key: string, s: Setting | undefined, choices: T[], fallback: T): T {
    if (!s) return fallback;
    if (!(choices as string[]).includes(s.value)) {
      this.fail(`${key} must be one of ${choices.join(", ")}, got ${quoteValue(s.value)}`, s);
    }
    return s.value as T;
  }

  path(key: string, s: Setting | undefined, fallback: string, kind: PathKind = "file"): string {
    if (!s) return fallback;
    return this.rule(key, s, pathProblem(s.value, kind));
  }

  /** The value as `parse` reads it; its SyntaxError (worded after the key) gets file:line. */
  parsed<T>(s: Setting, parse: (value: string) => T): T {
    try {
      return parse(s.value);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      return this.fail(err.message, s);
    }
  }

  text(key: string, s: Setting | undefined): string | undefined {
    if (s && s.value === "") this.fail(`${key} is empty`, s);
    return s?.value;
  }
}

/**
 * The check of every key's value (the TLS keys are checked where the TLS settings are built).
 * Each value present anywhere is checked, whether or not it takes effect: a mistake in a
 * default that every server overrides, or in a key a kept password makes unused, is still one.
 */
const RULES = {
  db_host: (r: Reader, s: Setting) => r.rule("db_host", s, hostProblem(s.value)),
  db_port: (r: Reader, s: Setting) => r.int("db_port", s, 3306, 1, 65535),
  db_socket: (r: Reader, s: Setting) => r.path("db_socket", s, "", "socket"),
  db_user: (r: Reader, s: Setting) => r.rule("db_user", s, accountProblem(s.value)),
  db_id: (r: Reader, s: Setting) => r.rule("db_id", s, labelProblem(s.value)),
  passwd_index: (r: Reader, s: Setting | undefined, fallback = 0) =>
    r.int("passwd_index", s, fallback, 0, 9999),
  monitor_interval_sec: (r: Reader, s?: Setting) =>
    r.int("monitor_interval_sec", s, 3600, 1, 31_536_000),
  passwd_file: (r: Reader, s: Setting) => r.path("passwd_file", s, ""),
  usage_source: (r: Reader, s?: Setting) =>
    r.choice<UsageSource>(
      "usage_source",
      s,
      ["information_schema", "datadir"],
      "information_schema",
    ),
  datadir: (r: Reader, s: Setting) => r.path("datadir", s, "", "dir"),
  schema_mapping: (r: Reader, s?: Setting) =>
    r.choice<SchemaMapping>("schema_mapping", s, ["grants", "name", "prefix"], "grants"),
  connect_timeout_sec: (r: Reader, s?: Setting) => r.int("connect_timeout_sec", s, 10, 1, 3600),
  query_timeout_sec: (r: Reader, s?: Setting) => r.int("query_timeout_sec", s, 60, 1, 86400),
  connect_retries: (r: Reader, s?: Setting) => r.int("connect_retries", s, 3, 0, 100),
  prometheus_truncate: (r: Reader, s?: Setting) => r.bool("prometheus_truncate", s, true),
  prometheus_file: (r: Reader, s?: Setting) =>
    r.path("prometheus_file", s, DEFAULT_PATHS.prometheusFile, "written file"),
  audit_log: (r: Reader, s?: Setting) =>
    r.path("audit_log", s, DEFAULT_PATHS.auditLog, "written file"),
  state_dir: (r: Reader, s?: Setting) => r.path("state_dir", s, DEFAULT_PATHS.stateDir, "dir"),
  pid_file: (r: Reader, s?: Setting) =>
    r.path("pid_file", s, DEFAULT_PATHS.pidFile, "written file"),
  run_as: (r: Reader, s?: Setting) => s ? r.rule("run_as", s, systemUserProblem(s.value)) : "mysql",
  workers: (r: Reader, s?: Setting) => r.int("workers", s, 4, 1, 256),
  lru_size: (r: Reader, s?: Setting) => r.int("lru_size", s, 10000, 1, 10_000_000),
  hard_grace: (r: Reader, s?: Setting) => s ? r.parsed(s, parseHardGrace) : NO_GRACE,
  hard_action: (r: Reader, s?: Setting) =>
    s ? r.parsed(s, (v) => parseHardAction(v)) : HARD_ACTIONS[0],
  notify_url: (r: Reader, s: Setting) => r.parsed(s, parseNotifyUrl),
  notify_secret_file: (r: Reader, s: Setting) => r.path("notify_secret_file", s, ""),
  notify_tls_ca: (r: Reader, s: Setting) => r.path("notify_tls_ca", s, ""),
  protected_users: (r: Reader, s?: Setting) => {
    const names = (s?.value ?? "").split(",").map((u) => u.trim()).filter((u) => u !== "");
    for (const name of names) {
      const problem = accountProblem(name);
      if (problem) r.fail(`protected_users: the name ${quoteValue(name)} ${problem}`, s);
    }
    return names;
  },
};

/** Runs the rule of every key present in `raw`, in file order (the first mistake is reported). */
function checkAll(r: Reader, raw: RawSearchConf): void {
  const rules: Record<string, (r: Reader, s: Setting) => unknown> = RULES;
  const all = [raw.globals, ...raw.servers.map((b) => b.settings)].flatMap((m) => [...m]);
  all.sort((a, b) => a[1].line - b[1].line);
  for (const [key, setting] of all) rules[key]?.(r, setting);
}

/**
 * Loads `<dir>/search.conf`, `<dir>/search_user` and the password file(s), validates
 * everything and returns the frozen configuration. Throws ConfigError on any problem.
 */
export async function loadConfig(dir: string, options: LoadOptions = {}): Promise<MonitorConfig> {
  const confFile = `${dir}/search.conf`;
  const userFile = `${dir}/search_user`;
  const raw = parseSearchConf(await readConfigFile(confFile), confFile);
  const users = parseSearchUser(await readConfigFile(userFile), userFile);
  const r = new Reader(confFile);
  // Every value first, before anything is read or decided.
  checkAll(r, raw);
  const globals = readGlobals(r, raw);
  if (raw.servers.length === 0) r.fail("no server configured; set db_host and db_user");

  const owners = await secretOwners(globals.runAs, options);
  const loader = new ServerLoader(r, raw, dir, options, owners);
  const servers: ServerConfig[] = [];
  for (let index = 0; index < raw.servers.length; index++) {
    servers.push(await loader.build(raw.servers[index], index));
  }
  loader.checkGlobalsTookEffect();

  const protectedUsers = [
    ...new Set([...ALWAYS_PROTECTED, ...servers.map((s) => s.user), ...globals.protectedExtra]),
  ];
  const protectedInConfig = users.filter((u) => protectedUsers.includes(u.user)).map((u) => ({
    where: `${userFile}:${u.line}`,
    user: u.user,
  }));
  const { protectedExtra: _, ...plain } = globals;
  return deepFreeze({ dir, servers, users, ...plain, protectedUsers, protectedInConfig });
}

/** The global-only keys of search.conf, read with their defaults. */
function readGlobals(r: Reader, raw: RawSearchConf) {
  return readKeys(r, (key) => raw.globals.get(key), {
    prometheusFile: "prometheus_file",
    prometheusTruncate: "prometheus_truncate",
    auditLog: "audit_log",
    stateDir: "state_dir",
    pidFile: "pid_file",
    runAs: "run_as",
    workers: "workers",
    lruSize: "lru_size",
    protectedExtra: "protected_users",
  });
}

/** The keys whose rule takes the setting alone (with its default when absent). */
type OptionalKey = {
  [K in keyof typeof RULES]: undefined extends Parameters<(typeof RULES)[K]>[1] ? K : never;
}[keyof typeof RULES];

/**
 * Reads each key of `fields` (field name → search.conf key) through its rule in {@link RULES},
 * `get` giving the setting that applies (absent: the rule's default).
 */
function readKeys<const F extends Record<string, OptionalKey>>(
  r: Reader,
  get: (key: string) => Setting | undefined,
  fields: F,
): { [P in keyof F]: ReturnType<(typeof RULES)[F[P]]> } {
  const out: Record<string, unknown> = {};
  for (const [field, key] of Object.entries(fields)) {
    out[field] = (RULES[key] as (r: Reader, s?: Setting) => unknown)(r, get(key));
  }
  return out as { [P in keyof F]: ReturnType<(typeof RULES)[F[P]]> };
}

/** The uids a secret file may belong to: root and, when it can be found, run_as. */
async function secretOwners(runAs: string, options: LoadOptions): Promise<number[]> {
  const owners = [0];
  const runAsUid = await uidOf(runAs, options.passwdDb ?? DEFAULT_PATHS.passwdDb);
  if (runAsUid !== undefined) owners.push(runAsUid);
  return owners;
}

/**
 * Builds one {@link ServerConfig} per server block: identity, address, password, limits of
 * enforcement, notifications and TLS, each in its own method. It remembers what spans servers:
 * ids already used, secret files already read, and which global keys took effect somewhere.
 */
class ServerLoader {
  readonly #ids = new Map<string, number>();
  readonly #files = new Map<string, PasswordFile>();
  readonly #usedGlobals = new Set<string>();
  readonly #credentials: string | undefined;

  constructor(
    readonly r: Reader,
    readonly raw: RawSearchConf,
    readonly dir: string,
    readonly options: LoadOptions,
    readonly owners: number[],
  ) {
    this.#credentials = options.credentialsDirectory ?? envCredentials();
    // Global values are checked even where every server sets its own.
    r.bool("tls", raw.globals.get("tls"), false);
    r.bool("tls_verify_server_cert", raw.globals.get("tls_verify_server_cert"), true);
  }

  /** The whole configuration of server block `block` (the `index`th). */
  async build(block: RawServer, index: number): Promise<ServerConfig> {
    const r = this.r;
    const s = (key: string) => block.settings.get(key) ?? this.raw.globals.get(key);
    const where = block.name
      ? `server "${block.name}"`
      : `the server starting on line ${block.line}`;
    const { id, user, idSetting } = this.#identity(block, index, where);
    const address = this.#address(block, where);
    const password = await this.#password(block, id, user, idSetting, where);
    const tls = await this.#tls(block, address.socket !== undefined);
    return {
      id,
      ...address,
      user,
      password,
      ...readKeys(r, s, {
        intervalSec: "monitor_interval_sec",
        usageSource: "usage_source",
        mapping: "schema_mapping",
        connectTimeoutSec: "connect_timeout_sec",
        queryTimeoutSec: "query_timeout_sec",
        connectRetries: "connect_retries",
        hardGrace: "hard_grace",
        hardAction: "hard_action",
      }),
      datadir: s("datadir") ? RULES.datadir(r, s("datadir")!) : undefined,
      ...await this.#notify(block),
      ...tls,
    };
  }

  /** After every server: a global TLS or notify key that took effect on none is an error. */
  checkGlobalsTookEffect(): void {
    for (const key of [...TLS_KEYS, "server_public_key", "notify_secret_file", "notify_tls_ca"]) {
      const global = this.raw.globals.get(key);
      if (global && !this.#usedGlobals.has(key)) {
        this.r.fail(`${key} has no effect on any server; ${ineffectiveFix(key)}`, global);
      }
    }
  }

  /** The server's id (unique) and monitor account. */
  #identity(block: RawServer, index: number, where: string) {
    const r = this.r;
    const own = (key: string) => block.settings.get(key);
    const user = r.text("db_user", own("db_user")) ??
      r.fail(`${where} has no db_user`, { value: "", line: block.line });
    const idSetting = own("db_id");
    const id = idSetting ? RULES.db_id(r, idSetting) : block.name ?? String(index);
    const dupe = this.#ids.get(id);
    if (dupe !== undefined) {
      r.fail(
        `server id ${quoteValue(id)} is used twice (first on line ${dupe})`,
        idSetting ?? { value: id, line: block.line },
      );
    }
    this.#ids.set(id, idSetting?.line ?? block.line);
    return { id, user, idSetting };
  }

  /** Host and port, or socket. */
  #address(block: RawServer, where: string) {
    const r = this.r;
    const own = (key: string) => block.settings.get(key);
    // An IPv6 address may be written in brackets, as in a URL; the driver wants it bare.
    let host = r.text("db_host", own("db_host"))?.replace(/^\[(.*)\]$/, "$1");
    const portSetting = own("db_port");
    const port = portSetting ? RULES.db_port(r, portSetting) : undefined;
    let socket = own("db_socket") ? RULES.db_socket(r, own("db_socket")!) : undefined;
    if (!host && !socket) {
      r.fail(`${where} has neither db_host nor db_socket`, { value: "", line: block.line });
    }
    // Like the MySQL client: "localhost" without a port means the local socket.
    if (host === "localhost" && port === undefined && !socket) socket = DEFAULT_PATHS.socket;
    if (socket) host = undefined;
    return { host, port: host ? port ?? 3306 : undefined, socket };
  }

  /** The monitor account's password: kept from the last load, or read from its file. */
  async #password(
    block: RawServer,
    id: string,
    user: string,
    idSetting: Setting | undefined,
    where: string,
  ): Promise<Secret> {
    const r = this.r;
    const own = (key: string) => block.settings.get(key);
    if (this.options.keptPasswords) {
      return this.options.keptPasswords.get(passwordKey({ id, user })) ??
        r.fail(
          `${where} (id ${quoteValue(id)}, user ${
            quoteValue(user)
          }) was not configured when the daemon started, ` +
            `and its password file cannot be read after dropping root; restart the daemon`,
          idSetting ?? { value: id, line: block.line },
        );
    }
    const passwdSetting = own("passwd_file");
    if (passwdSetting) {
      const file = RULES.passwd_file(r, passwdSetting);
      const index = RULES.passwd_index(r, own("passwd_index"));
      return new Secret(passwordAt(await this.#secretFile(file), index, id));
    }
    const file = await this.#sharedPasswordFile();
    const fallbackIndex = /^\d+$/.test(id) ? Number(id) : 0;
    const index = RULES.passwd_index(r, own("passwd_index"), fallbackIndex);
    return new Secret(passwordAt(await this.#secretFile(file), index, id));
  }

  /** The password file shared by servers that do not name their own. */
  async #sharedPasswordFile(): Promise<string> {
    const explicit = this.raw.globals.get("passwd_file");
    if (explicit) return RULES.passwd_file(this.r, explicit);
    const candidates = [
      ...(this.#credentials ? [`${this.#credentials}/passwd`] : []),
      DEFAULT_PASSWD_FILE,
      `${this.dir}/passwd`,
    ];
    for (const c of candidates) if (await exists(c)) return c;
    return this.r.fail(
      `no password file; looked for ${candidates.join(", ")} (or set passwd_file)`,
    );
  }

  /** A file holding secrets (0600, owned by root or run_as), read once per load. */
  async #secretFile(file: string, label?: string): Promise<PasswordFile> {
    let pw = this.#files.get(file);
    if (!pw) {
      pw = await readPasswordFile(file, this.owners, label);
      this.#files.set(file, pw);
    }
    return pw;
  }

  /**
   * The webhook of this server, when `notify_url` applies to it: its signing secret (the first
   * entry of `notify_secret_file`, kept from the last load when the daemon reloads, like the
   * passwords) and the CA of an HTTPS receiver (`notify_tls_ca`). Either key written in the
   * server's block where it cannot take effect is an error; a global one only when it takes
   * effect on no server (see {@link checkGlobalsTookEffect}).
   */
  async #notify(block: RawServer): Promise<{ notify?: NotifyConfig }> {
    const r = this.r;
    const s = (key: string) => block.settings.get(key) ?? this.raw.globals.get(key);
    const urlSetting = s("notify_url");
    const url = urlSetting ? RULES.notify_url(r, urlSetting) : undefined;
    const applies = (key: string, ok: boolean, why: string) => {
      const own = block.settings.get(key);
      if (!ok && own) r.fail(`${key} has no effect ${why}; ${ineffectiveFix(key)}`, own);
      if (ok && s(key)) this.#usedGlobals.add(key);
      return ok ? s(key) : undefined;
    };
    const secretSetting = applies("notify_secret_file", !!url, "without notify_url");
    const caSetting = applies(
      "notify_tls_ca",
      !!url?.startsWith("https:"),
      "without an https:// notify_url",
    );
    if (!url) return {};
    const notify: NotifyConfig = { url };
    if (secretSetting) {
      const file = RULES.notify_secret_file(r, secretSetting);
      notify.secretFile = file;
      notify.secret = this.options.keptPasswords?.get(secretFileKey(file)) ??
        await this.#notifySecret(file, secretSetting);
    }
    if (caSetting) {
      const pem = await this.#pem("notify_tls_ca", caSetting, CERT_MAX_BYTES);
      const problem = caBundleProblem(pem);
      if (problem) r.fail(`notify_tls_ca: ${caSetting.value} ${problem}`, caSetting);
      notify.caCert = pem;
    }
    return { notify };
  }

  /** The PEM text of the file `setting` names; a file problem is an error at its line. */
  async #pem(key: string, setting: Setting, maxBytes: number): Promise<string> {
    const file = this.r.path(key, setting, "");
    try {
      return await readPem(file, maxBytes);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return this.r.fail(`${key}: ${err.message}`, setting);
    }
  }

  /** Reads the signing secret; a file without one is an error that never shows its content. */
  async #notifySecret(file: string, setting: Setting): Promise<Secret> {
    const r = this.r;
    let pw: PasswordFile;
    try {
      pw = await this.#secretFile(file, "notify secret file");
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return r.fail(`notify_secret_file: ${err.message}`, setting);
    }
    const value = pw.entries[0];
    if (value === undefined || value.trim() === "") {
      r.fail(
        `notify_secret_file: ${file} holds no secret (its first line that is not a comment)`,
        setting,
      );
    }
    if ([...value].length < NOTIFY_SECRET_MIN_CHARS) {
      r.fail(
        `notify_secret_file: the secret in ${file} is shorter than ${NOTIFY_SECRET_MIN_CHARS} ` +
          `characters; use a random one (e.g. openssl rand -hex 32)`,
        setting,
      );
    }
    return new Secret(value);
  }

  /**
   * TLS and server_public_key of one server. Every TLS key needs `tls=1`, client certificate
   * and key go together, and server_public_key only serves plain TCP: a key set in the
   * server's own block that cannot take effect there is an error; a global one only when it
   * takes effect on no server at all (see {@link checkGlobalsTookEffect}).
   */
  async #tls(
    block: RawServer,
    overSocket: boolean,
  ): Promise<{ tls?: TlsConfig; serverPublicKey?: string }> {
    const r = this.r;
    const s = (key: string) => block.settings.get(key) ?? this.raw.globals.get(key);
    const tlsOn = r.bool("tls", s("tls"), false);
    const verify = r.bool("tls_verify_server_cert", s("tls_verify_server_cert"), true);
    const useless = (key: string, why: string) => {
      const own = block.settings.get(key);
      if (own) r.fail(`${key} has no effect ${why}; ${ineffectiveFix(key)}`, own);
    };
    const effective = (key: string) => {
      if (s(key)) this.#usedGlobals.add(key);
    };
    for (const key of TLS_KEYS) {
      if (!tlsOn) useless(key, "without tls=1");
      else effective(key);
    }
    if (tlsOn || overSocket) {
      useless("server_public_key", tlsOn ? "with tls=1" : "over a Unix socket");
    } else effective("server_public_key");
    const pemOf = (key: string): Promise<string | undefined> => {
      const setting = s(key);
      if (!setting) return Promise.resolve(undefined);
      return this.#pem(key, setting, key === "tls_key" ? SECRET_MAX_BYTES : CERT_MAX_BYTES);
    };
    if (!tlsOn) {
      const pem = overSocket ? undefined : await pemOf("server_public_key");
      if (pem === undefined) return {};
      const setting = s("server_public_key")!;
      if (!isRsaPublicKey(pem)) {
        r.fail(`server_public_key: ${notPublicKey(setting.value)}`, setting);
      }
      return { serverPublicKey: pem };
    }
    if (!s("tls_cert") !== !s("tls_key")) {
      const [set, missing] = s("tls_cert") ? ["tls_cert", "tls_key"] : ["tls_key", "tls_cert"];
      r.fail(`${set} needs ${missing} (the client certificate and its key)`, s(set));
    }
    return {
      tls: {
        ca: await pemOf("tls_ca"),
        cert: await pemOf("tls_cert"),
        key: await pemOf("tls_key"),
        verifyServerCert: verify,
      },
    };
  }
}

/** Shortest notify secret accepted, in characters. */
export const NOTIFY_SECRET_MIN_CHARS = 16;

/** Key of {@link LoadOptions.keptPasswords} for the secret read from notify_secret_file `file`. */
export function secretFileKey(file: string): string {
  return `notify_secret_file\u0000${file}`;
}

/**
 * Every secret of `config` keyed for {@link LoadOptions.keptPasswords}: the servers' passwords
 * and the notify secrets, so that a reload after dropping root needs none of the files again.
 */
export function keptSecrets(config: MonitorConfig): Map<string, Secret> {
  const kept = new Map(config.servers.map((s) => [passwordKey(s), s.password]));
  for (const { notify } of config.servers) {
    if (notify?.secret && notify.secretFile) {
      kept.set(secretFileKey(notify.secretFile), notify.secret);
    }
  }
  return kept;
}

/** Keys that only mean something with `tls=1`. */
const TLS_KEYS = ["tls_ca", "tls_cert", "tls_key", "tls_verify_server_cert"] as const;

/** What to do about a key that cannot take effect. */
function ineffectiveFix(key: string): string {
  if (key === "notify_secret_file") return "set notify_url where it applies, or remove it";
  if (key === "notify_tls_ca") return "it only serves an https:// notify_url; remove it";
  return key === "server_public_key"
    ? "it only serves servers reached over TCP without TLS; remove it"
    : `add tls=1 or remove ${key}`;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !(value instanceof Secret)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Inserts the shard into a per-shard file name when there is more than one shard:
 * `/run/mysql_monitor.prom` → `/run/mysql_monitor_shard2.prom`.
 */
export function shardPath(path: string, shard: number, shards: number): string {
  if (shards <= 1) return path;
  const slash = path.lastIndexOf("/");
  const dot = path.lastIndexOf(".");
  return dot > slash + 1
    ? `${path.slice(0, dot)}_shard${shard}${path.slice(dot)}`
    : `${path}_shard${shard}`;
}
