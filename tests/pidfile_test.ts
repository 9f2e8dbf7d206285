import assert from "node:assert/strict";
import { lockHolder, PidFile, readPid } from "../src/system/pidfile.ts";

Deno.test("pidfile: holds the lock, refuses a second holder, removes itself", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mmd-pid-" });
  const path = `${dir}/monitor-0.pid`;
  try {
    const held = await PidFile.acquire(path);
    assert.equal(await readPid(path), Deno.pid);
    assert.equal(lockHolder(path), Deno.pid);
    // A second process trying the same shard is refused and told who holds it.
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        "-q",
        `import { PidFile } from ${
          JSON.stringify(new URL("../src/system/pidfile.ts", import.meta.url).href)
        };
         try { await PidFile.acquire(${JSON.stringify(path)}); console.log("acquired"); }
         catch (e) { console.log(e.message); }`,
      ],
      stdout: "piped",
    }).output();
    assert.equal(
      new TextDecoder().decode(out.stdout).trim(),
      `another instance is running (pid ${Deno.pid}): ${path} is locked; stop it first or use another shard`,
    );
    held.release();
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
    assert.equal(lockHolder(path), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pidfile: a stale file from a killed process does not block the next start", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mmd-pid-" });
  const path = `${dir}/monitor-0.pid`;
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        "-q",
        `import { PidFile } from ${
          JSON.stringify(new URL("../src/system/pidfile.ts", import.meta.url).href)
        };
         await PidFile.acquire(${JSON.stringify(path)}); console.log("held");
         await new Promise((r) => setTimeout(r, 60000));`,
      ],
      stdout: "piped",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    assert.equal((await reader.read()).value?.trim(), "held");
    assert.equal(lockHolder(path), child.pid);
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel();
    assert.equal(await readPid(path), child.pid, "the crashed process's file is still there");
    assert.equal(lockHolder(path), undefined, "but nobody holds it");
    const mine = await PidFile.acquire(path);
    assert.equal(await readPid(path), Deno.pid);
    mine.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
