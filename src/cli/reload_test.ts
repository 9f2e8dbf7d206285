import assert from "node:assert/strict";
import { readReloadRecord } from "./reload.ts";

Deno.test("reload: the reload record is read, absent is undefined, anything else says why", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mmd-reload-" });
  const path = `${dir}/monitor.pid.reload`;
  try {
    assert.equal(readReloadRecord(path), undefined);
    const record = { pid: 42, generation: 3, ok: false, error: "search_user:2: bad", time: 1 };
    await Deno.writeTextFile(path, JSON.stringify(record) + "\n");
    assert.deepEqual(readReloadRecord(path), record);

    await Deno.writeTextFile(path, "{not json");
    assert.throws(() => readReloadRecord(path), (e: Error) => {
      assert.match(e.message, new RegExp(`^reload record ${path} is not JSON: `));
      assert.ok(e.cause instanceof SyntaxError, "keeps the parse error as its cause");
      return true;
    });
    await Deno.writeTextFile(path, '{"pid":"42"}');
    assert.throws(() => readReloadRecord(path), /is not a reload record written by the monitor/);

    await Deno.remove(path);
    await Deno.writeTextFile(`${dir}/elsewhere`, JSON.stringify(record));
    await Deno.symlink(`${dir}/elsewhere`, path);
    assert.throws(() => readReloadRecord(path), /is a symbolic link; refusing to follow it/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
