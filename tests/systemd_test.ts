import assert from "node:assert/strict";
import { ROOT } from "./support/cli.ts";

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

Deno.test("systemd: the monitor unit is a notify service per shard that can still drop privileges", async () => {
  const s = settings(await Deno.readTextFile(`${ROOT}/systemd/mysql_monitor_daemon@.service`));
  assert.deepEqual(s.get("Type"), ["notify"]);
  assert.match(s.get("ExecStart")![0], / monitor -s %i -t \$\{SHARDS\}$/);
  assert.match(s.get("ExecReload")![0], / reload -s %i$/);
  assert.deepEqual(s.get("ProtectSystem"), ["strict"]);
  assert.deepEqual(s.get("NoNewPrivileges"), ["yes"]);
  assert.deepEqual(s.get("PrivateTmp"), ["yes"]);
  assert.ok(s.get("SystemCallFilter")?.length);
  const caps = s.get("CapabilityBoundingSet")![0].split(/\s+/);
  for (const cap of ["CAP_SETUID", "CAP_SETGID"]) assert.ok(caps.includes(cap), `${cap} missing`);
  assert.equal(s.has("User"), false, "the monitor starts as root and drops privileges itself");
  const t = settings(await Deno.readTextFile(`${ROOT}/systemd/mysql_monitor_conntrack.timer`));
  assert.deepEqual(t.get("OnCalendar"), ["*:0/5"]);
});
