import assert from "node:assert/strict";
import {
  CHUNK_CHARS,
  escapeLabelValue,
  expositionChunks,
  type Family,
  renderExposition,
} from "./exposition.ts";

const GOLDEN = new URL("./testdata/exposition.golden.prom", import.meta.url);

Deno.test("exposition: output matches the golden file (HELP/TYPE, escaping, no timestamps)", async () => {
  const text = renderExposition([
    {
      name: "mysql_user_storage_bytes",
      help: "Bytes used by the user's schemas.\nSecond line \\ backslash.",
      type: "gauge",
      samples: [
        { labels: { server: "db1", user: "alice", shard: "0" }, value: 1536 },
        { labels: { server: "db1", user: 'o\'brien "the\\great"\nx', shard: "0" }, value: 0 },
      ],
    },
    { name: "mysql_monitor_errors_total", help: "Failed scans.", type: "counter", samples: [] },
    {
      name: "mysql_monitor_scan_duration_seconds",
      help: "Duration.",
      type: "gauge",
      samples: [{ labels: {}, value: 0.25 }, { labels: { server: "x" }, value: NaN }],
    },
  ]);
  // Compared with the committed file as read before anything is written: UPDATE_GOLDEN=1 rewrites
  // it for review, and this run still fails on the difference. Never on CI.
  const committed = await Deno.readTextFile(GOLDEN);
  if (Deno.env.get("UPDATE_GOLDEN")) {
    assert.ok(
      !Deno.env.get("CI"),
      "UPDATE_GOLDEN is set on CI: golden files are only compared there",
    );
    if (text !== committed) await Deno.writeTextFile(GOLDEN, text);
  }
  assert.equal(text, committed, "output differs from testdata/exposition.golden.prom");
});

Deno.test("exposition: label escaping and metric name checks", () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assert.throws(() =>
    renderExposition([{ name: "bad-name", help: "", type: "gauge", samples: [] }])
  );
});

Deno.test("exposition: the chunked rendering is the same text, in bounded pieces", async () => {
  const families: Family[] = [
    { name: "a_bytes", help: "A.", type: "gauge", samples: [] },
    {
      name: "b_bytes",
      help: "B.",
      type: "gauge",
      samples: Array.from({ length: 5000 }, (_, i) => ({
        labels: { server: "db1", user: `u${i}"\\` },
        value: i * 1.5,
      })),
    },
  ];
  let pauses = 0;
  const chunks: string[] = [];
  for await (const c of expositionChunks(families, () => void pauses++)) chunks.push(c);
  const whole = renderExposition(families);
  assert.equal(chunks.join(""), whole);
  assert.ok(whole.length > 2 * CHUNK_CHARS, "the test text spans several chunks");
  assert.ok(chunks.length >= 3);
  for (const c of chunks) assert.ok(c.length > 0 && c.length < CHUNK_CHARS + 200);
  assert.equal(pauses, 2 + 5000, "a pause after each piece");
});
