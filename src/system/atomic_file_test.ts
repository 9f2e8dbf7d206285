import assert from "node:assert/strict";
import { writeFileAtomic } from "./atomic_file.ts";
import { inTempDir } from "../util/temp_testing.ts";

Deno.test("atomic file: replaces the whole file, sets the mode, leaves no temporary file", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/out.prom`;
    await Deno.writeTextFile(path, "old content that is longer\n");
    await writeFileAtomic(path, "new\n", 0o640);
    assert.equal(await Deno.readTextFile(path), "new\n");
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o640);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["out.prom"]);
    await assert.rejects(writeFileAtomic(`${dir}/missing/x`, "y"));
  });
});
