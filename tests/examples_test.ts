/**
 * The shipped examples stay valid: every monitor set in examples/ passes `reload --check` and
 * every conntrack set loads as `conntrack` loads its ini; `reload --check` validates exactly as
 * `reload` does and signals nothing, even with a daemon running.
 */
import assert from "node:assert/strict";
import { ROOT, runCli } from "./support/cli.ts";
import { BackgroundMonitor, offlineMonitorSandbox } from "./support/offline_monitor.ts";
import { loadConntrackConfig } from "../src/config/conntrack_ini.ts";

const EXAMPLES = `${ROOT}/examples`;

/** The example folders holding `etc/<dir>/<file>`. */
function setsWith(dir: string, file: string): string[] {
  return [...Deno.readDirSync(EXAMPLES)]
    .filter((e) => e.isDirectory)
    .map((e) => e.name)
    .filter((name) => {
      try {
        return Deno.statSync(`${EXAMPLES}/${name}/etc/${dir}/${file}`).isFile;
      } catch {
        return false;
      }
    })
    .sort();
}

/**
 * Copies example `name` into a new temporary directory, byte for byte, except that in the
 * configuration files the absolute prefixes of the set's own folders (/etc/mysql_search/…) point
 * into the copy; files whose name holds "passwd" or "secret" get mode 0600, as the examples' README
 * says.
 */
async function copySet(name: string, configFiles: string[]): Promise<string> {
  const tmp = await Deno.makeTempDir({ prefix: `mmd-example-${name}-` });
  const src = `${EXAMPLES}/${name}`;
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(`${src}/${rel}`)) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) {
        await Deno.mkdir(`${tmp}/${path}`);
        await walk(path);
      } else {
        await Deno.copyFile(`${src}/${path}`, `${tmp}/${path}`);
        if (/passwd|secret/.test(e.name)) await Deno.chmod(`${tmp}/${path}`, 0o600);
      }
    }
  };
  await walk("");
  const roots = [...Deno.readDirSync(src)].filter((e) => e.isDirectory).flatMap((top) =>
    [...Deno.readDirSync(`${src}/${top.name}`)].filter((e) => e.isDirectory).map((e) =>
      `/${top.name}/${e.name}/`
    )
  );
  for (const file of configFiles) {
    let text = await Deno.readTextFile(`${tmp}/${file}`);
    for (const root of roots) text = text.replaceAll(`=${root}`, `=${tmp}${root}`);
    await Deno.writeTextFile(`${tmp}/${file}`, text);
  }
  return tmp;
}

Deno.test("examples: there are sets for one server, several servers, shards, conntrack with and without a fleet store", () => {
  assert.deepEqual(setsWith("mysql_search", "search.conf"), [
    "one-server",
    "several-servers",
    "shards",
  ]);
  assert.deepEqual(setsWith("conntracker", "conntracker.ini"), [
    "conntrack-fleet",
    "conntrack-local",
  ]);
  assert.ok(Deno.statSync(`${EXAMPLES}/shards/README.md`).isFile);
  const readme = Deno.readTextFileSync(`${EXAMPLES}/shards/README.md`);
  assert.match(readme, /systemctl enable --now mysql_monitor_daemon@0 /);
  assert.match(readme, /monitor -s 0 -t 4/);
});

