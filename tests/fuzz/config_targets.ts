/**
 * Fuzz targets for the configuration inputs: `search.conf`, `search_user`, the password file
 * (the monitor's configuration directory, loaded by `loadConfig` or by `reload -c DIR`) and
 * `conntracker.ini` (loaded by `loadConntrackConfig` or by `conntrack -c FILE`).
 *
 * Each case starts from a valid, randomly built configuration (the model), then either
 * - changes only what must not change its meaning (line ends, byte-order mark, blank lines,
 *   comments, spaces around values): it must load, and load exactly as the model says;
 * - mutates the focus file (mutate.ts, with a dictionary of the format's keys and odd values);
 * - or puts a FIFO, `/dev/zero`, a directory or an oversized file where a file is read.
 * The common oracles (oracle.ts) apply to every case; passwords of the case must never show.
 * Loads run in a worker thread (time-bounded); cases with a special file, and every case the
 * runner marks, run the real program as a child process (time- and memory-bounded).
 * @module
 */
import type { ConntrackConfig } from "../../src/config/conntrack_ini.ts";
import { DEFAULT_PATHS, shardPath } from "../../src/config/config.ts";
import { mutate } from "./mutate.ts";
import { commonProblems, LoaderPool, type LoadOutcome, runCliCase } from "./oracle.ts";
import type { Rng } from "./rng.ts";
import type { CaseContext, CaseReport, FuzzTarget } from "./runner.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Time bound of an in-process load (generous: the machine is shared; hangs take forever). */
export const IN_PROCESS_MAX_MS = 3_000;
/** When an in-process load is given up as hung. */
const IN_PROCESS_STOP_MS = 30_000;

const pool = new LoaderPool();

/** Runs the loader in a worker, or the program when `cli` is given. */
function runCase(
  cli: string[] | undefined,
  kind: "monitor" | "ini",
  path: string,
  dir: string,
): Promise<LoadOutcome> {
  return cli
    ? runCliCase(cli, { dir, timeoutMs: CLI_MAX_MS, maxMiB: CLI_MAX_MIB })
    : pool.load(kind, path, IN_PROCESS_STOP_MS);
}

/** Problems of an in-process load beyond the common ones. */
function loaderProblems(o: LoadOutcome): string[] {
  return o.thrownName && o.thrownName !== "ConfigError"
    ? [`threw ${o.thrownName}, not a ConfigError`]
    : [];
}
/** Time bound of a child process, start-up included, and when it is stopped. */
export const CLI_MAX_MS = 20_000;
/** Peak memory bound of a child process. */
export const CLI_MAX_MIB = 300;

/** What can stand where a regular file is expected. */
export type Special = "fifo" | "zero" | "dir" | "huge";

/** Puts a special file at `path` (a huge file is sparse: no disk is used). */
export async function placeSpecial(path: string, kind: Special, hugeBytes: number) {
  await Deno.remove(path, { recursive: true }).catch(() => {});
  if (kind === "fifo") {
    const out = await new Deno.Command("mkfifo", { args: ["-m", "600", path] }).output();
    if (out.code !== 0) throw new Error(`mkfifo ${path} failed`);
  } else if (kind === "zero") await Deno.symlink("/dev/zero", path);
  else if (kind === "dir") await Deno.mkdir(path);
  else {
    const f = await Deno.open(path, { write: true, create: true, mode: 0o600 });
    await f.truncate(hugeBytes + 1);
    f.close();
  }
}

const SPECIAL_MESSAGE: Record<Special, RegExp> = {
  fifo: /is a FIFO \(named pipe\), not a regular file$/,
  zero: /is a character device, not a regular file$/,
  dir: /is a directory, not a regular file$/,
  huge: /is larger than \d+ (MiB|KiB); is this the right file\?$/,
};

/** A password: long and random enough that finding it in an output is never a coincidence. */
function secret(rng: Rng): string {
  return `S3cr${rng.string(14, "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")}`;
}

