/**
 * Helpers for the conntrack end-to-end tests: a sandbox directory with an ini file, the CLI
 * run on it, and the Accounts table read back.
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { type CliResult, runCli } from "./cli.ts";

/** A temporary directory holding `audit/`, `conntracker.ini` and `audit.sqlite`. */
export interface Sandbox extends AsyncDisposable {
  dir: string;
  auditDir: string;
  ini: string;
  sqlite: string;
  /** Runs `conntrack -c ini` with the app permission set widened to the sandbox. */
  run(...extra: string[]): Promise<CliResult>;
  /** The same with environment variables added (e.g. TZ). */
  runWith(env: Record<string, string>, ...extra: string[]): Promise<CliResult>;
  /** Accounts as `name|host|last_seen` lines, sorted. */
  accounts(): string[];
}

/** Creates a sandbox; `auditDir` overrides where the audit log lives (e.g. a server's). */
export async function sandbox(
  options: { timeLocation?: string; auditDir?: string; extraIni?: string } = {},
): Promise<Sandbox> {
  const dir = await Deno.makeTempDir({ prefix: "mmd-conntrack-" });
  const auditDir = options.auditDir ?? `${dir}/audit`;
  await Deno.mkdir(auditDir, { recursive: true });
  const ini = `${dir}/conntracker.ini`;
  const sqlite = `${dir}/audit.sqlite`;
  await Deno.writeTextFile(
    ini,
    `[default]\nAuditLogPath=${auditDir}\nSqlitePath=${sqlite}\nTimeLocation=${
      options.timeLocation ?? "UTC"
    }\nMaxWorkers=2\nLogLevel=WARN\n${options.extraIni ?? ""}`,
  );
  return {
    dir,
    auditDir,
    ini,
    sqlite,
    run: (...extra) =>
      runCli(["conntrack", "-c", ini, ...extra], { read: [dir, auditDir], write: [dir] }),
    runWith: (env, ...extra) =>
      runCli(["conntrack", "-c", ini, ...extra], { read: [dir, auditDir], write: [dir], env }),
    accounts: () => readAccounts(sqlite),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** Reads Accounts as sorted `name|host|last_seen` lines. */
export function readAccounts(sqlite: string): string[] {
  const db = new DatabaseSync(sqlite, { readOnly: true });
  try {
    const rows = db.prepare("SELECT name, host, last_seen FROM Accounts").all() as {
      name: string;
      host: string;
      last_seen: string;
    }[];
    return rows.map((r) => `${r.name}|${r.host}|${r.last_seen}`).sort();
  } finally {
    db.close();
  }
}

/** Sets every file's mtime in `dir` to a minute ago, so the live log counts as settled. */
export async function settle(dir: string): Promise<void> {
  const past = new Date(Date.now() - 60_000);
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile) await Deno.utime(`${dir}/${e.name}`, past, past);
  }
}
