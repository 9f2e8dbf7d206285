import assert from "node:assert/strict";
import { TaskQueue } from "./queue.ts";

Deno.test("queue: never more than `concurrency` tasks at once; a slow task does not block the rest", async () => {
  const q = new TaskQueue(2);
  let peak = 0;
  const started: string[] = [];
  const finished: string[] = [];
  // Each task runs until the test lets it finish: the order is the test's, not the clock's.
  const release = new Map<string, () => void>();
  const task = (name: string) =>
    q.run(async () => {
      started.push(name);
      peak = Math.max(peak, q.running);
      await new Promise<void>((r) => release.set(name, r));
      finished.push(name);
      return name;
    });
  /** Lets the queued work run until nothing more can happen without the test. */
  const settle = async () => {
    for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 0));
  };
  const all = Promise.all([task("slow"), task("a"), task("b"), task("c")]);
  await settle();
  assert.deepEqual(started, ["slow", "a"]);
  for (const [name, next] of [["a", "b"], ["b", "c"], ["c", undefined]] as const) {
    release.get(name)!();
    await settle();
    // `slow` still holds its slot; the other slot moves on to the next task.
    assert.deepEqual(started.at(-1), next ?? "c");
    assert.equal(q.running, next ? 2 : 1);
  }
  assert.deepEqual(finished, ["a", "b", "c"]);
  release.get("slow")!();
  assert.deepEqual(await all, ["slow", "a", "b", "c"]);
  assert.equal(peak, 2);
  assert.deepEqual(finished, ["a", "b", "c", "slow"]);
  await q.idle();
});