// ---------------------------------------------------------------------------------------------
// The monitor's configuration directory

interface MonitorModel {
  conf: string;
  users: string;
  passwd: string;
  secrets: string[];
  /** Expected users: [user, host, soft, hard]. */
  expectUsers: [string, string | undefined, number | undefined, number][];
  /** Expected servers: [id, db_user, password]. */
  expectServers: [string, string, string][];
}

const UNITS: [string, number][] = [["", 1], ["K", 1024], ["M", 1024 ** 2], ["G", 1024 ** 3]];
const USER_NAMES = [
  "alice",
  "bob_1",
  "o'brien",
  "josé",
  "用户",
  "a@b",
  "web-app",
  "x".repeat(128),
  "d%",
  "e_f",
];
const HOSTS = ["%", "localhost", "10.0.0.%", "db.example.org", "::1"];

function size(rng: Rng): [string, number] {
  const [unit, mult] = rng.pick(UNITS);
  const n = rng.range(1, 900);
  return [`${n}${unit}${unit && rng.chance(0.5) ? "B" : ""}`, n * mult];
}

function buildMonitorModel(rng: Rng, dir: string): MonitorModel {
  const secrets = Array.from({ length: rng.range(1, 4) }, () => secret(rng));
  const passwd = [
    ...(rng.chance(0.3) ? ["# monitor passwords"] : []),
    ...secrets.flatMap((s) => rng.chance(0.2) ? ["", s] : [s]),
    "",
  ].join("\n");
  const servers = rng.range(1, Math.min(3, secrets.length));
  const form = rng.int(3); // 0 flat single, 1 established repeated blocks, 2 sections
  const conf: string[] = [];
  if (rng.chance(0.3)) conf.push("# search.conf");
  conf.push(
    `prometheus_file=${dir}/metrics.prom`,
    `audit_log=${dir}/audit.log`,
    `state_dir=${dir}/state`,
    `pid_file=${dir}/monitor.pid`,
  );
  if (rng.chance(0.8)) conf.push(`passwd_file=${dir}/passwd`);
  if (rng.chance(0.3)) conf.push(`workers=${rng.range(1, 256)}`);
  if (rng.chance(0.3)) conf.push(`lru_size=${rng.range(1, 100000)}`);
  if (rng.chance(0.3)) conf.push(`run_as=${rng.pick(["mysql", "root", "0", "nobody"])}`);
  if (rng.chance(0.3)) conf.push(`prometheus_truncate=${rng.pick(["0", "1", "yes", "off"])}`);
  if (rng.chance(0.3)) conf.push(`protected_users=${rng.pick(["backup", "ops, repl", ""])}`);
  if (rng.chance(0.3)) conf.push(`monitor_interval_sec=${rng.range(1, 86400)}`);
  if (rng.chance(0.2)) conf.push(`schema_mapping=${rng.pick(["grants", "name", "prefix"])}`);
  if (rng.chance(0.2)) conf.push(`usage_source=${rng.pick(["information_schema", "datadir"])}`);
  const expectServers: [string, string, string][] = [];
  for (let i = 0; i < (form === 0 ? 1 : servers); i++) {
    const user = rng.pick(["monitor", "mon_1", "o'brien", "quota-watch"]);
    const name = `db${i}${rng.pick(["", ".example", "-x", ":3306"])}`;
    if (form === 2) conf.push(`[server ${name}]`);
    // The established form starts each server with db_host.
    if (form !== 1 && rng.chance(0.3)) conf.push(`db_socket=${dir}/mysqld${i}.sock`);
    else conf.push(`db_host=${rng.pick(["127.0.0.1", "db1.example.org", "::1", "[::1]"])}`);
    conf.push(`db_user=${user}`);
    if (rng.chance(0.3)) conf.push(`db_port=${rng.range(1, 65535)}`);
    // Entry i of the password file: by db_id (established form) or passwd_index.
    let id = form === 2 ? name : String(i);
    if (form !== 2 || rng.chance(0.3)) {
      id = rng.chance(0.5) ? String(i) : `srv_${i}`;
      conf.push(`db_id=${id}`);
    }
    if (!/^\d+$/.test(id) || rng.chance(0.2)) conf.push(`passwd_index=${i}`);
    if (rng.chance(0.2)) conf.push(`connect_timeout_sec=${rng.range(1, 3600)}`);
    expectServers.push([id, user, secrets[i]]);
    if (form === 1) conf.push("");
  }
  const expectUsers: MonitorModel["expectUsers"] = [];
  const users: string[] = [];
  if (rng.chance(0.4)) users.push("# user[@host],soft[,hard]");
  const names = new Set<string>();
  for (let i = rng.range(0, 8); i > 0; i--) {
    const name = rng.pick(USER_NAMES);
    if (names.has(name)) continue;
    names.add(name);
    // The last "@" separates the host: a name holding one must be given one.
    const host = rng.chance(0.3) || name.includes("@") ? rng.pick(HOSTS) : undefined;
    const account = host === undefined ? name : `${name}@${host}`;
    const [softText, soft] = size(rng);
    const kind = rng.int(3);
    if (kind === 0) {
      users.push(`${account},${softText}`);
      expectUsers.push([name, host, soft, soft]);
    } else if (kind === 1) {
      const [hardText, hard] = size(rng);
      users.push(`${account},${softText},${hardText}`);
      if (soft > hard) {
        // Swap to keep the model valid.
        users[users.length - 1] = `${account},${hardText},${softText}`;
        expectUsers.push([name, host, hard, soft]);
      } else expectUsers.push([name, host, soft, hard]);
    } else {
      users.push(`${account},,${softText}`);
      expectUsers.push([name, host, undefined, soft]);
    }
  }
  return {
    conf: conf.join("\n") + "\n",
    users: users.join("\n") + (users.length ? "\n" : ""),
    passwd,
    secrets,
    expectUsers,
    expectServers,
  };
}

