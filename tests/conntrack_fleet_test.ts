import assert from "node:assert/strict";
import { type Sandbox, sandbox, settle } from "./support/conntrack.ts";
import {
  documentedSetup,
  dropStoreIni,
  FLEET_DB,
  HOST_PASSWORD,
  mariadbClient,
  startCentral,
  storeIni,
} from "./support/fleet.ts";
import { MariaDB } from "./support/mariadb.ts";
import mysql from "mysql2/promise";
import { runCli } from "./support/cli.ts";
import { moduleRef, startScript } from "./support/child_script.ts";
import { loadConntrackConfig } from "../src/config/conntrack_ini.ts";
import { runConntrack } from "../src/conntrack/run.ts";
import { readLocal } from "../src/report/sources.ts";

const line = (day: string, time: string, user: string, host: string, id: number, rc = 0) =>
  `202403${day} ${time},srv,${user},${host},${id},0,${rc ? "FAILED_CONNECT" : "CONNECT"},,,${rc}\n`;

async function append(box: Sandbox, text: string): Promise<void> {
  await Deno.writeTextFile(`${box.auditDir}/server_audit.log`, text, { append: true });
  await settle(box.auditDir);
}

Deno.test("fleet: two servers feed one central table; reruns and a run killed before its local commit change nothing; report reads it back", async () => {
  await using central = await startCentral(["db1", "db2"]);
  await using db1 = await sandbox();
  await using db2 = await sandbox();

  // db1 is in fleet mode from the start; db2 ran locally first and joins later (all its rows
  // are sent on its first fleet run).
  await storeIni(db1, central, "db1");
  await append(
    db1,
    line("01", "10:00:00", "alice", "10.0.0.1", 1) + line("01", "10:00:05", "bob", "10.0.0.2", 2) +
      line("01", "10:00:10", "alice", "10.0.0.1", 3, 1045),
  );
  await append(
    db2,
    line("02", "09:00:00", "alice", "10.0.0.7", 1) +
      line("02", "09:00:01", "carol", "10.9.9.9", 2) +
      line("02", "09:00:02", "carol", "10.9.9.9", 3, 1045) +
      line("02", "09:00:03", "carol", "10.9.9.9", 4, 1045),
  );
  let r = await db2.run();
  assert.equal(r.code, 0, r.stderr);
  await storeIni(db2, central, "db2");

  const rows = async () =>
    (await central.query<Record<string, unknown>>(
      "SELECT server, name, host, last_seen, last_seen_ts FROM conntrack.conntrack_accounts ORDER BY server, name, host",
    )).map((x) => `${x.server}|${x.name}|${x.host}|${x.last_seen}|${x.last_seen_ts}`);
  const events = async () =>
    (await central.query<Record<string, unknown>>(
      "SELECT server, kind, name, host, last_seen, last_retcode, count FROM conntrack.conntrack_events ORDER BY server, name",
    )).map((x) =>
      `${x.server}|${x.kind}|${x.name}|${x.host}|${x.last_seen}|${x.last_retcode}|${x.count}`
    );
  const ts = (iso: string) => Date.parse(iso) / 1000;
  const expected = [
    `db1|alice|10.0.0.1|2024-03-01 10:00:00+00:00|${ts("2024-03-01T10:00:00Z")}`,
    `db1|bob|10.0.0.2|2024-03-01 10:00:05+00:00|${ts("2024-03-01T10:00:05Z")}`,
    `db2|alice|10.0.0.7|2024-03-02 09:00:00+00:00|${ts("2024-03-02T09:00:00Z")}`,
    `db2|carol|10.9.9.9|2024-03-02 09:00:01+00:00|${ts("2024-03-02T09:00:01Z")}`,
  ];
  const expectedEvents = [
    "db1|failed|alice|10.0.0.1|2024-03-01 10:00:10+00:00|1045|1",
    "db2|failed|carol|10.9.9.9|2024-03-02 09:00:03+00:00|1045|2",
  ];
  for (let pass = 0; pass < 2; pass++) {
    for (const box of [db1, db2]) {
      r = await box.run("-v");
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        pass === 0 ? /; [1-9]\d* rows sent to the central store$/m : /; 0 rows sent/,
      );
    }
    assert.deepEqual(await rows(), expected, `pass ${pass}`);
    assert.deepEqual(await events(), expectedEvents, `pass ${pass}`);
  }

  // New data on db1; the run is killed after writing the central store and before its local
  // commit (simulated by a throw at that point: the SQLite transaction rolls back exactly as
  // on SIGKILL).
  await append(
    db1,
    line("03", "08:00:00", "alice", "10.0.0.1", 4) +
      line("03", "08:00:01", "alice", "10.0.0.1", 5, 1045) +
      line("03", "08:00:02", "dave", "10.0.0.3", 6),
  );
  const config = await loadConntrackConfig(db1.ini);
  await assert.rejects(
    runConntrack(config, {
      beforeCommit: () => {
        throw new Error("simulated kill");
      },
    }),
    /simulated kill/,
  );
  const afterKill = [
    `db1|alice|10.0.0.1|2024-03-03 08:00:00+00:00|${ts("2024-03-03T08:00:00Z")}`,
    expected[1],
    `db1|dave|10.0.0.3|2024-03-03 08:00:02+00:00|${ts("2024-03-03T08:00:02Z")}`,
    ...expected.slice(2),
  ];
  const eventsAfter = [
    "db1|failed|alice|10.0.0.1|2024-03-03 08:00:01+00:00|1045|2",
    expectedEvents[1],
  ];
  assert.deepEqual(await rows(), afterKill);
  assert.deepEqual(db1.accounts(), [
    "alice|10.0.0.1|2024-03-01 10:00:00+00:00",
    "bob|10.0.0.2|2024-03-01 10:00:05+00:00",
  ], "the local transaction was rolled back");
  // The rerun reads the same bytes again: the same rows, and the failed count stays 2.
  for (let pass = 0; pass < 2; pass++) {
    r = await db1.run();
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await rows(), afterKill);
    assert.deepEqual(await events(), eventsAfter);
  }
  assert.deepEqual(
    db1.accounts(),
    afterKill.slice(0, 3).map((x) => x.split("|").slice(1, 4).join("|")),
  );

  // The report reads the central table, by reporting server.
  await central.query("CREATE USER 'alice'@'10.0.0.0/255.255.255.0'");
  await central.query("CREATE USER 'carol'@'%'");
  const report = (box: Sandbox, ...args: string[]) =>
    runCli(["conntrack", "report", "-c", box.ini, "--server", central.socket, "--json", ...args], {
      read: [box.dir, central.dir],
      write: [central.socket],
    });
  const summary = (doc: {
    reported_by: string;
    accounts: {
      user: string;
      host: string;
      last_seen: string | null;
      failed_logins: { count: number };
    }[];
    unmatched: { name: string; host: string }[];
  }) => ({
    by: doc.reported_by,
    accounts: doc.accounts.filter((a) => a.user === "alice" || a.user === "carol").map((a) =>
      `${a.user}@${a.host}|${a.last_seen}|${a.failed_logins.count}`
    ),
    unmatched: doc.unmatched.map((u) => `${u.name}@${u.host}`),
  });
  let rep = await report(db1);
  assert.equal(rep.code, 0, rep.stderr);
  assert.deepEqual(summary(JSON.parse(rep.stdout)), {
    by: "db1",
    accounts: ["alice@10.0.0.0/255.255.255.0|2024-03-03 08:00:00+00:00|2", "carol@%|null|0"],
    unmatched: ["bob@10.0.0.2", "dave@10.0.0.3"],
  });
  rep = await report(db1, "--reported-by", "db2");
  assert.equal(rep.code, 0, rep.stderr);
  assert.deepEqual(summary(JSON.parse(rep.stdout)), {
    by: "db2",
    accounts: [
      "alice@10.0.0.0/255.255.255.0|2024-03-02 09:00:00+00:00|0",
      "carol@%|2024-03-02 09:00:01+00:00|2",
    ],
    unmatched: [],
  });

  // A wrong password: exit 1, nothing committed locally, the password never printed.
  await dropStoreIni(db2);
  await storeIni(db2, central, "db2", { password: "not the password" });
  await append(db2, line("04", "00:00:00", "carol", "10.9.9.9", 9));
  const before = db2.accounts();
  r = await db2.run();
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /central store mysql:\/\/db2@127\.0\.0\.1:\d+\/conntrack: cannot connect to db2@127\.0\.0\.1:\d+: Access denied/,
  );
  assert.doesNotMatch(r.stderr, /not the password|tr pw/);
  assert.deepEqual(db2.accounts(), before);
});

