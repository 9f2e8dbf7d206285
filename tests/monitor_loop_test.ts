/**
 * The hooks the daemon lifecycle builds on, in process: `loadConfig` + `Monitor.reload` swap the
 * configuration of a running loop, `runCycle` never overlaps itself, `stop` ends the loop.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../src/config/config.ts";
import { Monitor } from "../src/monitor/monitor.ts";
import { setupLogging, teardownLogging } from "../src/system/log.ts";
import { MariaDB } from "./support/mariadb.ts";
import { until, within } from "./support/wait.ts";
import {
  createMonitorAccount,
  fillSchema,
  isLocked,
  Sandbox,
  socketServer,
} from "./support/monitor_fixture.ts";

Deno.test("loop: reload swaps the limits of a running monitor; cycles do not overlap; stop ends it", async () => {
  const lines: string[] = [];
  await setupLogging({ target: { lines } });
  await using db = await MariaDB.start();
  await createMonitorAccount(db);
  await db.query("CREATE USER 'hank'@'%' IDENTIFIED BY 'x'");
  await fillSchema(db, "hank", 256);
  await using sb = await Sandbox.create([db]);
  await sb.writeConf(
    sb.globals() + socketServer(db, "db1", "schema_mapping=name\nmonitor_interval_sec=1\n"),
  );
  await sb.writeUsers("hank,1G,2G\n");
  const first = await loadConfig(sb.dir);
  const monitor = new Monitor(first, { debug: 2, shard: 0, shards: 1 });

  // Two concurrent cycles are one cycle.
  const [a, b] = [monitor.runCycle(), monitor.runCycle()];
  assert.equal(a, b);
  assert.equal((await a)[0].up, true);

  const loop = monitor.run();
  await sb.writeUsers("hank,10K,100K\n");
  const second = await loadConfig(sb.dir);
  assert.notEqual(second, first);
  monitor.reload(second);
  assert.equal(monitor.config, second);
  await until("the reloaded limit applied (hank locked)", () => isLocked(db, "hank", "%"));
  assert.ok(Object.isFrozen(first) && first.users[0].hard === 2 * 1024 ** 3, "old config changed");

  // stop() ends the loop: `run()` settles (the guard only catches a loop that never ends).
  await within("the loop's end after stop()", monitor.stop().then(() => loop));
  assert.ok(lines.some((l) => /locked "?hank@%"?/.test(l)), lines.join("\n"));
  await teardownLogging();
});
