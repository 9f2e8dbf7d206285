/**
 * A throwaway central store for the fleet tests, set up exactly as docs/fleet.md says: its SQL
 * block goes through the real `mariadb` client, with one account per host (named like the
 * host's ServerName, from 127.0.0.1) in place of the example account.
 * @module
 */
import { ROOT } from "./cli.ts";
import { MariaDB, type MariaDBOptions } from "./mariadb.ts";
import type { Sandbox } from "./conntrack.ts";

/** Database the docs create. */
export const FLEET_DB = "conntrack";

/** Password of every host account in these tests (never a real secret). */
export const HOST_PASSWORD = "tr pw";

/** The docs' setup block with `hosts` in place of the example account `db1`@`db1.example.org`. */
export async function documentedSetup(hosts: string[], suffix = ""): Promise<string> {
  const doc = await Deno.readTextFile(`${ROOT}/docs/fleet.md`);
  const section = doc.split("## Setting up the central store")[1];
  const block = /```sql\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error("docs/fleet.md has no sql block under Setting up the central store");
  const lines = block.split("\n");
  const perHost = lines.filter((l) => l.includes("'db1'@'db1.example.org'"));
  if (perHost.length < 2) throw new Error("docs/fleet.md: no per-host account example");
  const common = lines.filter((l) => !perHost.includes(l)).join("\n");
  const accounts = hosts.flatMap((h) =>
    perHost.map((l) =>
      l.replaceAll("'db1'", `'${h}'`).replaceAll("'db1.example.org'", "'127.0.0.1'")
        .replace(/<password of db1>/, HOST_PASSWORD) + suffix
    )
  );
  return `${common}\n${accounts.join("\n")}\n`;
}

/** Runs SQL text through the `mariadb` client as root over the socket. */
export async function mariadbClient(db: MariaDB, sql: string): Promise<void> {
  const child = new Deno.Command("mariadb", {
    args: ["--no-defaults", `--socket=${db.socket}`, "-u", "root"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(sql));
  await writer.close();
  const out = await child.output();
  if (out.code !== 0) {
    throw new Error(`mariadb client: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** A central server set up from the docs for `hosts`. */
export async function startCentral(
  hosts: string[],
  options: MariaDBOptions = {},
): Promise<MariaDB> {
  const central = await MariaDB.start(options);
  try {
    await mariadbClient(central, await documentedSetup(hosts));
    return central;
  } catch (err) {
    await central.stop();
    throw err;
  }
}

/** Appends fleet settings for host `name` (its own account) to a sandbox's ini. */
export async function storeIni(
  box: Sandbox,
  central: MariaDB,
  name: string,
  options: { password?: string; user?: string; host?: string; extra?: string } = {},
): Promise<void> {
  await Deno.writeTextFile(`${box.dir}/store.passwd`, `${options.password ?? HOST_PASSWORD}\n`, {
    mode: 0o600,
  });
  await Deno.chmod(`${box.dir}/store.passwd`, 0o600);
  await Deno.writeTextFile(
    box.ini,
    `Store=mysql://${options.user ?? name}@${
      options.host ?? "127.0.0.1"
    }:${central.port}/${FLEET_DB}\n` +
      `StorePasswordFile=${box.dir}/store.passwd\nServerName=${name}\n${options.extra ?? ""}`,
    { append: true },
  );
}

/** Removes the fleet settings that {@link storeIni} appended. */
export async function dropStoreIni(box: Sandbox): Promise<void> {
  await Deno.writeTextFile(
    box.ini,
    (await Deno.readTextFile(box.ini)).replace(/^(Store|ServerName)\w*=.*\n/gm, ""),
  );
}
