import assert from "node:assert/strict";
import { renderTable } from "./table.ts";

Deno.test("table: aligned columns, failed servers listed, control characters escaped", () => {
  const text = renderTable([
    {
      server: "db1",
      up: true,
      durationSec: 0.1,
      errorsTotal: 0,
      stale: false,
      users: [
        {
          user: "alice",
          usage: 3 * 1024 ** 3,
          soft: 2 * 1024 ** 3,
          hard: 4 * 1024 ** 3,
          locked: false,
          status: "over soft",
          actions: ["warned"],
        },
        { user: "b\nob", usage: 10, hard: 100, locked: true, status: "locked", actions: [] },
      ],
    },
    {
      server: "db2",
      up: false,
      error: "connect ECONNREFUSED",
      durationSec: 0,
      errorsTotal: 1,
      stale: false,
      users: [],
    },
  ]);
  assert.equal(
    text,
    [
      "SERVER  USER   USAGE  SOFT  HARD  STATE        ACTION",
      "db1     alice  3GiB   2GiB  4GiB  over soft    warned",
      "db1     b\\nob  10B    -     100B  locked       -",
      "db2     -      -      -     -     scan failed  none (connect ECONNREFUSED)",
    ].join("\n"),
  );
});
