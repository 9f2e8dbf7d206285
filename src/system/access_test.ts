import assert from "node:assert/strict";
import { accessProblem, type Identity } from "./access.ts";
import { inTempDir } from "../util/temp_testing.ts";

const nobody: Identity = { uid: 65534, gid: 65534, groups: [65534] };

Deno.test("access: mode bits of the file and every directory above it decide", async () => {
  await inTempDir({ prefix: "mmd-access-" }, async (dir) => {
    await Deno.chmod(dir, 0o755);
    const file = `${dir}/search_user`;
    await Deno.writeTextFile(file, "x\n", { mode: 0o600 });
    await Deno.chmod(file, 0o600);
    assert.equal(accessProblem(file, nobody, "read"), `cannot read ${file}`);
    await Deno.chmod(file, 0o644);
    assert.equal(accessProblem(file, nobody, "read"), undefined);
    assert.equal(accessProblem(file, nobody, "append"), `cannot write ${file}`);
    await Deno.chown(file, nobody.uid, nobody.gid);
    await Deno.chmod(file, 0o600);
    assert.equal(accessProblem(file, nobody, "read"), undefined);
    assert.equal(accessProblem(file, nobody, "append"), undefined);
    // Group bits count for the identity's groups.
    await Deno.chown(file, 0, nobody.gid);
    await Deno.chmod(file, 0o640);
    assert.equal(accessProblem(file, nobody, "read"), undefined);
    // A directory above that cannot be entered hides everything below.
    await Deno.chmod(dir, 0o700);
    assert.equal(accessProblem(file, nobody, "read"), `cannot enter directory ${dir}`);
    assert.equal(accessProblem(dir, nobody, "replace"), `cannot enter directory ${dir}`);
    await Deno.chmod(dir, 0o755);
    assert.equal(
      accessProblem(dir, nobody, "replace"),
      `cannot create or rename files in ${dir}`,
    );
    assert.equal(
      accessProblem(`${dir}/new.log`, nobody, "append"),
      `cannot create ${dir}/new.log in ${dir}`,
    );
    await Deno.chown(dir, nobody.uid, nobody.gid);
    assert.equal(accessProblem(dir, nobody, "replace"), undefined);
    assert.equal(accessProblem(`${dir}/new.log`, nobody, "append"), undefined);
    assert.equal(
      accessProblem(`${dir}/missing`, nobody, "read"),
      `${dir}/missing does not exist`,
    );
  });
});
