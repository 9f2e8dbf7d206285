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

Deno.test("table: under it, 'full in' for users on course within 7 days and the largest tables", () => {
  const text = renderTable([{
    server: "db1",
    up: true,
    durationSec: 0.1,
    errorsTotal: 0,
    stale: false,
    users: [
      {
        user: "a\u001bl",
        usage: 2048,
        soft: 1024,
        hard: 4096,
        locked: false,
        status: "over soft",
        actions: ["warned"],
        forecast: { growthBytesPerHour: 1024, samples: 3, secondsToHardLimit: 2 * 86400 + 1 },
        topTables: [
          { schema: "s", table: "t\nx", bytes: 1536, dataFree: 512 },
          { schema: "s", table: "u", bytes: 512 },
        ],
      },
      {
        user: "bo",
        usage: 10,
        hard: 100,
        locked: false,
        status: "ok",
        actions: [],
        forecast: { growthBytesPerHour: 1, samples: 3, secondsToHardLimit: 8 * 86400 },
      },
    ],
  }]);
  assert.equal(
    text,
    [
      "SERVER  USER    USAGE  SOFT  HARD  STATE      ACTION",
      "db1     a\\x1bl  2KiB   1KiB  4KiB  over soft  warned",
      "db1     bo      10B    -     100B  ok         -",
      "",
      "a\\x1bl on db1: full in ~2 days (growing 1KiB/h)",
      "a\\x1bl on db1: largest tables",
      "  TABLE   SIZE    RECLAIMABLE",
      "  s.t\\nx  1.5KiB  512B",
      "  s.u     512B    -",
    ].join("\n"),
  );
});
