/**
 * A sandbox for end-to-end runs of `monitor`: a temporary configuration directory (search.conf,
 * search_user, a 0600 password file), state dir, metrics file and audit log, and helpers that
 * give a throwaway MariaDB a monitor account holding exactly the documented minimal grants.
 * @module
 */
import { type CliResult, runCli, spawnCli } from "./cli.ts";
import type { MariaDB } from "./mariadb.ts";

/** Password of the monitor account in every fixture (never a real secret). */
export const MONITOR_PASSWORD = "m0n1tor-Secret-pw";

/** The grants docs/monitor.md documents as sufficient; tests create the monitor account with these. */
export const MINIMAL_GRANTS = [
  "GRANT PROCESS, SHOW VIEW, CREATE USER, CONNECTION ADMIN ON *.* TO ?@?",
  "GRANT SELECT ON mysql.global_priv TO ?@?",
  "GRANT SELECT ON mysql.db TO ?@?",
  "GRANT SELECT ON mysql.roles_mapping TO ?@?",
];

/** Creates `monitor`@localhost and @127.0.0.1 with the minimal grants. */
export async function createMonitorAccount(db: MariaDB, user = "monitor"): Promise<void> {
  for (const host of ["localhost", "127.0.0.1"]) {
    await db.query("CREATE USER ?@? IDENTIFIED BY ?", [user, host, MONITOR_PASSWORD]);
    for (const grant of MINIMAL_GRANTS) await db.query(grant, [user, host]);
  }
}

/** search.conf lines for a server reached over its socket. */
export function socketServer(db: MariaDB, id: string, extra = ""): string {
  return `[server ${id}]\ndb_socket=${db.socket}\ndb_user=monitor\n${extra}`;
}

/** Creates schema `schema` with one InnoDB table holding about `kib` KiB, then ANALYZEs it. */
export async function fillSchema(
  db: MariaDB,
  schema: string,
  kib: number,
  table = "t",
): Promise<void> {
  await db.query(`CREATE DATABASE IF NOT EXISTS \`${schema}\``);
  await db.query(
    `CREATE TABLE IF NOT EXISTS \`${schema}\`.\`${table}\` (id INT AUTO_INCREMENT PRIMARY KEY, b MEDIUMBLOB) ENGINE=InnoDB`,
  );
  for (let left = kib; left > 0; left -= 256) {
    await db.query(`INSERT INTO \`${schema}\`.\`${table}\` (b) VALUES (REPEAT('x', ?))`, [
      Math.min(256, left) * 1024,
    ]);
  }
  await db.query(`ANALYZE TABLE \`${schema}\`.\`${table}\``);
}

/** Bytes information_schema reports for `schema` right now. */
export async function schemaBytes(db: MariaDB, schema: string): Promise<number> {
  const [row] = await db.query<{ b: string | null }>(
    "SELECT SUM(DATA_LENGTH + INDEX_LENGTH) AS b FROM information_schema.TABLES " +
      "WHERE CAST(TABLE_SCHEMA AS BINARY) = CAST(? AS BINARY)",
    [schema],
  );
  return Number(row.b ?? 0);
}

/** Whether `user`@`host` is locked, from mysql.global_priv. */
export async function isLocked(db: MariaDB, user: string, host: string): Promise<boolean> {
  const [row] = await db.query<{ l: string | null }>(
    "SELECT JSON_VALUE(Priv, '$.account_locked') AS l FROM mysql.global_priv WHERE User = ? AND Host = ?",
    [user, host],
  );
  if (!row) throw new Error(`no account ${user}@${host}`);
  return row.l === "1" || row.l === "true";
}

/** Runs `sqlite3 path sql` (the real CLI) and returns its output lines. */
export async function sqliteLines(path: string, sql: string): Promise<string[]> {
  const out = await new Deno.Command("sqlite3", { args: [path, sql], stdout: "piped" }).output();
  if (out.code !== 0) throw new Error(`sqlite3 ${path} ${sql} failed`);
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean);
}

/** A temporary configuration directory with its output paths. */
export class Sandbox implements AsyncDisposable {
  readonly prom: string;
  readonly audit: string;
  readonly state: string;
  readonly passwd: string;
  private constructor(readonly dir: string, readonly servers: MariaDB[]) {
    this.prom = `${dir}/out/monitor.prom`;
    this.audit = `${dir}/out/audit.log`;
    this.state = `${dir}/state`;
    this.passwd = `${dir}/passwd`;
  }

  /** A sandbox whose password file holds the fixture password once. */
  static async create(servers: MariaDB[] = []): Promise<Sandbox> {
    const dir = await Deno.makeTempDir({ prefix: "mmd-monitor-" });
    await Deno.mkdir(`${dir}/out`);
    await Deno.mkdir(`${dir}/state`);
    const s = new Sandbox(dir, servers);
    await s.writePasswd(`# monitor password\n${MONITOR_PASSWORD}\n`);
    return s;
  }

  /**
   * Global settings pointing every output into the sandbox (no retries, no privilege drop, a
   * sandbox pid file and state_dir unless `extra` sets connect_retries, run_as, pid_file or
   * state_dir).
   */
  globals(extra = ""): string {
    const unless = (key: string, line: string) => extra.includes(`${key}=`) ? "" : line;
    return `passwd_file=${this.passwd}\nprometheus_file=${this.prom}\naudit_log=${this.audit}\n` +
      unless("state_dir", `state_dir=${this.state}\n`) +
      unless("connect_retries", "connect_retries=0\n") +
      unless("run_as", "run_as=root\n") +
      unless("pid_file", `pid_file=${this.dir}/run/monitor.pid\n`) +
      extra;
  }

  /** Writes search.conf. */
  writeConf(text: string): Promise<void> {
    return Deno.writeTextFile(`${this.dir}/search.conf`, text);
  }

  /** Writes search_user. */
  writeUsers(text: string): Promise<void> {
    return Deno.writeTextFile(`${this.dir}/search_user`, text);
  }

  /** Writes the password file with mode 0600. */
  async writePasswd(text: string, mode = 0o600): Promise<void> {
    await Deno.writeTextFile(this.passwd, text);
    await Deno.chmod(this.passwd, mode);
  }

  /** Runs `monitor -c DIR ...args` with the app permission set plus the sandbox, servers and `read`. */
  run(args: string[], env: Record<string, string> = {}, read: string[] = []): Promise<CliResult> {
    const paths = [this.dir, ...this.servers.map((s) => s.dir), ...read];
    return runCli(["monitor", "-c", this.dir, ...args], {
      read: paths,
      write: paths,
      env,
      allowEnv: Object.keys(env),
    });
  }

  /** Starts `monitor -c DIR ...args` like {@link run}, in the background. */
  spawn(args: string[], env: Record<string, string> = {}, paths: string[] = []): Deno.ChildProcess {
    const all = [this.dir, ...this.servers.map((s) => s.dir), ...paths];
    return spawnCli(["monitor", "-c", this.dir, ...args], {
      read: all,
      write: all,
      env,
      allowEnv: Object.keys(env),
    });
  }

  /** The metrics file text. */
  metrics(): Promise<string> {
    return Deno.readTextFile(this.prom);
  }

  /** The audit log text ("" when absent). */
  auditLog(): Promise<string> {
    return Deno.readTextFile(this.audit).catch(() => "");
  }

  /** Removes the directory. */
  async [Symbol.asyncDispose](): Promise<void> {
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}
