import assert from "node:assert/strict";
import { decodeSchemaDir, usageFromDatadir } from "./usage.ts";

Deno.test("usage: schema directory names are decoded", () => {
  assert.equal(decodeSchemaDir("fr@002dank"), "fr-ank");
  assert.equal(decodeSchemaDir("a@0020b@0024"), "a b$");
  assert.equal(decodeSchemaDir("plain_name"), "plain_name");
});

Deno.test("usage: datadir source sums files per schema directory, skips system schemas, honours the filter", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files: [string, number][] = [
      ["shop/t.ibd", 1000],
      ["shop/t.frm", 24],
      ["shop@002dold/x.MYD", 7],
      ["mysql/user.MAD", 99999],
      ["other/o.ibd", 5],
    ];
    for (const [path, size] of files) {
      await Deno.mkdir(`${dir}/${path.split("/")[0]}`, { recursive: true });
      await Deno.writeFile(`${dir}/${path}`, new Uint8Array(size));
    }
    await Deno.writeFile(`${dir}/ibdata1`, new Uint8Array(50));
    await Deno.mkdir(`${dir}/shop/subdir`);
    const all = await usageFromDatadir(dir, { all: true });
    assert.deepEqual(Object.fromEntries(all), { shop: 1024, "shop-old": 7, other: 5 });
    const some = await usageFromDatadir(dir, { all: false, patterns: ["shop%"] });
    assert.deepEqual(Object.fromEntries(some), { shop: 1024, "shop-old": 7 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