/**
 * Rewrites text without changing its meaning: line ends (LF, CR, CRLF, mixed), a byte-order
 * mark, spaces around separators, blank and comment lines.
 */
function reformat(rng: Rng, text: string, comment: string, spaces: RegExp | null): string {
  let lines = text.split("\n");
  if (spaces && rng.chance(0.5)) lines = lines.map((l) => l.replace(spaces, " $& "));
  if (rng.chance(0.4)) {
    lines = lines.flatMap((l) => rng.chance(0.2) ? [l, rng.pick(["", comment, "   "])] : [l]);
  }
  const mode = rng.int(4);
  const out = lines.map((l, i) =>
    i === lines.length - 1 ? l : l + [["\n"], ["\r"], ["\r\n"], ["\n", "\r", "\r\n"]][mode][
      rng.int(mode === 3 ? 3 : 1)
    ]
  ).join("");
  return (rng.chance(0.2) ? "\ufeff" : "") + out;
}

const CONF_DICT = [
  "db_host=",
  "db_hots=db1",
  "DB_HOST=db1",
  "db_id=" + "x".repeat(300),
  "db_id=a b",
  "db_port=0",
  "db_port=65536",
  "db_socket=relative.sock",
  "db_socket=/tmp/" + "s".repeat(120),
  "db_user=",
  "db_user=" + "u".repeat(200),
  "passwd_index=-1",
  "passwd_index=99",
  "monitor_interval_sec=0",
  "monitor_interval_sec=1e3",
  "usage_source=guess",
  "datadir=relative",
  "schema_mapping=",
  "connect_retries=many",
  "workers=257",
  "lru_size=0",
  "run_as=my user",
  "run_as=",
  "protected_users=,,,",
  "protected_users=a\u0085b",
  "prometheus_truncate=maybe",
  "prometheus_file=/run/",
  "prometheus_file=/run/" + "p".repeat(240),
  "audit_log=",
  "state_dir=/" + "d".repeat(300),
  "pid_file=.",
  "tls=1",
  "tls_ca=/nonexistent/ca.pem",
  "[server a]",
  "[server a]",
  "[server ]",
  "[server " + "n".repeat(70) + "]",
  "[server a b]",
  "[global]",
  "[",
  "=",
  "==",
  "key without value",
  "#comment",
  ";comment",
];

