import assert from "node:assert/strict";
import { ConfigError, RuntimeError } from "../errors.ts";
import { getpwnam } from "./libc.ts";
import {
  createFileExclusive,
  inspectChain,
  prepareDirectory,
  readFileNoFollow,
  writeFileAtomic,
} from "./safe_fs.ts";
import { inTempDir } from "../util/temp_testing.ts";

const root = Deno.uid() === 0;
const mysql = getpwnam("mysql");

/** Runs `fn` in a new temporary directory of mode 0755. */
function inSafeDir(fn: (dir: string) => Promise<void>): Promise<void> {
  return inTempDir({ prefix: "mmd-safefs-" }, async (dir) => {
    await Deno.chmod(dir, 0o755);
    await fn(dir);
  });
}

Deno.test("safe fs: atomic write uses a fresh random name, replaces a link instead of following it", async () => {
  await inSafeDir(async (dir) => {
    const target = `${dir}/target`;
    await Deno.writeTextFile(target, "keep\n");
    const path = `${dir}/m.prom`;
    await Deno.symlink(target, path);
    // Names a guesser would try: the old `<path>.tmp.<pid>` scheme.
    for (let pid = Deno.pid - 5; pid < Deno.pid + 50; pid++) {
      await Deno.symlink(target, `${path}.tmp.${pid}`);
    }
    await writeFileAtomic(path, "new\n", 0o640);
    assert.equal(await Deno.readTextFile(target), "keep\n");
    const info = await Deno.lstat(path);
    assert.ok(info.isFile);
    assert.equal(info.mode! & 0o777, 0o640);
    assert.equal(await Deno.readTextFile(path), "new\n");
    const left = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".tmp"));
    assert.deepEqual(left, [], "no temporary file left");
  });
});

Deno.test("safe fs: atomic write from pieces writes them in order; a failing producer leaves the old file", async () => {
  await inSafeDir(async (dir) => {
    const path = `${dir}/m.prom`;
    await Deno.writeTextFile(path, "old\n");
    const pieces = async function* (fail: boolean) {
      yield "a é\n";
      await new Promise((r) => setTimeout(r, 1));
      // While the pieces are produced, readers still see the old file.
      assert.equal(await Deno.readTextFile(path), "old\n");
      if (fail) throw new Error("render failed");
      yield "b\n";
    };
    await assert.rejects(writeFileAtomic(path, pieces(true)), /render failed/);
    assert.equal(await Deno.readTextFile(path), "old\n");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["m.prom"], "temp removed");
    await writeFileAtomic(path, pieces(false));
    assert.equal(await Deno.readTextFile(path), "a é\nb\n");
    // Pieces of every UTF-8 length, a longer one after a shorter (the buffer grows).
    await writeFileAtomic(path, ["x", "", "\u{1F600}\u20ac\u00e9y".repeat(1000) + "\n"]);
    assert.equal(await Deno.readTextFile(path), "x" + "\u{1F600}\u20ac\u00e9y".repeat(1000) + "\n");
    // A link planted at the path is replaced, never written through, when pieces are written.
    const canary = `${dir}/canary`;
    await Deno.writeTextFile(canary, "keep\n");
    await Deno.remove(path);
    await Deno.symlink(canary, path);
    await writeFileAtomic(path, ["a é\n", "b\n"]);
    assert.equal(await Deno.readTextFile(canary), "keep\n");
    assert.ok((await Deno.lstat(path)).isFile);
    assert.equal(await Deno.readTextFile(path), "a é\nb\n");
  });
});

