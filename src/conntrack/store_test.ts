import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Store } from "./store.ts";
import { Zone } from "../time/tz.ts";
import { inTempDir } from "../util/temp_testing.ts";

/** The statement the Go tool runs on a new database (internal/conntracker/database.go, v1.1.14). */
const GO_STATEMENT = `
	CREATE TABLE IF NOT EXISTS Accounts (
		name      TEXT,
		host      TEXT,
		last_seen TIMESTAMP,
		PRIMARY KEY (name, host)
	);
	`;

/** sqlite_master as the real sqlite3 command prints it for the Accounts table. */
async function schemaOf(path: string): Promise<string> {
  const out = await new Deno.Command("sqlite3", {
    args: [
      path,
      "SELECT type, name, tbl_name, quote(sql) FROM sqlite_master WHERE tbl_name = 'Accounts' ORDER BY name",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

Deno.test("store: a new database declares Accounts exactly as the Go tool does", async () => {
  await inTempDir(async (dir) => {
    const go = `${dir}/go.sqlite`;
    const made = await new Deno.Command("sqlite3", { args: [go, GO_STATEMENT] }).output();
    assert.equal(made.code, 0);
    const ours = `${dir}/ours.sqlite`;
    Store.open(ours).commit();
    const want = await schemaOf(go);
    assert.match(want, /last_seen TIMESTAMP/);
    assert.equal(await schemaOf(ours), want);
  });
});

Deno.test("store: a database from an earlier version (last_seen TEXT) is kept and updated", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/old.sqlite`;
    const db = new DatabaseSync(path);
    db.exec(`CREATE TABLE Accounts (name TEXT, host TEXT, last_seen TEXT, PRIMARY KEY (name, host));
      CREATE TABLE conntrack_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO conntrack_meta VALUES ('schema', '1');
      INSERT INTO Accounts VALUES ('alice', 'h', '2024-01-01 00:00:00+00:00');
      INSERT INTO Accounts VALUES ('mysql', 'localhost', '2024-01-01 00:00:00+00:00');`);
    db.close();
    const store = Store.open(path);
    assert.equal(store.adopted, false);
    const zone = new Zone("UTC");
    assert.deepEqual(
      store.mergeLogins([["alice", "h", Date.UTC(2024, 5, 1)], ["bob", "h", 0]], zone),
      { inserted: 1, updated: 1 },
    );
    store.commit();
    assert.match(await schemaOf(path), /last_seen TEXT/);
    const check = new DatabaseSync(path, { readOnly: true });
    assert.deepEqual(
      check.prepare("SELECT name, last_seen FROM Accounts ORDER BY name").all().map((r) =>
        `${r.name} ${r.last_seen}`
      ),
      [
        "alice 2024-06-01 00:00:00+00:00",
        "bob 1970-01-01 00:00:00+00:00",
        "mysql 2024-01-01 00:00:00+00:00", // ours already: a real account, not a marker
      ],
    );
    check.close();
  });
});
