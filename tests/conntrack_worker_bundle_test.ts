import assert from "node:assert/strict";
import { ROOT } from "./support/cli.ts";

// The parser worker starts from a bundled copy of src/conntrack/scan_worker.ts; a stale copy
// would run old parser code in the workers only.
Deno.test("conntrack: the bundled parser worker matches its sources (run scripts/bundle_worker.sh)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mmd-bundle-" });
  try {
    const out = `${dir}/bundle.ts`;
    const r = await new Deno.Command(`${ROOT}/scripts/bundle_worker.sh`, {
      args: [out],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    const fresh = await Deno.readTextFile(out);
    const committed = await Deno.readTextFile(`${ROOT}/src/conntrack/scan_worker_bundle.ts`);
    assert.ok(
      fresh === committed,
      "src/conntrack/scan_worker_bundle.ts is stale: run scripts/bundle_worker.sh",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
