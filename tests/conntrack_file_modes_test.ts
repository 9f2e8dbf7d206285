/**
 * The conntrack database holds failed-login names: it is created 0600, and SQLite gives its
 * rollback journal, and in WAL mode its -wal and -shm files, the mode of the database file.
 */
import assert from "node:assert/strict";
import { loadConntrackConfig } from "../src/config/conntrack_ini.ts";
import { runConntrack } from "../src/conntrack/run.ts";
import { sandbox } from "./support/conntrack.ts";

async function modeOf(path: string): Promise<number> {
  return (await Deno.lstat(path)).mode! & 0o777;
}

Deno.test("conntrack files: database, journal, -wal and -shm are private (0600)", async () => {
  await using box = await sandbox();
  await Deno.writeTextFile(
    `${box.auditDir}/server_audit.log`,
    "20250101 10:00:00,db,alice,10.0.0.1,1,0,CONNECT,,,0\n",
  );
  const config = await loadConntrackConfig(box.ini);
  const seen: Record<string, number> = {};
  {
    await runConntrack(config, {
      now: Date.now() + 60_000,
      beforeCommit: () => {
        for (const s of ["", "-journal"]) seen[s] = Deno.lstatSync(box.sqlite + s).mode! & 0o777;
      },
    });
    assert.deepEqual(seen, { "": 0o600, "-journal": 0o600 });
    assert.equal(await modeOf(box.sqlite), 0o600);

    // The same database switched to WAL mode: the -wal and -shm files follow its mode.
    const wal = new Deno.Command("sqlite3", { args: [box.sqlite, "PRAGMA journal_mode=WAL;"] });
    assert.equal((await wal.output()).code, 0);
    await Deno.writeTextFile(
      `${box.auditDir}/server_audit.log`,
      "20250101 11:00:00,db,bob,10.0.0.2,2,0,CONNECT,,,0\n",
      { append: true },
    );
    const walSeen: Record<string, number> = {};
    await runConntrack(config, {
      now: Date.now() + 60_000,
      beforeCommit: () => {
        for (const s of ["-wal", "-shm"]) walSeen[s] = Deno.lstatSync(box.sqlite + s).mode! & 0o777;
      },
    });
    assert.deepEqual(walSeen, { "-wal": 0o600, "-shm": 0o600 });
    assert.deepEqual(box.accounts().map((l) => l.split("|")[0]), ["alice", "bob"]);
  }
});
