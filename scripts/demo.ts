/**
 * The demo behind scripts/demo.sh: a sandbox MariaDB, the program run against it exactly as an
 * operator would run it (`deno run` with the binary's permission set), then a full clean-up.
 * @module
 */
import { MariaDB } from "../tests/support/mariadb.ts";
import { runCli } from "../tests/support/cli.ts";

function heading(text: string) {
  console.log(`\n== ${text}`);
}

async function show(args: string[]): Promise<number> {
  console.log(`$ mysql_monitor_daemon ${args.join(" ")}`);
  const r = await runCli(args);
  if (r.stdout) console.log(r.stdout.trimEnd());
  if (r.stderr) console.log(r.stderr.trimEnd());
  return r.code;
}

heading("Sandbox MariaDB");
const started = Date.now();
await using db = await MariaDB.start({ audit: {} });
const [v] = await db.query<{ v: string }>("SELECT VERSION() AS v");
console.log(`started ${v.v} (pid ${db.pid}) on 127.0.0.1:${db.port}, socket ${db.socket}`);
console.log(`in ${db.dir} (${Date.now() - started} ms), audit log ${db.auditLog}`);

heading("The program");
await show(["version"]);

heading("Clean-up");
await db.stop();
console.log(`stopped the sandbox server and removed ${db.dir}`);