const USER_DICT = [
  "alice,1G,2G",
  "alice,1G",
  "bob@%,1K",
  ",1G",
  "x@,1G",
  "a,b,c,d",
  "u".repeat(200) + ",1G",
  "u\u0085,1G",
  "u\u009b,1G",
  "u\u202e,1G",
  "u,0",
  "u,-5M",
  "u,99999999T",
  "u,1.5GB,1GB",
  "u,,1G",
  "u, ,1G",
  "u,1G,",
  "#comment",
  "@,1G",
  "a@b@c,1G",
];

async function writeMonitorFiles(dir: string, m: MonitorModel, files: Record<string, Uint8Array>) {
  await Deno.writeFile(`${dir}/search.conf`, files["search.conf"] ?? enc.encode(m.conf));
  await Deno.writeFile(`${dir}/search_user`, files["search_user"] ?? enc.encode(m.users));
  await Deno.writeFile(`${dir}/passwd`, files["passwd"] ?? enc.encode(m.passwd), { mode: 0o600 });
  await Deno.chmod(`${dir}/passwd`, 0o600);
}

function checkModel(projection: unknown, m: MonitorModel): string[] {
  const problems: string[] = [];
  const { users, servers } = projection as { users: unknown[]; servers: unknown[] };
  if (JSON.stringify(users) !== JSON.stringify(m.expectUsers)) {
    problems.push(
      `users read ${JSON.stringify(users).slice(0, 200)}, expected ${
        JSON.stringify(m.expectUsers).slice(0, 200)
      }`,
    );
  }
  if (JSON.stringify(servers) !== JSON.stringify(m.expectServers)) {
    problems.push("servers read differ from the model");
  }
  return problems;
}

/**
 * Whether `secret` stands after a `=` in `text` (search.conf). search.conf holds no secrets by
 * design, so the value of a key may be quoted in an error; a line that is not `key=value` never.
 */
function isValue(text: string, secret: string): boolean {
  return text.split(/\r\n|\r|\n/).some((line) => {
    const at = line.indexOf(secret);
    return at >= 0 && line.lastIndexOf("=", at) >= 0;
  });
}

/** The pid files `reload` looks at when search.conf sets no pid_file. */
const RELOAD_PID_FILES = [DEFAULT_PATHS.pidFile, shardPath(DEFAULT_PATHS.pidFile, 0, 2)];

/** Which file of the monitor's directory a target mutates. */
type MonitorFocus = "search.conf" | "search_user" | "passwd";