/** `count` logins from distinct (user, host) pairs, every 7th one failed, one second apart. */
function manyLogins(day: string, count: number, idBase: number): string {
  let out = "";
  for (let i = 0; i < count; i++) {
    const time = `${String(Math.floor(i / 3600) % 24).padStart(2, "0")}:${
      String(Math.floor(i / 60) % 60).padStart(2, "0")
    }:${String(i % 60).padStart(2, "0")}`;
    const host = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    out += line(day, time, `u${i % 5000}`, host, idBase + i, i % 7 === 0 ? 1045 : 0);
  }
  return out;
}

Deno.test("fleet: conntrack killed with SIGKILL while sending rows; the rerun gives exactly the rows of an unkilled run", async () => {
  await using central = await startCentral(["ref", "victim"]);
  await using ref = await sandbox();
  await using victim = await sandbox();
  await storeIni(ref, central, "ref");
  await storeIni(victim, central, "victim");
  const partA = manyLogins("01", 20_000, 1);
  const partB = manyLogins("02", 30_000, 100_000);
  for (const box of [ref, victim]) {
    await append(box, partA);
    const r = await box.run();
    assert.equal(r.code, 0, r.stderr);
  }
  for (const box of [ref, victim]) await append(box, partB);
  const r = await ref.run();
  assert.equal(r.code, 0, r.stderr);

  const rows = async (server: string) =>
    (await central.query<Record<string, unknown>>(
      "SELECT name, host, last_seen, last_seen_ts FROM conntrack.conntrack_accounts WHERE server = ? ORDER BY name, host",
      [server],
    )).map((x) => `${x.name}|${x.host}|${x.last_seen}|${x.last_seen_ts}`);
  const events = async (server: string) =>
    (await central.query<Record<string, unknown>>(
      "SELECT kind, name, host, last_seen, count FROM conntrack.conntrack_events WHERE server = ? ORDER BY kind, name, host",
      [server],
    )).map((x) => `${x.kind}|${x.name}|${x.host}|${x.last_seen}|${x.count}`);
  const sent = async () =>
    Number(
      (await central.query<{ n: unknown }>(
        "SELECT COUNT(*) AS n FROM conntrack.conntrack_events WHERE server = 'victim' AND last_seen LIKE '2024-03-02%'",
      ))[0].n,
    );

  // Kill the victim between its central writes and its local commit: the run, in a child
  // process, stops itself at that point (the beforeCommit hook) and says so; then SIGKILL.
  const localBefore = victim.accounts();
  const child = await startScript(`
    import { loadConntrackConfig } from ${
    moduleRef("../src/config/conntrack_ini.ts", import.meta.url)
  };
    import { runConntrack } from ${moduleRef("../src/conntrack/run.ts", import.meta.url)};
    const config = await loadConntrackConfig(${JSON.stringify(victim.ini)});
    await runConntrack(config, {
      beforeCommit() {
        Deno.stdout.writeSync(new TextEncoder().encode("central written\\n"));
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // until killed
      },
    });
    console.log("finished without stopping");
  `);
  try {
    assert.equal(child.firstLine, "central written");
    assert.ok((await sent()) > 0, "no event row reached the central store before the commit");
  } finally {
    await child.kill();
  }
  assert.deepEqual(
    readLocal(victim.sqlite).seen.map((x) => `${x.name}|${x.host}|${x.lastSeen}`).sort(),
    localBefore,
    "the local commit did not happen (the report reads the file despite its hot journal)",
  );
  for (let pass = 0; pass < 2; pass++) {
    const again = await victim.run();
    assert.equal(again.code, 0, again.stderr);
  }
  const want = await rows("ref");
  assert.equal(want.length, 30_000 - Math.ceil(30_000 / 7)); // distinct successful pairs
  assert.deepEqual(await rows("victim"), want);
  const wantEvents = await events("ref");
  // Ground truth: failed pairs of part B with i < 20 000 also failed in part A.
  const truth = new Map<string, number>();
  for (let i = 0; i < 30_000; i += 7) {
    truth.set(
      `u${i % 5000}|10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      i < 20_000 ? 2 : 1,
    );
  }
  assert.deepEqual(
    wantEvents.map((e) => e.split("|")).map((f) => `${f[1]}|${f[2]}|${f[4]}`).sort(),
    [...truth].map(([k, n]) => `${k}|${n}`).sort(),
  );
  assert.deepEqual(await events("victim"), wantEvents);
  assert.deepEqual(victim.accounts(), ref.accounts());
});

/** Central rows of both tables, for before/after comparisons. */
async function dump(central: MariaDB): Promise<string[]> {
  const rows = await central.query<Record<string, unknown>>(
    "SELECT 'a' AS t, server, name, host, last_seen_ts, last_seen, 0 AS count FROM conntrack.conntrack_accounts UNION ALL SELECT kind, server, name, host, last_seen_ts, last_seen, count FROM conntrack.conntrack_events ORDER BY 1, 2, 3, 4",
  );
  return rows.map((r) => Object.values(r).map(String).join("|"));
}

/** `YYYY-MM-DD HH:MM:SS+00:00` of Unix time `ts`. */
function stored(ts: number): string {
  return new Date(ts * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, "+00:00");
}

Deno.test("fleet: a host writes only its own rows, and no time from the future gets in on either side", async () => {
  await using central = await startCentral(["db1", "db2"]);
  await using db1 = await sandbox();
  await using db2 = await sandbox();
  await storeIni(db1, central, "db1");
  await append(
    db1,
    line("01", "10:00:00", "alice", "10.0.0.1", 1) +
      line("01", "10:00:05", "alice", "10.0.0.1", 2, 1045),
  );
  let r = await db1.run();
  assert.equal(r.code, 0, r.stderr);
  const before = await dump(central);
  assert.equal(before.length, 2);

  // db2's account (or whoever has its password) goes for db1's rows directly.
  const conn = await mysql.createConnection({
    host: "127.0.0.1",
    port: central.port,
    user: "db2",
    password: HOST_PASSWORD,
    database: FLEET_DB,
  });
  const now = Math.floor(Date.now() / 1000);
  const year2100 = Date.UTC(2100, 0, 1) / 1000;
  const attempts: [string, unknown[], RegExp][] = [
    [
      "INSERT INTO conntrack_accounts VALUES ('db1', 'mallory', '10.6.6.6', ?, ?)",
      [now, stored(now)],
      /a host may only write the rows of its own ServerName/,
    ],
    [
      "INSERT INTO conntrack_accounts VALUES ('db1', 'alice', '10.0.0.1', ?, ?) ON DUPLICATE KEY UPDATE last_seen_ts = VALUES(last_seen_ts), last_seen = VALUES(last_seen)",
      [now, stored(now)],
      /a host may only write the rows of its own ServerName/,
    ],
    [
      "UPDATE conntrack_accounts SET last_seen_ts = ?, last_seen = ? WHERE server = 'db1'",
      [now, stored(now)],
      /a host may only write the rows of its own ServerName/,
    ],
    [
      "UPDATE conntrack_accounts SET server = 'db2' WHERE server = 'db1'",
      [],
      /a host may only write the rows of its own ServerName/,
    ],
    [
      "UPDATE conntrack_events SET count = 0 WHERE server = 'db1'",
      [],
      /a host may only write the rows of its own ServerName/,
    ],
    [
      "INSERT INTO conntrack_accounts VALUES ('db2 ', 'bob', 'h', ?, ?)",
      [now, stored(now)],
      /a host may only write the rows of its own ServerName/,
    ],
    ["DELETE FROM conntrack_accounts WHERE server = 'db1'", [], /DELETE command denied/],
    ["DROP TRIGGER conntrack_accounts_insert_guard", [], /denied/],
    // Its own rows, but in 2100, or with a text that says something else than the number.
    [
      "INSERT INTO conntrack_accounts VALUES ('db2', 'bob', 'h', ?, ?)",
      [year2100, stored(year2100)],
      /last_seen is in the future/,
    ],
    [
      "INSERT INTO conntrack_accounts VALUES ('db2', 'bob', 'h', ?, ?)",
      [now, stored(year2100)],
      /do not state the same time/,
    ],
    [
      "INSERT INTO conntrack_accounts VALUES ('db2', 'bob', 'h', ?, 'yesterday')",
      [now],
      /do not state the same time/,
    ],
  ];
  try {
    for (const [sql, values, refusal] of attempts) {
      await assert.rejects(conn.query(sql, values), refusal, sql);
    }
    // Its own row, on time: accepted.
    await conn.query("INSERT INTO conntrack_accounts VALUES ('db2', 'bob', 'h', ?, ?)", [
      now - 60,
      stored(now - 60),
    ]);
    // A text the server reads leniently (and this program cannot): accepted, but the report
    // goes by the number.
    await conn.query("INSERT INTO conntrack_accounts VALUES ('db2', 'carl', 'h', ?, ?)", [
      Date.UTC(2024, 2, 1, 12) / 1000,
      "2024-03-01 12:00:00+0x:00",
    ]);
  } finally {
    await conn.end();
  }
  assert.deepEqual((await dump(central)).filter((l) => l.split("|")[1] === "db1"), before);
  const rep = await runCli(
    ["conntrack", "report", "-c", db1.ini, "--server", central.socket, "--json"].concat(
      ["--reported-by", "db2"],
    ),
    { read: [db1.dir, central.dir], write: [central.socket] },
  );
  assert.equal(rep.code, 0, rep.stderr);
  assert.deepEqual(
    JSON.parse(rep.stdout).unmatched.map((u: { name: string; last_seen: string }) =>
      `${u.name}|${u.last_seen}`
    ),
    [`bob|${stored(now - 60)}`, "carl|2024-03-01 12:00:00+00:00"],
  );

  // The program refuses to send under another host's name before touching the store.
  await storeIni(db2, central, "db1", { user: "db2" });
  await append(db2, line("01", "11:00:00", "carol", "10.0.0.3", 1));
  r = await db2.run();
  assert.equal(r.code, 78, r.stderr);
  assert.match(r.stderr, /the Store account "db2" must be named like ServerName "db1"/);
  assert.throws(() => db2.accounts(), /no such table/, "nothing committed locally");

  // A login dated in 2100 (refused by the parser: far after the file's last write), then, in
  // a later run, one three hours ahead (a broken clock; the parser only warns): neither is
  // recorded nor sent.
  await append(db1, "21000101 00:00:00,srv,eve,10.0.0.9,9,0,CONNECT,,,0\n");
  r = await db1.run();
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /rejected: "dated more than a day after the file was last written"/);
  const ahead = new Date(Date.now() + 3 * 3_600_000).toISOString()
    .replace(/^(\d+)-(\d+)-(\d+)T([\d:]+)\..*$/, "$1$2$3 $4");
  // Ordinary queries of that time keep the login out of the refused line's reach.
  const queries = Array.from(
    { length: 24 },
    (_, i) => `${ahead},srv,app,10.0.0.9,11,${i},QUERY,shop,'SELECT ${i} FROM orders',0\n`,
  ).join("");
  await append(db1, queries + `${ahead},srv,fay,10.0.0.9,12,0,CONNECT,,,0\n` + queries);
  r = await db1.run();
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /1 events dated more than an hour after now were not recorded/);
  assert.ok(
    !db1.accounts().some((a) => a.startsWith("eve|") || a.startsWith("fay|")),
    db1.accounts().join("\n"),
  );
  assert.deepEqual((await dump(central)).filter((l) => l.split("|")[1] === "db1"), before);
});

Deno.test("fleet: 'root ' and 'root' stay two keys, locally and centrally, also in a store of an earlier version once migrated", async () => {
  await using central = await MariaDB.start();
  // A store as earlier versions made it: utf8mb4_bin (PAD SPACE) keys, no guard.
  const oldKey = "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL";
  await central.query("CREATE DATABASE conntrack");
  await central.query(`CREATE TABLE conntrack.conntrack_accounts (
    server VARCHAR(64) ${oldKey}, name VARCHAR(384) ${oldKey}, host VARCHAR(255) ${oldKey},
    last_seen_ts BIGINT NOT NULL, last_seen VARCHAR(64) ${oldKey},
    PRIMARY KEY (server, name, host)) ENGINE=InnoDB`);
  await central.query(`CREATE TABLE conntrack.conntrack_events (
    server VARCHAR(64) ${oldKey}, kind VARCHAR(16) ${oldKey}, name VARCHAR(384) ${oldKey},
    host VARCHAR(255) ${oldKey}, last_seen_ts BIGINT NOT NULL, last_seen VARCHAR(64) ${oldKey},
    last_retcode INT NOT NULL, count BIGINT NOT NULL,
    PRIMARY KEY (server, kind, name, host)) ENGINE=InnoDB`);
  await central.query(
    "INSERT INTO conntrack.conntrack_accounts VALUES ('db1', 'old', 'h', 1709287200, '2024-03-01 10:00:00+00:00')",
  );
  // The collision this is about, shown on the old table.
  await central.query(
    "INSERT INTO conntrack.conntrack_accounts VALUES ('x', 'root ', 'h', 1, '1970-01-01 00:00:01+00:00')",
  );
  await assert.rejects(
    central.query(
      "INSERT INTO conntrack.conntrack_accounts VALUES ('x', 'root', 'h', 1, '1970-01-01 00:00:01+00:00')",
    ),
    /Duplicate entry/,
  );
  await central.query("DELETE FROM conntrack.conntrack_accounts WHERE server = 'x'");

  await using db1 = await sandbox();
  await storeIni(db1, central, "db1");
  const pair = line("01", "09:00:00", "root ", "localhost", 1, 1045) +
    [2, 3, 4, 5, 6].map((i) => line("01", `09:00:0${i}`, "root", "localhost", i, 1045)).join("");
  await append(db1, pair);

  // The host account of the docs, but without the guard and without ALTER: nothing is sent.
  await mariadbClient(
    central,
    (await documentedSetup(["db1"])).replace(/DELIMITER \/\/[\s\S]*DELIMITER ;/, ""),
  );
  let r = await db1.run();
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /cannot convert the key columns to VARBINARY \(ALTER command denied.*docs\/fleet\.md \("Upgrading a central store made by an earlier version"\)/,
  );
  // With ALTER, the run converts the keys, then stops: still no guard.
  for (const t of ["conntrack_accounts", "conntrack_events"]) {
    await central.query(`GRANT ALTER ON conntrack.${t} TO 'db1'@'127.0.0.1'`);
  }
  r = await db1.run();
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /the tables have no guard, so any host could overwrite/);
  assert.throws(() => db1.accounts(), /no such table/, "nothing committed locally");
  // The administrator runs the whole documented block: the guard is there.
  await mariadbClient(central, await documentedSetup(["db1"]));
  r = await db1.run();
  assert.equal(r.code, 0, r.stderr);
  const types = await central.query<{ c: string; t: string }>(
    "SELECT CONCAT(TABLE_NAME, '.', COLUMN_NAME) AS c, DATA_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'conntrack' AND COLUMN_NAME IN ('server', 'kind', 'name', 'host') ORDER BY 1",
  );
  assert.deepEqual(types.map((x) => `${x.c}:${x.t}`), [
    "conntrack_accounts.host:varbinary",
    "conntrack_accounts.name:varbinary",
    "conntrack_accounts.server:varbinary",
    "conntrack_events.host:varbinary",
    "conntrack_events.kind:varbinary",
    "conntrack_events.name:varbinary",
    "conntrack_events.server:varbinary",
  ]);
  assert.deepEqual(await dump(central), [
    "a|db1|old|h|1709287200|2024-03-01 10:00:00+00:00|0",
    "failed|db1|root|localhost|1709283606|2024-03-01 09:00:06+00:00|5",
    "failed|db1|root |localhost|1709283600|2024-03-01 09:00:00+00:00|1",
  ]);
  assert.deepEqual(
    readLocal(db1.sqlite).failed.map((f) => `${JSON.stringify(f.name)}:${f.count}`).sort(),
    ['"root ":1', '"root":5'],
  );

  // The report of db1 from the central store: root has its 5 failed logins.
  const rep = await runCli(
    ["conntrack", "report", "-c", db1.ini, "--server", central.socket, "--json"],
    { read: [db1.dir, central.dir], write: [central.socket] },
  );
  assert.equal(rep.code, 0, rep.stderr);
  const doc = JSON.parse(rep.stdout);
  const root = doc.accounts.find((a: { user: string; host: string }) =>
    a.user === "root" && a.host === "localhost"
  );
  assert.equal(root.failed_logins.count, 5);
  assert.deepEqual(
    doc.unmatched.map((u: { name: string; failed_logins: { count: number } }) =>
      `${JSON.stringify(u.name)}:${u.failed_logins.count}`
    ),
    ['"old":0', '"root ":1'],
  );
});