Deno.test("examples: every monitor set passes reload --check as shipped", async () => {
  for (const name of setsWith("mysql_search", "search.conf")) {
    const tmp = await copySet(name, ["etc/mysql_search/search.conf"]);
    try {
      const conf = await Deno.readTextFile(`${EXAMPLES}/${name}/etc/mysql_search/search.conf`);
      const sections = [...conf.matchAll(/^\[server /gm)].length || 1;
      const users = (await Deno.readTextFile(`${EXAMPLES}/${name}/etc/mysql_search/search_user`))
        .split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#")).length;
      // As under systemd: the password file comes as the credential "passwd".
      const r = await runCli(["reload", "--check", "-c", `${tmp}/etc/mysql_search`], {
        read: [tmp],
        env: { CREDENTIALS_DIRECTORY: `${tmp}/root/mysql_search` },
      });
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.equal(
        r.stdout,
        `${tmp}/etc/mysql_search: configuration is valid (${sections} server(s), ${users} user(s) in search_user)\n`,
        name,
      );
      assert.equal(r.stderr, "", name);

      // The same check fails on a mistake, with file and line: it does validate.
      await Deno.writeTextFile(`${tmp}/etc/mysql_search/search_user`, "bad,lots\n", {
        append: true,
      });
      const bad = await runCli(["reload", "--check", "-c", `${tmp}/etc/mysql_search`], {
        read: [tmp],
        env: { CREDENTIALS_DIRECTORY: `${tmp}/root/mysql_search` },
      });
      assert.equal(bad.code, 78, `${name}: ${bad.stderr}`);
      const shipped = await Deno.readTextFile(`${EXAMPLES}/${name}/etc/mysql_search/search_user`);
      const line = shipped.split("\n").length;
      assert.match(
        bad.stderr,
        new RegExp(`^mysql_monitor_daemon: ${tmp}/etc/mysql_search/search_user:${line}: `),
      );
      assert.equal(bad.stderr.trimEnd().split("\n").length, 1, bad.stderr);
      assert.equal(bad.stdout, "");
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  }
});

Deno.test("examples: every conntrack set loads as conntrack loads its ini", async () => {
  for (const name of setsWith("conntracker", "conntracker.ini")) {
    // Nothing in the ini is read at load time, so the file is used where it is.
    const config = await loadConntrackConfig(
      `${EXAMPLES}/${name}/etc/conntracker/conntracker.ini`,
    );
    assert.equal(config.sqlitePath, "/var/lib/mysql/audit.sqlite", name);
    assert.equal(config.timeLocation, "Europe/Zurich", name);
    if (name === "conntrack-fleet") {
      assert.equal(config.store?.display, "mysql://db1@central.example.org:3306/conntrack");
      assert.equal(config.store?.passwordFile, "/etc/conntracker/store.passwd");
      assert.equal(config.serverName, "db1");
      assert.ok(config.store?.tls?.verifyServerCert);
      // The files the fleet set names are shipped with it.
      for (const file of [config.store!.passwordFile!, config.store!.tls!.ca!]) {
        assert.ok(Deno.statSync(`${EXAMPLES}/${name}${file}`).isFile, file);
      }
    } else {
      assert.equal(config.store, undefined, name);
    }
  }
});

Deno.test("reload --check: signals nothing to a running monitor; reload does", async () => {
  await using sb = await offlineMonitorSandbox();
  const record = `${sb.dir}/run/monitor.pid.reload`;
  const generation = async () => JSON.parse(await Deno.readTextFile(record)).generation as number;
  await using daemon = new BackgroundMonitor(sb, ["-d", "0"]);
  await daemon.until("start", async () => await generation() === 0);
  const reload = (...flags: string[]) =>
    runCli(["reload", ...flags, "-c", sb.dir], { read: [sb.dir], write: [sb.dir] });

  await sb.writeUsers("eve,10GB\nbob,1GB\n");
  let r = await reload("--check");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /configuration is valid \(1 server\(s\), 2 user\(s\) in search_user\)/);
  assert.equal(await generation(), 0, "reload --check made the daemon reload");

  await sb.writeUsers("eve,10GB\nbob,lots\n");
  r = await reload("--check");
  assert.equal(r.code, 78);
  assert.match(r.stderr, new RegExp(`^mysql_monitor_daemon: ${sb.dir}/search_user:2: `));
  assert.equal(r.stderr.trimEnd().split("\n").length, 1);
  assert.equal(await generation(), 0);

  // Plain reload refuses the same configuration with the same message, and applies a valid
  // one: the daemon then counts exactly one reload, so neither check above signalled it (a
  // late SIGHUP from a check would count too).
  const refused = await reload();
  assert.equal(refused.code, 78);
  assert.equal(refused.stderr, r.stderr);
  await sb.writeUsers("eve,10GB\nbob,1GB\n");
  r = await reload();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await generation(), 1);
  assert.equal(daemon.stderr.match(/configuration reloaded/g)?.length, 1, daemon.stderr);
});
