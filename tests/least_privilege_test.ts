/**
 * Least privilege per mode, seen from inside the running program: the test-only flag
 * `--probe-permissions` makes a mode try one harmless operation per permission once its
 * start-up is done (after the privilege drop and the revocations) and log the outcome. Each
 * revoked permission must be denied, each kept one granted.
 */
import assert from "node:assert/strict";
import denoJson from "../deno.json" with { type: "json" };
import { runCli } from "./support/cli.ts";
import { BackgroundMonitor, offlineMonitorSandbox } from "./support/offline_monitor.ts";
import { sandbox as conntrackSandbox } from "./support/conntrack.ts";

const APP_WRITES: string[] = denoJson.permissions.app.write;

/** The probe outcomes logged in `stderr`, as "what → granted|denied". */
function probes(stderr: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of stderr.matchAll(/permission probe: "?(.+?) (granted|denied)"?$/gm)) {
    out.set(m[1], m[2]);
  }
  return out;
}

function assertRevoked(p: Map<string, string>, stderr: string) {
  for (const what of ["ffi", "run", "env", "sys"]) {
    assert.equal(p.get(what), "denied", `${what}; stderr: ${stderr}`);
  }
}

Deno.test("least privilege: the running daemon has no FFI, run, env, sys, nor write outside its paths", async () => {
  await using sb = await offlineMonitorSandbox();
  await using daemon = new BackgroundMonitor(sb, ["-d", "0", "--probe-permissions"]);
  await daemon.until("start", () => /started: pid/.test(daemon.stderr));
  const stderr = daemon.stderr;
  assert.match(stderr, /dropped root: running as mysql/);
  const p = probes(stderr);
  assertRevoked(p, stderr);
  assert.equal(p.get("net"), "granted", "the monitor talks to its servers");
  // Every directory of the permission set is revoked: the sandbox holds all its paths.
  for (const path of APP_WRITES) assert.equal(p.get(`write ${path}`), "denied", path);
  for (const path of [`${sb.dir}/run`, sb.state, `${sb.dir}/out`]) {
    assert.equal(p.get(`write ${path}`), "granted", path);
  }
  assert.equal(p.get("read /etc/conntracker"), "denied");
});

Deno.test("least privilege: monitor --once probes the same", async () => {
  await using sb = await offlineMonitorSandbox();
  const r = await runCli(["monitor", "-c", sb.dir, "--once", "-d", "0", "--probe-permissions"], {
    read: [sb.dir],
    write: [sb.dir],
  });
  const p = probes(r.stderr);
  assertRevoked(p, r.stderr);
  for (const path of APP_WRITES) assert.equal(p.get(`write ${path}`), "denied", path);
  assert.equal(p.get(`write ${sb.state}`), "granted");
});

Deno.test("least privilege: conntrack without a fleet store has no network; with one it keeps it", async () => {
  await using box = await conntrackSandbox();
  await Deno.writeTextFile(`${box.auditDir}/server_audit.log`, "");
  const plain = await box.run("-v", "--probe-permissions");
  assert.equal(plain.code, 0, plain.stderr);
  const p = probes(plain.stderr);
  assertRevoked(p, plain.stderr);
  assert.equal(p.get("net"), "denied");
  for (const path of APP_WRITES) assert.equal(p.get(`write ${path}`), "denied", path);
  assert.equal(p.get(`write ${box.sqlite}`), "granted");
  assert.equal(p.get("read /etc/mysql_search"), "denied");

  await Deno.writeTextFile(box.ini, "Store = mysql://conntrack@127.0.0.1:1/fleet\n", {
    append: true,
  });
  const fleet = await box.run("-v", "--probe-permissions");
  const f = probes(fleet.stderr);
  assertRevoked(f, fleet.stderr);
  assert.equal(f.get("net"), "granted", fleet.stderr);
});
