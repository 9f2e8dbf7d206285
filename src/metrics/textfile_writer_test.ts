import assert from "node:assert/strict";
import { TextfileWriter } from "./textfile_writer.ts";
import { inTempDir } from "../util/temp_testing.ts";

/** A body of `lines` lines that says in its last line how many came before. */
function body(tag: number, lines = 2000): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) out.push(`metric_${i}{tag="${tag}"} ${i}`);
  out.push(`complete{tag="${tag}"} ${lines}`);
  return out.join("\n") + "\n";
}

function whole(text: string): boolean {
  const m = text.match(/^complete\{tag="(\d+)"\} (\d+)\n$/m);
  return m !== null && text === body(Number(m[1]), Number(m[2]));
}

Deno.test("textfile writer: six producers and a polling reader; no torn read, writes coalesce", async () => {
  await inTempDir({ prefix: "mmd-writer-" }, async (dir) => {
    const path = `${dir}/m.prom`;
    const writer = new TextfileWriter(path);
    let tag = 0;
    let stop = false;
    let reads = 0;
    let torn = 0;
    const reader = (async () => {
      while (!stop) {
        const text = await Deno.readTextFile(path).catch(() => "");
        if (text !== "") {
          reads++;
          if (!whole(text)) torn++;
        }
      }
    })();
    let requests = 0;
    const producers = Array.from({ length: 6 }, async () => {
      for (let i = 0; i < 40; i++) {
        requests++;
        await writer.write(() => body(++tag));
        await new Promise((r) => setTimeout(r, Math.random() * 3));
      }
    });
    await Promise.all(producers);
    stop = true;
    await reader;
    assert.equal(torn, 0, `${torn} of ${reads} reads were torn`);
    assert.ok(reads > 10, `only ${reads} reads`);
    assert.ok(writer.writes < requests, `${writer.writes} writes for ${requests} requests`);
    // The last write rendered the newest state, and no temporary file is left behind.
    assert.equal(await Deno.readTextFile(path), body(tag));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["m.prom"]);
  });
});

Deno.test("textfile writer: a failed write rejects every request it served; the next one retries", async () => {
  await inTempDir({ prefix: "mmd-writer-" }, async (dir) => {
    const writer = new TextfileWriter(`${dir}/sub/m.prom`);
    const results = await Promise.allSettled([1, 2, 3].map((n) => writer.write(() => `x ${n}\n`)));
    assert.ok(results.every((r) => r.status === "rejected"));
    assert.ok(
      results.every((r) => r.status === "rejected" && r.reason instanceof Deno.errors.NotFound),
    );
    await Deno.mkdir(`${dir}/sub`);
    await writer.write(() => "x 4\n");
    assert.equal(await Deno.readTextFile(`${dir}/sub/m.prom`), "x 4\n");
  });
});
