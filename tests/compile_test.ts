import assert from "node:assert/strict";
import { ROOT } from "./support/cli.ts";

// deno compile needs the denort base binary, which only dl.deno.land serves. Here the deno CLI
// itself stands in for it (DENORT_BIN), which proves the program bundles with the binary's
// permission set; such a file starts the deno CLI rather than the program, so it is not run.
Deno.test("compile: scripts/compile.sh builds a binary with DENORT_BIN = deno (output not runnable here)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mmd-compile-" });
  try {
    const out = `${dir}/mysql_monitor_daemon`;
    const r = await new Deno.Command(`${ROOT}/scripts/compile.sh`, {
      args: [out],
      env: { DENORT_BIN: Deno.execPath() },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 0, stderr);
    assert.equal(new TextDecoder().decode(r.stdout).trim(), out);
    const info = await Deno.stat(out);
    assert.ok(info.isFile);
    assert.ok(info.size > 10_000_000, `binary is only ${info.size} bytes`);
    assert.ok((info.mode ?? 0) & 0o100, "binary is not executable");
    // The embedded program (with its permission set) is appended to the base binary.
    const tail = await readTail(out, 4 << 20);
    assert.ok(tail.includes("mysql_monitor_daemon"), "program not embedded in the binary");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

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

async function readTail(path: string, bytes: number): Promise<string> {
  using f = await Deno.open(path);
  const size = (await f.stat()).size;
  await f.seek(Math.max(0, size - bytes), Deno.SeekMode.Start);
  const buf = new Uint8Array(Math.min(bytes, size));
  let off = 0;
  while (off < buf.length) {
    const n = await f.read(buf.subarray(off));
    if (n === null) break;
    off += n;
  }
  return new TextDecoder("latin1").decode(buf.subarray(0, off));
}

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
