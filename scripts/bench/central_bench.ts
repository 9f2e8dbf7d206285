/**
 * Benchmark of the fleet store's guard: the cost of the triggers that keep each host to its own
 * rows, on a throwaway MariaDB set up from docs/fleet.md. For each round, in the same server:
 * N new rows inserted, then the same N rows upserted with other times (half newer, half older),
 * with the guard and with the triggers dropped (the floor). Prints figures, asserts nothing.
 *
 * Run: deno run -P=test scripts/bench/central_bench.ts [--rows N] [--rounds N]
 * @module
 */
import { parseArgs } from "node:util";
import { HOST_PASSWORD, startCentral } from "../../tests/support/fleet.ts";
import { Central } from "../../src/conntrack/central.ts";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "30000" },
    rounds: { type: "string", default: "3" },
  },
});
const ROWS = Number(values.rows);
const ROUNDS = Number(values.rounds);

await using central = await startCentral(["h"]);
const dir = await Deno.makeTempDir({ prefix: "mmd-central-bench-" });
try {
  await Deno.writeTextFile(`${dir}/p`, `${HOST_PASSWORD}\n`, { mode: 0o600 });
  await Deno.chmod(`${dir}/p`, 0o600);
  const store = {
    host: "127.0.0.1",
    port: central.port,
    user: "h",
    database: "conntrack",
    passwordFile: `${dir}/p`,
    display: "bench",
  };
  const rows = (shift: number) =>
    Array.from({ length: ROWS }, (_, i) => ({
      name: `u${i}`,
      host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      lastSeen: `2024-03-01 10:${String((i + shift) % 60).padStart(2, "0")}:00+00:00`,
    }));
  const triggers = ["conntrack_accounts_insert_guard", "conntrack_accounts_update_guard"];
  const saved = await Promise.all(triggers.map(async (t) => {
    const [row] = await central.query<Record<string, string>>(
      `SHOW CREATE TRIGGER conntrack.${t}`,
    );
    return row["SQL Original Statement"];
  }));
  const time = async (guard: boolean) => {
    await central.query("DELETE FROM conntrack.conntrack_accounts");
    const c = await Central.open(store);
    try {
      let t = performance.now();
      await c.pushAccounts("h", rows(0));
      const insert = performance.now() - t;
      t = performance.now();
      await c.pushAccounts("h", rows(1));
      const upsert = performance.now() - t;
      console.log(
        `${guard ? "guard   " : "no guard"}  insert ${ROWS} rows ${insert.toFixed(0)} ms, ` +
          `upsert ${ROWS} rows ${upsert.toFixed(0)} ms`,
      );
      return { insert, upsert };
    } finally {
      await c.close();
    }
  };
  for (let round = 1; round <= ROUNDS; round++) {
    console.log(`round ${round}`);
    const g = await time(true);
    for (const t of triggers) await central.query(`DROP TRIGGER conntrack.${t}`);
    const floor = await time(false);
    await central.query("USE conntrack");
    for (const sql of saved) await central.query(sql);
    console.log(
      `          ratio to the floor: insert ${(g.insert / floor.insert).toFixed(2)}, ` +
        `upsert ${(g.upsert / floor.upsert).toFixed(2)}`,
    );
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
