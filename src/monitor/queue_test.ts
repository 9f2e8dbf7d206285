import assert from "node:assert/strict";
import { TaskQueue } from "./queue.ts";

Deno.test("queue: never more than `concurrency` tasks at once; a slow task does not block the rest", async () => {
  const q = new TaskQueue(2);
  let peak = 0;
  const finished: string[] = [];
  const task = (name: string, ms: number) =>
    q.run(async () => {
      peak = Math.max(peak, q.running);
      await new Promise((r) => setTimeout(r, ms));
      finished.push(name);
      return name;
    });
  const all = Promise.all([task("slow", 300), task("a", 10), task("b", 10), task("c", 10)]);
  assert.deepEqual(await all, ["slow", "a", "b", "c"]);
  assert.equal(peak, 2);
  assert.deepEqual(finished, ["a", "b", "c", "slow"]);
  await q.idle();
});
