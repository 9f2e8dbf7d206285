/**
 * End to end: a broken configuration stops `monitor` before anything happens, with one
 * file:line message and exit 78; the account that is over its limit stays untouched.
 */
import assert from "node:assert/strict";
import { permissionFlags, ROOT } from "./support/cli.ts";
import { MariaDB } from "./support/mariadb.ts";
import {
  createMonitorAccount,
  fillSchema,
  isLocked,
  Sandbox,
  socketServer,
} from "./support/monitor_fixture.ts";

Deno.test("monitor config errors: file:line, exit 78, no account touched", async () => {
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  await db.query("CREATE USER 'eve'@'%' IDENTIFIED BY 'x'");
  await fillSchema(db, "eve", 256);
  await using sb = await Sandbox.create([db]);
  const good = sb.globals() + socketServer(db, "db1", "schema_mapping=name\n");
  const conf = `${sb.dir}/search.conf`;
  const users = `${sb.dir}/search_user`;
  const cases: {
    name: string;
    conf?: string;
    users?: string;
    passwdMode?: number;
    expect: string;
  }[] = [
    {
      name: "unknown key with a suggestion",
      conf: good + "montor_interval_sec=5\n",
      expect: `${conf}:${
        good.split("\n").length
      }: unknown key "montor_interval_sec"; did you mean "monitor_interval_sec"?`,
    },
    {
      name: "bad number",
      conf: good.replace("connect_retries=0", "connect_retries=many"),
      expect: `${conf}:5: connect_retries must be a whole number, got "many"`,
    },
    {
      name: "soft above hard",
      users: "eve,1M,2M\neve2,3G,2G\n",
      expect: `${users}:2: soft limit 3G is above hard limit 2G`,
    },
    {
      name: "zero size",
      users: "eve,0,1K\n",
      expect: `${users}:1: soft limit: size "0" is zero; sizes must be above 0`,
    },
    {
      name: "duplicate user",
      users: "eve,1K\n#\neve,2K\n",
      expect: `${users}:3: user "eve" is listed twice (first on line 1)`,
    },
    {
      name: "control character",
      users: "eve,1K\ne\x1bve,1K\n",
      expect: `${users}:2: control character in line`,
    },
    {
      name: "garbage size",
      users: "eve,12QB\n",
      expect: `${users}:1: soft limit: "12QB" is not a size`,
    },
    {
      name: "password file readable by others",
      passwdMode: 0o644,
      expect:
        `${sb.passwd}: password file is accessible by group or others (mode 0644); run chmod 600 on it`,
    },
  ];
  for (const c of cases) {
    await sb.writeConf(c.conf ?? good);
    await sb.writeUsers(c.users ?? "eve,1K,2K\n");
    await Deno.chmod(sb.passwd, c.passwdMode ?? 0o600);
    const r = await sb.run(["--once"]);
    assert.equal(r.code, 78, `${c.name}: ${r.stderr}`);
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, `${c.name}: ${r.stderr}`);
    assert.ok(
      lines[0].startsWith(`mysql_monitor_daemon: ${c.expect}`),
      `${c.name}: expected ${c.expect}\n got ${lines[0]}`,
    );
    assert.equal(r.stdout, "");
  }
  assert.equal(await isLocked(db, "eve", "%"), false);
  await assert.rejects(Deno.stat(sb.prom), "metrics written despite the configuration error");
  await assert.rejects(Deno.stat(sb.audit));
  // The same sandbox with the mistakes fixed does lock the account: the cases were real.
  await sb.writeConf(good);
  await sb.writeUsers("eve,1K,2K\n");
  await Deno.chmod(sb.passwd, 0o600);
  const r = await sb.run(["--once", "-d", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(await isLocked(db, "eve", "%"));
});

Deno.test("monitor config: missing directory and bad flags", async () => {
  await using sb = await Sandbox.create();
  await Deno.remove(`${sb.dir}/passwd`);
  let r = await sb.run(["--once"]);
  assert.equal(r.code, 78);
  assert.match(
    r.stderr,
    new RegExp(`^mysql_monitor_daemon: ${sb.dir}/search.conf: file not found\\n$`),
  );
  r = await sb.run(["--once", "-s", "3", "-t", "3"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--shard must be below --shards \(3\), got 3/);
});

Deno.test("permissions: the binary's permission set covers every default path of the monitor", async () => {
  const script = `
    import { DEFAULT_CONFIG_DIR, DEFAULT_PASSWD_FILE, DEFAULT_PATHS as D } from ${
    JSON.stringify(`${ROOT}/src/config/config.ts`)
  };
    const need = [
      ["read", DEFAULT_CONFIG_DIR + "/search.conf"], ["read", DEFAULT_PASSWD_FILE], ["read", D.passwdDb],
      ["read", "/run/credentials/mysql_monitor_daemon@0.service/passwd"],
      ["write", D.prometheusFile], ["write", D.prometheusFile + ".tmp.1"],
      ["write", "/var/run/mysql_monitor/mysql_monitor_shard3.prom"], ["write", D.auditLog],
      ["read", D.stateDir + "/db1.json"], ["write", D.stateDir + "/db1.json.tmp.1"],
      ["read", D.socket], ["write", D.socket], ["read", D.datadir + "/shop"],
    ];
    const out = [];
    for (const [name, path] of need) out.push([name, path, (await Deno.permissions.query({ name, path })).state]);
    console.log(JSON.stringify(out));
  `;
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/check.ts`, script);
    const out = await new Deno.Command(Deno.execPath(), {
      // Exactly the permission flags every CLI test runs the program with.
      args: ["run", "-q", "--no-prompt", ...permissionFlags(), `${dir}/check.ts`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    for (const [name, path, state] of JSON.parse(new TextDecoder().decode(out.stdout))) {
      assert.equal(state, "granted", `${name} ${path}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