function monitorTarget(focus: MonitorFocus): FuzzTarget {
  return {
    name: focus.replace(".", "_"),
    async run(rng: Rng, ctx: CaseContext): Promise<CaseReport> {
      const { dir } = ctx;
      const m = buildMonitorModel(rng, dir);
      const text = { "search.conf": m.conf, "search_user": m.users, "passwd": m.passwd }[focus];
      const roll = rng.int(100);
      const files: Record<string, Uint8Array> = {};
      let kind: "same" | "mutated" | "special";
      let summary: string;
      let special: { slot: string; kind: Special } | undefined;
      if (roll < 20) {
        kind = "same";
        const comment = focus === "search.conf" ? "# c" : "#";
        files[focus] = enc.encode(reformat(rng, text, comment, focus === "passwd" ? null : /=|,/));
        summary = `${focus} reformatted (same meaning)`;
      } else if (roll < 93) {
        kind = "mutated";
        const dict = focus === "search.conf"
          ? [...CONF_DICT, ...m.secrets]
          : focus === "search_user"
          ? USER_DICT
          : ["", "#", "  ", "\t", ...m.secrets];
        const r = mutate(rng, enc.encode(text), dict, 5);
        files[focus] = r.data;
        summary = `${focus} mutated: ${r.applied.join(", ")}`;
      } else {
        kind = "special";
        const slot = rng.pick(["search.conf", "search_user", "passwd", "ca.pem", "cert.pem"]);
        special = { slot, kind: rng.pick(["fifo", "zero", "dir", "huge"] as const) };
        summary = `${slot} is ${special.kind}`;
      }
      await writeMonitorFiles(dir, m, files);
      if (special) {
        const hugeBytes = special.slot === "passwd"
          ? 64 * 1024
          : special.slot.endsWith(".pem")
          ? 1024 * 1024
          : 16 * 1024 * 1024;
        if (special.slot.endsWith(".pem")) {
          const key = special.slot === "ca.pem" ? "tls_ca" : "tls_cert";
          // Keys above the first server block are globals; the flat form's first block starts
          // at its first server key, so put the TLS key on the first line. A client certificate
          // needs its key (an ordinary file here; the certificate is read first).
          const pair = key === "tls_cert" ? `tls_key=${dir}/search_user\n` : "";
          await Deno.writeTextFile(
            `${dir}/search.conf`,
            `tls=1\n${key}=${dir}/${special.slot}\n${pair}${m.conf}`,
          );
        }
        await placeSpecial(`${dir}/${special.slot}`, special.kind, hugeBytes);
      }
      // A special file could hang or exhaust a process: only a child process may meet it.
      const cli = ctx.cli || special !== undefined;
      const o = await runCase(cli ? ["reload", "-c", dir] : undefined, "monitor", dir, dir);
      const conf = focus === "search.conf" ? dec.decode(files[focus] ?? new Uint8Array()) : "";
      const problems = commonProblems(o, {
        codes: cli ? [1, 78] : [0, 78],
        maxMs: cli ? CLI_MAX_MS : IN_PROCESS_MAX_MS,
        maxMiB: CLI_MAX_MIB,
        secrets: m.secrets.filter((secret) => !isValue(conf, secret)),
        // Without pid_file (a mutation may drop it), reload opens the default pid file to see
        // whether a daemon holds its lock; the confinement refuses it, and nothing is written.
        allowedWrites: RELOAD_PID_FILES,
        inputText: dec.decode(files[focus] ?? new Uint8Array()) + m.conf,
        dir,
      });
      problems.push(...loaderProblems(o));
      if (kind === "same") {
        if (cli ? !/\(the configuration is valid\)$/.test(o.stderr.trim()) : o.code !== 0) {
          problems.push(`a reformatted valid configuration was refused: ${o.stderr.slice(0, 200)}`);
        } else if (!cli) problems.push(...checkModel(o.projection, m));
      }
      if (special) {
        const line = o.stderr.trim();
        if (o.code !== 78 || !SPECIAL_MESSAGE[special.kind].test(line)) {
          problems.push(`${special.slot} as ${special.kind}: expected exit 78 naming it`);
        }
      }
      return { problems, summary, cli, code: o.code, ms: o.ms, peakMiB: o.peakMiB };
    },
    close: () => pool.close(),
  };
}

/** search.conf mutated, search_user and passwd valid. */
export const searchConfTarget: FuzzTarget = monitorTarget("search.conf");
/** search_user mutated. */
export const searchUserTarget: FuzzTarget = monitorTarget("search_user");
/** The password file mutated. */
export const passwdTarget: FuzzTarget = monitorTarget("passwd");

// ---------------------------------------------------------------------------------------------
// conntracker.ini

interface IniModel {
  text: string;
  secrets: string[];
  expect: Partial<ConntrackConfig>;
}

const ZONES = ["UTC", "Europe/Zurich", "America/New_York", "Asia/Kolkata", "Etc/GMT-2"];

