/**
 * Throwaway MariaDB servers for tests.
 *
 * Each server gets its own temporary directory (datadir, socket, pid file, error log), listens
 * on a free loopback port, and runs as a child of the test process. `stop()` (or `await using`)
 * shuts it down and removes the directory. A small shell guard started beside each server
 * does the same if the test process dies without stopping it, so a crashed or killed test run
 * never leaves a `mariadbd` behind. Servers that this module did not start are never touched:
 * everything is addressed by the child's pid and its own directory.
 *
 * The datadir is a copy of a template installed once (per mariadbd version, user and sizing)
 * in `.test-tmp/mariadb-template/`, so a run pays for one `mariadb-install-db`, not one per
 * server. Delete that directory to force a fresh install.
 * @module
 */
import mysql from "mysql2/promise";

/** Options for {@link MariaDB.start}. */
export interface MariaDBOptions {
  /** Load the `server_audit` plugin writing to a file. */
  audit?: {
    /** Log file path; default `<dir>/audit/server_audit.log`. */
    path?: string;
    /** `server_audit_events`; default `CONNECT,QUERY`. */
    events?: string;
    /** `server_audit_file_rotate_size` in bytes; 0 = server default. */
    rotateSize?: number;
    /** `server_audit_file_rotations`; undefined = server default (9). */
    rotations?: number;
  };
  /** Extra `mariadbd` options, e.g. `["--skip-name-resolve"]`. */
  args?: string[];
  /** Seconds to wait for the server to answer; default 60. */
  startTimeoutSec?: number;
  /**
   * Use this directory and keep it: the datadir is created only when `<keep>/data` is missing,
   * and `stop()` leaves everything in place (for benchmarks that reuse a large data set).
   */
  keep?: string;
}

const isRoot = Deno.uid() === 0;

/** Finds a port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function exec(cmd: string, args: string[]): Promise<{ code: number; output: string }> {
  const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, output: text };
}

/** True when something exists at `path` (without following a final symlink). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Server sizing shared by the template install and every server started from it. */
const SIZING = ["--innodb-log-file-size=4M", "--innodb-buffer-pool-size=16M"];

/** Where installed template datadirs are kept between test files and runs. */
const TEMPLATE_ROOT = new URL("../../.test-tmp/mariadb-template", import.meta.url).pathname;

let templateDir: Promise<string> | undefined;

/**
 * The directory holding a freshly installed datadir (`<it>/data`) for this mariadbd version,
 * user (root or not) and sizing, installed once and then copied for every server. Parallel
 * test files take an exclusive lock on `<key>.lock` while one of them installs it; the others
 * wait and use the result. A template is complete once `<it>/complete` exists.
 */
function template(): Promise<string> {
  templateDir ??= (async () => {
    const version = await exec("mariadbd", ["--no-defaults", "--version"]);
    if (version.code !== 0) throw new Error(`mariadbd --version failed: ${version.output}`);
    const id = `${version.output.trim()}|${isRoot}|${SIZING.join(" ")}`;
    const digest = new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(id)),
    );
    const key = [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
    const dir = `${TEMPLATE_ROOT}/${key}`;
    if (await exists(`${dir}/complete`)) return dir;
    await Deno.mkdir(TEMPLATE_ROOT, { recursive: true });
    using lock = await Deno.open(`${dir}.lock`, { create: true, write: true });
    await lock.lock(true);
    if (await exists(`${dir}/complete`)) return dir;
    const build = `${dir}.build-${Deno.pid}`;
    await Deno.remove(build, { recursive: true }).catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.mkdir(`${build}/tmp`, { recursive: true });
    const install = await exec("mariadb-install-db", [
      "--no-defaults",
      `--datadir=${build}/data`,
      ...(isRoot ? ["--user=root"] : []),
      "--auth-root-authentication-method=normal",
      "--skip-test-db",
      ...SIZING,
      `--tmpdir=${build}/tmp`,
    ]);
    if (install.code !== 0) {
      await Deno.remove(build, { recursive: true }).catch(() => {});
      throw new Error(
        `mariadb-install-db failed (${install.code}): ${install.output.slice(-2000)}`,
      );
    }
    await Deno.writeTextFile(`${build}/complete`, `${id}\n`);
    await Deno.rename(build, dir);
    return dir;
  })();
  // A failed install is not remembered: the next server tries again.
  templateDir.catch(() => templateDir = undefined);
  return templateDir;
}

