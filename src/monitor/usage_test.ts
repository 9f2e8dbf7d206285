import assert from "node:assert/strict";
import { denoDirSize, libcDirSize, subdirectories } from "./dir_size.ts";
import { decodeSchemaDir, listSchemaDirs, usageFromDatadir } from "./usage.ts";

Deno.test("usage: schema directory names are decoded", () => {
  assert.equal(decodeSchemaDir("fr@002dank"), "fr-ank");
  assert.equal(decodeSchemaDir("a@0020b@0024"), "a b$");
  assert.equal(decodeSchemaDir("plain_name"), "plain_name");
});

async function datadir(): Promise<string> {
  const dir = await Deno.makeTempDir();
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
  return dir;
}

Deno.test("usage: datadir source sums files per schema directory, skips system schemas, reads only the schemas asked", async () => {
  const dir = await datadir();
  try {
    const dirs = await listSchemaDirs(dir);
    assert.deepEqual([...dirs.keys()].sort(), ["other", "shop", "shop-old"]);
    // libc's readdir + statx and Deno's calls agree; symlinks and subdirectories do not count.
    await Deno.symlink("/etc/passwd", `${dir}/shop/link`);
    for (const sizer of [libcDirSize, denoDirSize()]) {
      const all = await usageFromDatadir(dirs, sizer);
      assert.deepEqual(Object.fromEntries(all), {
        shop: { bytes: 1024 },
        "shop-old": { bytes: 7 },
        other: { bytes: 5 },
      });
    }
    const some = await usageFromDatadir(new Map([["shop", dirs.get("shop")!]]));
    assert.deepEqual(Object.fromEntries(some), { shop: { bytes: 1024 } });
    // A schema directory that cannot be read at all (here: not a directory) is incomplete.
    await Deno.writeTextFile(`${dir}/not_a_dir`, "x");
    const odd = await usageFromDatadir(new Map([["odd", `${dir}/not_a_dir`]]), libcDirSize);
    assert.match(odd.get("odd")!.problem!, /not_a_dir: Not a directory/);
    // A schema dropped since it was listed is left out, not 0 bytes.
    await Deno.remove(`${dir}/other`, { recursive: true });
    assert.deepEqual(Object.fromEntries(await usageFromDatadir(dirs)).other, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("usage: a file whose size cannot be read makes its schema incomplete, not smaller", async () => {
  const dir = await datadir();
  try {
    const dirs = await listSchemaDirs(dir);
    // A file that vanishes once (between listing and lstat) is read again with a fresh listing.
    let failures = 1;
    const flaky = (path: string) => {
      if (path.endsWith("/t.ibd") && failures-- > 0) throw new Deno.errors.NotFound("gone");
      return Deno.lstatSync(path);
    };
    assert.deepEqual((await usageFromDatadir(dirs, denoDirSize(flaky))).get("shop"), {
      bytes: 1024,
    });
    // One that cannot be read twice in a row marks the schema incomplete.
    const broken = (path: string) => {
      if (path.endsWith("/t.ibd")) throw new Error("Input/output error (os error 5)");
      return Deno.lstatSync(path);
    };
    const usage = await usageFromDatadir(dirs, denoDirSize(broken));
    assert.match(usage.get("shop")!.problem!, /shop\/t\.ibd: Input\/output error/);
    assert.deepEqual(usage.get("other"), { bytes: 5 }, "the other schemas are unaffected");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("usage: the datadir's subdirectories are listed as Deno lists them (no links, no files)", async () => {
  const dir = await datadir();
  try {
    await Deno.symlink(`${dir}/shop`, `${dir}/link_to_shop`);
    await Deno.mkdir(`${dir}/caf\u00e9@002d`);
    const deno = [...Deno.readDirSync(dir)].filter((e) => e.isDirectory).map((e) => e.name);
    const listed = [...subdirectories(dir)];
    assert.deepEqual(listed.toSorted(), deno.toSorted());
    assert.ok(listed.includes("caf\u00e9@002d") && !listed.includes("link_to_shop"));
    assert.ok(!listed.includes("ibdata1"));
    // A directory that cannot be read fails as Deno's own call does.
    assert.throws(() => [...subdirectories(`${dir}/missing`)], Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