function buildIniModel(rng: Rng, dir: string): IniModel {
  const secrets: string[] = [];
  const lines: string[] = [];
  const q = (v: string) => rng.chance(0.2) ? `"${v}"` : v;
  const eq = () => rng.pick(["=", " = ", "= ", " ="]);
  if (rng.chance(0.8)) lines.push("[default]");
  const expect: Partial<ConntrackConfig> = {
    auditLogPath: `${dir}/audit`,
    sqlitePath: `${dir}/audit.sqlite`,
  };
  lines.push(
    `AuditLogPath${eq()}${q(`${dir}/audit`)}`,
    `SqlitePath${eq()}${q(`${dir}/audit.sqlite`)}`,
  );
  const zone = rng.pick(ZONES);
  lines.push(`TimeLocation${eq()}${zone}`);
  expect.timeLocation = zone;
  if (rng.chance(0.5)) {
    const w = rng.range(1, 64);
    lines.push(`MaxWorkers${eq()}${w}`);
    expect.maxWorkers = w;
  }
  if (rng.chance(0.5)) {
    const level = rng.pick(["DEBUG", "INFO", "WARN", "ERROR"]);
    lines.push(`LogLevel${eq()}${level}`);
  }
  if (rng.chance(0.3)) lines.push(`TimeFormatAudit${eq()}"20060102 15:04:05"`);
  if (rng.chance(0.3)) lines.push(`TimeFormatDB${eq()}"2006-01-02 15:04:05-07:00"`);
  if (rng.chance(0.2)) lines.push(`AuditFileName${eq()}server_audit.log`);
  if (rng.chance(0.2)) lines.push(`ReportHost${eq()}db1.example.org`, `ReportPort${eq()}3307`);
  if (rng.chance(0.2)) lines.push(`ReportUser${eq()}reporter`);
  if (rng.chance(0.2)) lines.push(`ReportPasswordFile${eq()}${dir}/report.pw`);
  if (rng.chance(0.2)) lines.push(`ServerName${eq()}db-${rng.string(4)}`);
  if (rng.chance(0.05)) {
    lines.push(`Store${eq()}mysql://tracker@localhost/fleet?socket=${dir}/central.sock`);
    lines.push(`StorePasswordFile${eq()}${dir}/store.pw`);
  }
  if (rng.chance(0.1)) {
    // A password in the Store URL is refused, and never repeated.
    const s = secret(rng);
    secrets.push(s);
    lines.push(`Store${eq()}mysql://tracker:${s}@db.example.org/fleet`);
  }
  return { text: lines.join("\n") + "\n", secrets, expect };
}

const INI_DICT = [
  "[Default]",
  "[ default ]",
  "[default.x]",
  "[]",
  "[other]",
  "TimeLocation=+02:00",
  "TimeLocation=Local",
  "TimeLocation=",
  "TimeLocation=Europe/Nowhere",
  "Store=mysql://%zz@h/db",
  "Store=mysql://u@h:99999/db",
  "Store=mysql://u:pw@h/db",
  "Store=postgres://u@h/db",
  "Store=mysql://u@h/",
  "StorePasswordFile=/x",
  "MaxWorkers=1e3",
  "MaxWorkers=0",
  "MaxWorkers=-1",
  "SqlitePath=",
  "SqlitePath=relative.sqlite",
  "SqlitePath=/var/lib/mysql/audit.sqlite",
  "AuditLogPath=",
  "AuditFileName=../x",
  "AuditFileName=a/b",
  "LogLevel=LOUD",
  "LogLevel=warn",
  "ReportPort=0",
  "ReportSocket=rel",
  "ReportUser=",
  "ServerName=" + "s".repeat(70),
  'TimeFormatAudit="2006"',
  "key[]=1",
  "SqlitePath[]=/x",
  "__proto__=1",
  "constructor=1",
  "SqlitPath=/x",
  "=",
  "; comment",
  "# comment",
];

function checkIni(config: ConntrackConfig | undefined, m: IniModel): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(m.expect)) {
    const got = (config as unknown as Record<string, unknown> | undefined)?.[key];
    if (got !== value) problems.push(`${key} read as ${JSON.stringify(got)}, expected ${value}`);
  }
  return problems;
}

