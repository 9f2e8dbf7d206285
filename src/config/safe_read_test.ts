import assert from "node:assert/strict";
import { ConfigError } from "../errors.ts";
import { readConfigText, splitLines } from "./safe_read.ts";
import { inTempDir } from "../util/temp_testing.ts";

async function mkfifo(path: string) {
  const out = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

function refused(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.match(err.message, pattern);
    assert.equal(err.message.split("\n").length, 1);
    return true;
  };
}

Deno.test("safe read: a FIFO, /dev/zero, a directory and a missing file are refused at once", async () => {
  await inTempDir({ prefix: "mmd-saferead-" }, async (dir) => {
    await mkfifo(`${dir}/fifo`);
    // No writer ever opens the FIFO: a plain open() would wait forever.
    await assert.rejects(
      readConfigText(`${dir}/fifo`, { maxBytes: 100 }),
      refused(/fifo: file is a FIFO \(named pipe\), not a regular file$/),
    );
    await Deno.symlink("/dev/zero", `${dir}/zero`);
    await assert.rejects(
      readConfigText(`${dir}/zero`, { maxBytes: 100, label: "password file" }),
      refused(/zero: password file is a character device, not a regular file$/),
    );
    await assert.rejects(
      readConfigText(dir, { maxBytes: 100 }),
      refused(/: file is a directory, not a regular file$/),
    );
    await assert.rejects(
      readConfigText(`${dir}/missing`, { maxBytes: 100, notFound: "no such thing" }),
      refused(/missing: no such thing$/),
    );
    await assert.rejects(
      readConfigText(`${dir}/missing/x`, { maxBytes: 100 }),
      refused(/x: file not found$/),
    );
  });
});

Deno.test("safe read: the size cap, the check before reading, UTF-8 with the bad line, BOM", async () => {
  await inTempDir({ prefix: "mmd-saferead-" }, async (dir) => {
    const f = `${dir}/f`;
    await Deno.writeTextFile(f, "x".repeat(101));
    await assert.rejects(
      readConfigText(f, { maxBytes: 100 }),
      refused(/f: file is larger than 100 bytes; is this the right file\?$/),
    );
    assert.equal(await readConfigText(f, { maxBytes: 101 }), "x".repeat(101));

    // The check sees mode, owner and size of the open file, and runs before anything is read.
    let seen: { mode: number; uid: number; size: number } | undefined;
    await assert.rejects(
      readConfigText(f, {
        maxBytes: 1000,
        check: (info) => {
          seen = info;
          throw new ConfigError("refused by the check", f);
        },
      }),
      refused(/refused by the check/),
    );
    assert.equal(seen?.size, 101);
    assert.equal(seen?.uid, Deno.uid());

    await Deno.writeFile(f, new Uint8Array([0x61, 0x0d, 0x62, 0x0d, 0x0a, 0x63, 0xff, 0x0a]));
    await assert.rejects(
      readConfigText(f, { maxBytes: 100 }),
      refused(/f:3: file is not valid UTF-8 \(save it as UTF-8\)$/),
    );
    await Deno.writeFile(f, new Uint8Array([0xef, 0xbb, 0xbf, 0x61, 0x3d, 0x31]));
    assert.equal(await readConfigText(f, { maxBytes: 100 }), "a=1");
  });
});

Deno.test("splitLines: CR, LF and CRLF each end one line", () => {
  assert.deepEqual(splitLines("a\rb\nc\r\nd\n\re"), ["a", "b", "c", "d", "", "e"]);
  assert.deepEqual(splitLines("# comment\ralice,1G\r"), ["# comment", "alice,1G", ""]);
});
