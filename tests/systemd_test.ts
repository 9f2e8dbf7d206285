import assert from "node:assert/strict";
import { ROOT } from "./support/cli.ts";
import { DEFAULT_PATHS } from "../src/config/config.ts";
import { CONNTRACK_DEFAULTS } from "../src/config/conntrack_ini.ts";

const DROP_IN = "mysql_monitor_conntrack.service.d/no-network.conf";

const UNITS = [
  "mysql_monitor_daemon@.service",
  "mysql_monitor_conntrack.service",
  "mysql_monitor_conntrack.timer",
];

/** Copies the units into `dir`, pointing ExecStart/ExecReload at a stand-in executable there. */
async function stage(dir: string): Promise<void> {
  const bin = `${dir}/mysql_monitor_daemon`;
  await Deno.writeTextFile(bin, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  for (const unit of UNITS) {
    const text = await Deno.readTextFile(`${ROOT}/systemd/${unit}`);
    await Deno.writeTextFile(
      `${dir}/${unit}`,
      text.replaceAll("/usr/local/sbin/mysql_monitor_daemon", bin),
    );
  }
  // The documented drop-in, where systemd looks for it next to the unit.
  await Deno.mkdir(`${dir}/mysql_monitor_conntrack.service.d`);
  await Deno.copyFile(
    `${ROOT}/systemd/${DROP_IN}`,
    `${dir}/${DROP_IN}`,
  );
  // An instance of the template, as `systemctl start mysql_monitor_daemon@0` would load it.
  await Deno.copyFile(
    `${dir}/mysql_monitor_daemon@.service`,
    `${dir}/mysql_monitor_daemon@0.service`,
  );
}

Deno.test("systemd: units pass systemd-analyze verify without a single warning", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mmd-systemd-" });
  try {
    await stage(dir);
    const out = await new Deno.Command("systemd-analyze", {
      args: [
        "verify",
        ...[
          "mysql_monitor_daemon@0.service",
          "mysql_monitor_conntrack.service",
          "mysql_monitor_conntrack.timer",
        ]
          .map((u) => `${dir}/${u}`),
      ],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.equal(stderr.trim(), "", "systemd-analyze printed warnings");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function settings(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const m = line.match(/^([A-Za-z]+)=(.*)$/);
    if (m) map.set(m[1], [...(map.get(m[1]) ?? []), m[2]]);
  }
  return map;
}

const dirOf = (p: string) => p.slice(0, p.lastIndexOf("/"));

Deno.test("systemd: the monitor runs as mysql from the start; systemd makes its directories; reload names the shard count", async () => {
  const s = settings(await Deno.readTextFile(`${ROOT}/systemd/mysql_monitor_daemon@.service`));
  assert.deepEqual(s.get("Type"), ["notify"]);
  assert.match(s.get("ExecStart")![0], / monitor -s %i -t \$\{SHARDS\}$/);
  // Without -t, `reload -s N` looks for a shard file of one shard: wrong for any N > 0.
  assert.match(s.get("ExecReload")![0], / reload -s %i -t \$\{SHARDS\}$/);
  // One model: User=mysql with the password as a credential, no privilege drop, no caps.
  assert.deepEqual(s.get("User"), ["mysql"]);
  assert.deepEqual(s.get("Group"), ["mysql"]);
  assert.deepEqual(s.get("LoadCredential"), ["passwd:/root/mysql_search/passwd"]);
  assert.deepEqual(s.get("CapabilityBoundingSet"), [""]);
  assert.deepEqual(s.get("AmbientCapabilities") ?? [""], [""]);
  // The directories of the default paths are the ones systemd creates for mysql.
  assert.deepEqual(s.get("RuntimeDirectory"), ["mysql_monitor"]);
  assert.equal(dirOf(DEFAULT_PATHS.prometheusFile), "/run/mysql_monitor");
  assert.equal(dirOf(DEFAULT_PATHS.pidFile), "/run/mysql_monitor");
  assert.deepEqual(s.get("RuntimeDirectoryPreserve"), ["yes"], "shared by every shard");
  assert.deepEqual(s.get("StateDirectory"), ["mysql_monitor"]);
  assert.equal(DEFAULT_PATHS.stateDir, "/var/lib/mysql_monitor");
  assert.deepEqual(s.get("StateDirectoryMode"), ["0700"]);
  assert.deepEqual(s.get("LogsDirectory"), ["mysql_monitor"]);
  assert.equal(dirOf(DEFAULT_PATHS.auditLog), "/var/log/mysql_monitor");
  // Never a file in ReadWritePaths (logrotate moves the audit log; it must be re-creatable).
  for (const entry of (s.get("ReadWritePaths") ?? []).flatMap((v) => v.split(/\s+/))) {
    assert.notEqual(entry.replace(/^-/, ""), DEFAULT_PATHS.auditLog);
  }
  assert.deepEqual(s.get("ProtectSystem"), ["strict"]);
  assert.deepEqual(s.get("NoNewPrivileges"), ["yes"]);
  assert.deepEqual(s.get("PrivateTmp"), ["yes"]);
  assert.ok(s.get("SystemCallFilter")?.length);
  const t = settings(await Deno.readTextFile(`${ROOT}/systemd/mysql_monitor_conntrack.timer`));
  assert.deepEqual(t.get("OnCalendar"), ["*:0/5"]);
});

Deno.test("systemd: conntrack keeps the network for a fleet store; the documented drop-in takes it away", async () => {
  const s = settings(await Deno.readTextFile(`${ROOT}/systemd/mysql_monitor_conntrack.service`));
  assert.deepEqual(s.get("User"), ["mysql"]);
  assert.equal(s.has("PrivateNetwork"), false, "PrivateNetwork=yes breaks Store= over TCP");
  const families = s.get("RestrictAddressFamilies")![0].split(/\s+/);
  for (const f of ["AF_UNIX", "AF_INET", "AF_INET6"]) assert.ok(families.includes(f), f);
  assert.deepEqual(s.get("ReadWritePaths"), [dirOf(CONNTRACK_DEFAULTS.SqlitePath)]);
  assert.deepEqual(s.get("UMask"), ["0077"]);
  const d = settings(await Deno.readTextFile(`${ROOT}/systemd/${DROP_IN}`));
  assert.deepEqual(d.get("PrivateNetwork"), ["yes"]);
  assert.deepEqual(d.get("RestrictAddressFamilies"), ["AF_UNIX"]);
  const readme = await Deno.readTextFile(`${ROOT}/systemd/README.md`);
  assert.ok(readme.includes(`/etc/systemd/system/${DROP_IN}`), "drop-in not documented");
});