const AUDIT_LINES = "20240301 10:00:00,db1,alice,10.0.0.1,1,0,CONNECT,,,0\n" +
  "20240301 10:00:01,db1,bob,10.0.0.2,2,0,CONNECT,,,0\n";

/** conntracker.ini mutated; the CLI runs `conntrack -c FILE` on a small audit log. */
export const conntrackIniTarget: FuzzTarget = {
  name: "conntrack_ini",
  async run(rng: Rng, ctx: CaseContext): Promise<CaseReport> {
    const { dir } = ctx;
    const m = buildIniModel(rng, dir);
    const ini = `${dir}/conntracker.ini`;
    await Deno.mkdir(`${dir}/audit`);
    await Deno.writeTextFile(`${dir}/audit/server_audit.log`, AUDIT_LINES);
    const past = new Date(Date.now() - 60_000);
    await Deno.utime(`${dir}/audit/server_audit.log`, past, past);
    await Deno.writeTextFile(`${dir}/store.pw`, `${secret(rng)}\n`, { mode: 0o600 });
    const roll = rng.int(100);
    let data: Uint8Array;
    let summary: string;
    let kind: "same" | "mutated" | "special" | "password";
    let special: Special | undefined;
    if (roll < 20) {
      kind = "same";
      data = enc.encode(reformat(rng, m.text, rng.pick(["; c", "# c"]), null));
      summary = "reformatted (same meaning)";
    } else if (roll < 88) {
      kind = "mutated";
      const r = mutate(rng, enc.encode(m.text), INI_DICT, 5);
      data = r.data;
      summary = `mutated: ${r.applied.join(", ")}`;
    } else if (roll < 95) {
      // `-c` pointed at a password file by mistake.
      kind = "password";
      const s = secret(rng);
      m.secrets.push(s);
      data = enc.encode(rng.chance(0.5) ? `${s}\n` : `# pw\n${s}==\n`);
      summary = "a password file given as the ini";
    } else {
      kind = "special";
      special = rng.pick(["fifo", "zero", "dir", "huge"] as const);
      data = new Uint8Array();
      summary = `the ini is ${special}`;
    }
    if (special) await placeSpecial(ini, special, 16 * 1024 * 1024);
    else await Deno.writeFile(ini, data);
    const cli = ctx.cli || special !== undefined;
    const o = await runCase(cli ? ["conntrack", "-c", ini] : undefined, "ini", ini, dir);
    const problems = commonProblems(o, {
      codes: cli ? [0, 1, 78] : [0, 78],
      maxMs: cli ? CLI_MAX_MS : IN_PROCESS_MAX_MS,
      maxMiB: CLI_MAX_MIB,
      secrets: m.secrets,
      inputText: dec.decode(data),
      dir,
    });
    problems.push(...loaderProblems(o));
    if (kind === "same" && !m.secrets.length) {
      if (o.code !== 0 && !(cli && /central store/.test(o.stderr))) {
        problems.push(`a reformatted valid ini was refused: ${o.stderr.trim().slice(0, 200)}`);
      } else if (!cli) problems.push(...checkIni(o.projection as ConntrackConfig, m));
    }
    if (kind === "password" && o.code !== 78) problems.push("a password file was taken as an ini");
    if (special && (o.code !== 78 || !SPECIAL_MESSAGE[special].test(o.stderr.trim()))) {
      problems.push(`the ini as ${special}: expected exit 78 naming it`);
    }
    return { problems, summary, cli, code: o.code, ms: o.ms, peakMiB: o.peakMiB };
  },
  close: () => pool.close(),
};

/** Every configuration target, in the order the runner takes them. */
export const CONFIG_TARGETS: readonly FuzzTarget[] = [
  searchConfTarget,
  searchUserTarget,
  passwdTarget,
  conntrackIniTarget,
];
