import assert from "node:assert/strict";
import { ROOT } from "./support/cli.ts";

/** Regenerates a committed file with `script OUT` and asserts the committed copy is the same. */
async function assertFresh(script: string, committed: string): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mmd-generated-" });
  try {
    const out = `${dir}/generated.ts`;
    const r = await new Deno.Command(`${ROOT}/${script}`, {
      args: [out],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    const fresh = await Deno.readTextFile(out);
    const current = await Deno.readTextFile(`${ROOT}/${committed}`);
    assert.ok(fresh === current, `${committed} is stale: run ${script}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// A stale bundle would run old parser code in the worker threads only.
Deno.test("conntrack: the bundled parser worker matches its sources", () =>
  assertFresh("scripts/bundle_worker.sh", "src/conntrack/scan_worker_bundle.ts"));

// A stale module would run old search code.
Deno.test("conntrack: the embedded WebAssembly matches byte_scan.wat", () =>
  assertFresh("scripts/build_wasm.sh", "src/conntrack/byte_scan_wasm.ts"));