/** Polls `check` every 50 ms until it returns true or `ms` elapse. */
async function waitFor(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** A running throwaway MariaDB server. Use `await using db = await MariaDB.start()`. */
export class MariaDB implements AsyncDisposable {
  /** Temporary directory holding everything of this server. */
  readonly dir: string;
  /** The server's datadir. */
  readonly datadir: string;
  /** Unix socket path. */
  readonly socket: string;
  /** TCP port on 127.0.0.1. */
  readonly port: number;
  /** server_audit log path, when the plugin is loaded. */
  readonly auditLog?: string;
  /** The mariadbd error log. */
  readonly errorLog: string;

  #child: Deno.ChildProcess;
  #guard: Deno.ChildProcess;
  #root?: mysql.Connection;
  #stopped = false;
  #keep: boolean;

  private constructor(
    fields: {
      dir: string;
      port: number;
      auditLog?: string;
      child: Deno.ChildProcess;
      guard: Deno.ChildProcess;
      keep?: boolean;
    },
  ) {
    this.#keep = fields.keep ?? false;
    this.dir = fields.dir;
    this.datadir = `${fields.dir}/data`;
    this.socket = `${fields.dir}/mysqld.sock`;
    this.errorLog = `${fields.dir}/error.log`;
    this.port = fields.port;
    this.auditLog = fields.auditLog;
    this.#child = fields.child;
    this.#guard = fields.guard;
  }

  /** Process id of the server. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Creates a datadir, starts `mariadbd` and waits until it answers queries. */
  static async start(options: MariaDBOptions = {}): Promise<MariaDB> {
    if (options.keep) {
      await Deno.mkdir(options.keep, { recursive: true });
      return await MariaDB.#startIn(options.keep, options);
    }
    const dir = await Deno.makeTempDir({ prefix: "mmd-mariadb-" });
    try {
      return await MariaDB.#startIn(dir, options);
    } catch (err) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw err;
    }
  }

  static async #startIn(dir: string, options: MariaDBOptions): Promise<MariaDB> {
    const datadir = `${dir}/data`;
    // Temporary tables go to the server's own directory: during parallel runs, #sql-temptable
    // files in the shared /tmp vanished under running servers ("Error on delete of
    // '/tmp/#sql-temptable-….MAI'"), failing starts and GROUP BY queries.
    await Deno.mkdir(`${dir}/tmp`, { recursive: true });
    const sizing = [...SIZING, `--tmpdir=${dir}/tmp`];
    if (!(options.keep && await exists(`${datadir}/mysql`))) {
      // A copy of the run's installed template: one mariadb-install-db for all servers.
      const copy = await exec("cp", ["-a", `${await template()}/data`, datadir]);
      if (copy.code !== 0) throw new Error(`copying the template datadir failed: ${copy.output}`);
    }
    let auditLog: string | undefined;
    const auditArgs: string[] = [];
    if (options.audit) {
      auditLog = options.audit.path ?? `${dir}/audit/server_audit.log`;
      await Deno.mkdir(auditLog.replace(/\/[^/]*$/, ""), { recursive: true });
      auditArgs.push(
        "--plugin-load-add=server_audit",
        "--server-audit=FORCE_PLUS_PERMANENT",
        "--server-audit-logging=ON",
        "--server-audit-output-type=file",
        `--server-audit-file-path=${auditLog}`,
        `--server-audit-events=${options.audit.events ?? "CONNECT,QUERY"}`,
      );
      if (options.audit.rotateSize) {
        auditArgs.push(`--server-audit-file-rotate-size=${options.audit.rotateSize}`);
      }
      if (options.audit.rotations !== undefined) {
        auditArgs.push(`--server-audit-file-rotations=${options.audit.rotations}`);
      }
    }
    // A port picked by freePort() can be taken by someone else before mariadbd binds it;
    // try a few times, each with a fresh port.
    let lastError = "";
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = freePort();
      const args = [
        "--no-defaults",
        `--datadir=${datadir}`,
        `--socket=${dir}/mysqld.sock`,
        `--port=${port}`,
        "--bind-address=127.0.0.1",
        `--pid-file=${dir}/mysqld.pid`,
        `--log-error=${dir}/error.log`,
        ...(isRoot ? ["--user=root"] : []),
        ...sizing,
        "--performance-schema=OFF",
        "--innodb-use-native-aio=0",
        "--skip-log-bin",
        ...auditArgs,
        ...(options.args ?? []),
      ];
      const child = new Deno.Command("mariadbd", {
        args,
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      // The guard outlives a crashed or killed test process and cleans up after it.
      const guardScript =
        `while kill -0 ${Deno.pid} 2>/dev/null; do sleep 1; done; kill -TERM ${child.pid} 2>/dev/null; ` +
        `for i in $(seq 1 100); do kill -0 ${child.pid} 2>/dev/null || break; sleep 0.1; done; ` +
        `kill -KILL ${child.pid} 2>/dev/null; ${options.keep ? "" : `rm -rf '${dir}'`}`;
      const guard = new Deno.Command("sh", {
        args: ["-c", guardScript],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      guard.unref();
      const server = new MariaDB({ dir, port, auditLog, child, guard, keep: !!options.keep });
      let exited = false;
      child.status.then(() => exited = true);
      const ready = await waitFor(async () => {
        if (exited) return true;
        if (!(await exists(server.socket))) return false;
        try {
          const c = await mysql.createConnection({ socketPath: server.socket, user: "root" });
          await c.end();
          return true;
        } catch {
          return false;
        }
      }, (options.startTimeoutSec ?? 60) * 1000);
      if (ready && !exited) return server;
      lastError = await Deno.readTextFile(server.errorLog).catch(() => "(no error log)");
      await server.#halt();
      if (!/Address already in use|Can't start server: Bind/.test(lastError)) break;
      await Deno.remove(server.errorLog).catch(() => {});
    }
    throw new Error(`mariadbd did not start: ${lastError.split("\n").slice(-15).join("\n")}`);
  }

  /** Connection options for mysql2 over this server's socket (or TCP with `tcp: true`). */
  connectionOptions(
    user = "root",
    password = "",
    tcp = false,
  ): mysql.ConnectionOptions {
    return tcp
      ? { host: "127.0.0.1", port: this.port, user, password }
      : { socketPath: this.socket, user, password };
  }

  /** Opens a new connection; the caller closes it with `end()`. */
  connect(user = "root", password = "", tcp = false): Promise<mysql.Connection> {
    return mysql.createConnection({
      ...this.connectionOptions(user, password, tcp),
      multipleStatements: false,
    });
  }

  /** Runs one statement as root on a shared connection and returns the rows. */
  async query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    this.#root ??= await this.connect();
    const [rows] = await this.#root.query(sql, params);
    return rows as T[];
  }

  /** Stops the server (SIGTERM, then SIGKILL after 30 s) and removes its directory. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    if (this.#root) await this.#root.end().catch(() => this.#root?.destroy());
    this.#root = undefined;
    await this.#halt();
    if (!this.#keep) await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  async #halt(): Promise<void> {
    this.#stopped = true;
    try {
      this.#guard.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.#guard.status;
    try {
      this.#child.kill("SIGTERM");
    } catch { /* already gone */ }
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, 30_000);
    await this.#child.status;
    clearTimeout(timer);
  }

  /** Lets `await using` stop the server. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** Starts a server, runs `fn` with it, and always stops it afterwards. */
export async function withMariaDB<T>(
  options: MariaDBOptions,
  fn: (db: MariaDB) => Promise<T>,
): Promise<T> {
  const db = await MariaDB.start(options);
  try {
    return await fn(db);
  } finally {
    await db.stop();
  }
}

/** True when a process with this pid exists. */
export async function processExists(pid: number): Promise<boolean> {
  return await exists(`/proc/${pid}`);
}