Deno.test("safe fs: exclusive create never follows a link and sets the exact mode on the handle", async () => {
  await inSafeDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/target`, "keep\n");
    await Deno.symlink(`${dir}/target`, `${dir}/link`);
    await Deno.symlink(`${dir}/nowhere`, `${dir}/dangling`);
    assert.equal(createFileExclusive(`${dir}/link`, 0o640), false);
    assert.equal(createFileExclusive(`${dir}/dangling`, 0o640), false);
    await assert.rejects(Deno.stat(`${dir}/nowhere`), Deno.errors.NotFound);
    assert.equal(await Deno.readTextFile(`${dir}/target`), "keep\n");
    assert.equal(createFileExclusive(`${dir}/new`, 0o640), true);
    assert.equal((await Deno.lstat(`${dir}/new`)).mode! & 0o7777, 0o640);
  });
});

Deno.test("safe fs: reading refuses links and FIFOs instead of following or blocking", async () => {
  await inSafeDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/f`, "12\n");
    assert.equal(readFileNoFollow(`${dir}/f`)?.text, "12\n");
    assert.equal(readFileNoFollow(`${dir}/absent`), undefined);
    await Deno.symlink(`${dir}/f`, `${dir}/l`);
    assert.throws(() => readFileNoFollow(`${dir}/l`), /is a symbolic link; refusing to follow it/);
    const mk = await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
    assert.equal(mk.code, 0);
    assert.throws(() => readFileNoFollow(`${dir}/fifo`), /is not a regular file/);
    await Deno.writeTextFile(`${dir}/big`, "x".repeat(100));
    assert.throws(() => readFileNoFollow(`${dir}/big`, 10), RuntimeError);
  });
});

Deno.test({
  name: `safe fs: directory chains: other accounts' writable directories and links are refused${
    root ? "" : " (skipped: needs root)"
  }`,
  ignore: !root,
  async fn() {
    assert.ok(mysql, "needs the mysql user");
    await inSafeDir(async (dir) => {
      // Root's own directory: created, handed to mysql by handle with the mode asked for.
      assert.equal(prepareDirectory(`${dir}/a/b`, 0o700, mysql, "state_dir"), "created");
      const b = await Deno.lstat(`${dir}/a/b`);
      assert.equal(b.uid, mysql.uid);
      assert.equal(b.mode! & 0o7777, 0o700);
      const a = await Deno.lstat(`${dir}/a`);
      assert.equal(a.uid, 0, "directories in between stay root's");
      assert.equal(prepareDirectory(`${dir}/a/b`, 0o700, mysql, "state_dir"), "existed");
      // Below mysql's directory root creates nothing: mysql does, after the drop.
      assert.equal(prepareDirectory(`${dir}/a/b/c`, 0o755, mysql, "pid_file"), "left to owner");
      await assert.rejects(Deno.lstat(`${dir}/a/b/c`), Deno.errors.NotFound);
      // For root itself (no run_as), a mysql directory on the way is refused.
      assert.throws(
        () => prepareDirectory(`${dir}/a/b/c`, 0o755, undefined, "pid_file", "/x/search.conf"),
        (e: unknown) =>
          e instanceof ConfigError &&
          /^\/x\/search\.conf: pid_file=.*\/a\/b\/c: .*\/a\/b belongs to mysql \(uid \d+\); root does not write/
            .test(e.message),
      );
      // Writable by everyone without the sticky bit, or by a group other than root's.
      await Deno.mkdir(`${dir}/open`, { mode: 0o777 });
      await Deno.chmod(`${dir}/open`, 0o777);
      assert.match(inspectChain(`${dir}/open/x`).problem ?? "", /open is writable by everyone$/);
      await Deno.chmod(`${dir}/open`, 0o775);
      await Deno.chown(`${dir}/open`, 0, mysql.gid);
      assert.match(inspectChain(`${dir}/open`).problem ?? "", /open is writable by group mysql/);
      // A sticky world-writable ancestor (like /tmp) is fine; as the final directory it is not.
      await Deno.chown(`${dir}/open`, 0, 0);
      await Deno.chmod(`${dir}/open`, 0o1777);
      await Deno.mkdir(`${dir}/open/mine`);
      assert.equal(inspectChain(`${dir}/open/mine`).problem, undefined);
      assert.match(inspectChain(`${dir}/open`).problem ?? "", /writable by everyone/);
      // Root's links are followed; anyone else's are refused.
      await Deno.symlink(`${dir}/a`, `${dir}/rootlink`);
      assert.equal(inspectChain(`${dir}/rootlink/b`, [mysql.uid]).real, `${dir}/a/b`);
      await Deno.symlink(`${dir}/a`, `${dir}/mysqllink`);
      const ch = await new Deno.Command("chown", { args: ["-h", "mysql", `${dir}/mysqllink`] })
        .output();
      assert.equal(ch.code, 0);
      assert.match(
        inspectChain(`${dir}/mysqllink/b`, [mysql.uid]).problem ?? "",
        /mysqllink is a link that belongs to mysql/,
      );
    });
  },
});
