import assert from "node:assert/strict";
import { ROOT } from "./support/cli.ts";

// deno compile needs the denort base binary, which only dl.deno.land serves. The explicit check
// mode builds on the deno CLI instead (its default base), which proves the program bundles with
// the binary's permission set, then removes that unrunnable output and says so.
Deno.test("compile: --check-graph compiles the program on the deno CLI, removes the output and says so", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mmd-compile-" });
  try {
    const out = `${dir}/mysql_monitor_daemon`;
    const r = await compile(["--check-graph", out], {});
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout.trim(),
      /^compile check passed: the program compiles with the app permission set \((\d+) bytes built on .*deno; output removed, it is not a runnable binary\)$/,
    );
    const size = Number(r.stdout.match(/\((\d+) bytes/)![1]);
    assert.ok(size > 10_000_000, `binary was only ${size} bytes`);
    await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compile: a normal build refuses the deno CLI as DENORT_BIN, in one line, before building", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mmd-compile-" });
  try {
    const r = await compile([`${dir}/out`], { DENORT_BIN: Deno.execPath() });
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(
      r.stderr,
      /is the deno CLI, not the denort runtime: a binary built on it starts the deno CLI instead of this program; point DENORT_BIN at denort 2\.9\.6/,
    );
    await assert.rejects(Deno.stat(`${dir}/out`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compile: a DENORT_BIN whose output does not run the program is refused and the output removed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mmd-compile-" });
  try {
    // Any ELF executable is accepted as a base by deno compile; /bin/true just exits.
    await Deno.copyFile("/bin/true", `${dir}/not-denort`);
    await Deno.chmod(`${dir}/not-denort`, 0o755);
    const r = await compile([`${dir}/out`], { DENORT_BIN: `${dir}/not-denort` });
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /the built file does not run this program .* Output removed\n$/);
    await assert.rejects(Deno.stat(`${dir}/out`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function compile(args: string[], env: Record<string, string>) {
  const r = await new Deno.Command(`${ROOT}/scripts/compile.sh`, {
    args,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

Deno.test("compile: a DENORT_BIN that is not a file is refused in one line", async () => {
  const r = await new Deno.Command(`${ROOT}/scripts/compile.sh`, {
    args: ["/nonexistent/out"],
    env: { DENORT_BIN: "/nonexistent/denort" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(r.stderr);
  assert.notEqual(r.code, 0);
  assert.equal(stderr.trim().split("\n").length, 1, stderr);
  assert.match(stderr, /DENORT_BIN=\/nonexistent\/denort is not an executable file/);
});

Deno.test("compile: without DENORT_BIN and no route to dl.deno.land it says what to do in one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mmd-compile-" });
  try {
    // A dead proxy makes the denort download fail the way it fails on a machine without access
    // (npm packages come from the already filled Deno cache; denort is never cached here).
    const env: Record<string, string> = {
      HTTPS_PROXY: "http://127.0.0.1:9",
      https_proxy: "http://127.0.0.1:9",
    };
    const r = await new Deno.Command(`${ROOT}/scripts/compile.sh`, {
      args: [`${dir}/out`],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(r.stderr);
    assert.notEqual(r.code, 0);
    assert.equal(stderr.trim().split("\n").length, 1, stderr);
    assert.match(stderr, /dl\.deno\.land is unreachable\); set DENORT_BIN=/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
