import assert from "node:assert/strict";
import { ServerState } from "./state.ts";

Deno.test("state: survives a save/load round trip; locks are never evicted by the LRU", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/db1.json`;
    const s = await ServerState.load(path, 2);
    s.set("locked", { warned: true, overHard: true, lockedByUs: ["%"] });
    s.set("a", { warned: true, overHard: false, lockedByUs: [] });
    s.set("b", { warned: true, overHard: false, lockedByUs: [] });
    s.set("c", { warned: true, overHard: false, lockedByUs: [] }); // evicts "a"
    s.set("quiet", { warned: false, overHard: false, lockedByUs: [] }); // nothing to keep
    s.errorsTotal = 3;
    assert.equal(s.get("a").warned, false, "least recently used entry evicted");
    await s.save();
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const t = await ServerState.load(path, 2);
    assert.deepEqual(t.get("locked").lockedByUs, ["%"]);
    assert.equal(t.get("b").warned, true);
    assert.equal(t.get("c").warned, true);
    assert.deepEqual(t.users().sort(), ["b", "c", "locked"]);
    assert.equal(t.errorsTotal, 3);
    await Deno.writeTextFile(path, "{broken");
    await assert.rejects(ServerState.load(path, 2), /not valid JSON/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
