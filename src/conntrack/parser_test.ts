import assert from "node:assert/strict";
import { type ByteOps, jsByteOps, WasmByteOps } from "./byte_ops.ts";
import { AuditParser, type ConnEvent, splitHostPort } from "./parser.ts";
import { Zone } from "./tz.ts";

const enc = new TextEncoder();
const UTC = new Zone("UTC");

/** Feeds `bytes` cut at line ends after each of `cuts`, the way scan.ts does. */
function feedAll(parser: AuditParser, bytes: Uint8Array, cuts: number[]): ConnEvent[] {
  let kept = new Uint8Array(0);
  let base = 0;
  let prev = 0;
  const events: ConnEvent[] = [];
  for (const to of [...cuts, bytes.length]) {
    if (to <= prev) continue;
    const buf = new Uint8Array(kept.length + to - prev);
    buf.set(kept);
    buf.set(bytes.subarray(prev, to), kept.length);
    events.push(...parser.feed(buf, base, kept.length, buf.length));
    kept = buf.slice(parser.keepFrom);
    base += parser.keepFrom;
    prev = to;
  }
  return [...events, ...parser.finish()];
}

function parse(
  text: string,
  chunks = 1,
  ops: ByteOps = jsByteOps,
): { events: ConnEvent[]; parser: AuditParser } {
  const bytes = enc.encode(text);
  const parser = new AuditParser({
    zone: UTC,
    startOffset: 0,
    countLines: (offset) => bytes.subarray(0, offset).filter((b) => b === 10).length,
    ops,
  });
  const cuts = Array.from(
    { length: chunks - 1 },
    (_, k) => bytes.lastIndexOf(10, Math.floor((bytes.length * (k + 1)) / chunks)) + 1,
  );
  return { events: feedAll(parser, bytes, cuts), parser };
}

const brief = (e: ConnEvent) =>
  `${e.op} ${JSON.stringify(e.user)}@${e.host} #${e.connId} rc=${e.retcode}${
    e.multiline ? " multiline" : ""
  }`;

Deno.test("parser: every connection operation, and QUERY lines that only mention them", () => {
  const { events, parser } = parse([
    "20241014 13:22:57,db1,alice,10.0.0.1,5,0,CONNECT,shop,,0",
    "20241014 13:22:57,db1,alice,10.0.0.1,5,7,QUERY,shop,'SELECT \\'x,CONNECT,y\\', \\'1,0,CONNECT,,,0\\'',0",
    "20241014 13:22:58,db1,alice,10.0.0.1,5,8,QUERY,shop,'SELECT \\'a\\\\\\',CHANGEUSER,,,0',0",
    "20241014 13:22:59,db1,bob,localhost,6,0,FAILED_CONNECT,,,1045",
    "20241014 13:22:59,db1,bob,localhost,6,0,DISCONNECT,,,0",
    "20241014 13:23:00,db1,carol,localhost,7,0,CHANGEUSER,,,0",
    "20241014 13:23:01,db1,dave,localhost,8,0,PROXY_CONNECT,,,0",
    "20241014 13:23:02,db1,erin,localhost,9,0,CONNECT,,,1045",
    "",
  ].join("\n"));
  assert.deepEqual(events.map(brief), [
    'CONNECT "alice"@10.0.0.1 #5 rc=0',
    'FAILED_CONNECT "bob"@localhost #6 rc=1045',
    'CHANGEUSER "carol"@localhost #7 rc=0',
    'PROXY_CONNECT "dave"@localhost #8 rc=0',
    'CONNECT "erin"@localhost #9 rc=1045',
  ]);
  assert.equal(events[0].instant, Date.UTC(2024, 9, 14, 13, 22, 57));
  assert.equal(parser.rejections.length, 0);
});

Deno.test("parser: commas and quotes in usernames; MariaDB 12 host:port, IPv6 and TLS objects", () => {
  const { events } = parse([
    "20250101 00:00:00,db1,we,ird,10.0.0.1:5123,5,0,CONNECT,,TLSv1.3,0",
    `20250101 00:00:01,db1,o'brien",[2001:db8::1]:40000,6,0,CONNECT,app,TLSv1.2,0`,
    "20250101 00:00:02,db1,v6,2001:db8::2:3306,7,0,CONNECT,,,0",
    "20250101 00:00:03,db1,mapped,::ffff:10.0.0.1:3306,8,0,CONNECT,,,0",
    "20250101 00:00:04,db1,a,localhost,9,0,CONNECT,,,0",
    "",
  ].join("\n"));
  assert.deepEqual(events.map(brief), [
    'CONNECT "we,ird"@10.0.0.1 #5 rc=0',
    `CONNECT "o'brien\\""@2001:db8::1 #6 rc=0`,
    'CONNECT "v6"@2001:db8::2 #7 rc=0',
    'CONNECT "mapped"@::ffff:10.0.0.1 #8 rc=0',
    'CONNECT "a"@localhost #9 rc=0',
  ]);
  assert.deepEqual(splitHostPort("2001:db8::1", false), { host: "2001:db8::1", port: false });
  assert.deepEqual(splitHostPort("db.example.org:3306", false), {
    host: "db.example.org",
    port: true,
  });
});

Deno.test("parser: a newline in a username cannot forge a login; the record is attributed to its first line", () => {
  const user = "x\n20241014 13:00:00,db1,root,localhost,5,0,CONNECT,,,0\nzz";
  const text = [
    "20241014 13:22:00,db1,alice,10.0.0.1,4,0,CONNECT,,,0",
    ...Array.from(
      { length: 5 },
      (_, i) => `20241014 13:22:00,db1,alice,10.0.0.1,4,${10 + i},QUERY,,'SELECT ${i}',0`,
    ),
    `20241014 13:22:01,db1,${user},localhost,10,0,FAILED_CONNECT,,,1045`,
    `20241014 13:22:01,db1,${user},localhost,10,0,DISCONNECT,,,0`,
    "",
  ].join("\n");
  for (const chunks of [1, 3, 7]) {
    const { events, parser } = parse(text, chunks);
    assert.deepEqual(events.map(brief), [
      'CONNECT "alice"@10.0.0.1 #4 rc=0',
      `FAILED_CONNECT ${JSON.stringify(user)}@localhost #10 rc=1045 multiline`,
      `DISCONNECT ${JSON.stringify(user)}@localhost #10 rc=0 multiline`,
    ], `chunks=${chunks}`);
    assert.ok(
      parser.rejections.some((r) => r.line === 8 && /username/.test(r.reason)),
      JSON.stringify(parser.rejections),
    );
  }
});

Deno.test("parser: forged lines that all start with a timestamp are caught by the twin record and the server host", () => {
  const forged = (t: string) =>
    `a,localhost,1,0,DISCONNECT,,,0\n${t},db1,mallory,localhost,55,0,CONNECT,,,0\n${t},db1,y`;
  const t = "20241014 13:22:01";
  const { events, parser } = parse([
    "20241014 13:22:00,db1,alice,10.0.0.1,4,0,CONNECT,,,0",
    `${t},db1,${forged(t)},localhost,10,0,FAILED_CONNECT,,,1045`,
    `${t},db1,${forged(t)},localhost,10,0,DISCONNECT,,,0`,
    `${t},evilhost,root,localhost,11,0,CONNECT,,,0`,
    "20241014 13:22:09,db1,bob,localhost,55,0,CONNECT,,,0",
    "",
  ].join("\n"));
  const logins = events.filter((e) => e.op === "CONNECT" && e.retcode === 0).map((e) => e.user);
  assert.deepEqual(logins, ["alice", "bob"]);
  assert.ok(parser.rejections.some((r) => /claimed by two login events/.test(r.reason)));
  assert.ok(parser.rejections.some((r) => r.line === 8 && /server host/.test(r.reason)));
});

Deno.test("parser: time going back, malformed timestamps, truncated and binary lines", () => {
  const garbage = new Uint8Array(3000).map((_, i) => (i * 131 + 7) % 256);
  const text = enc.encode([
    "20241014 13:22:00,db1,alice,h,4,0,CONNECT,,,0",
    "20241014 12:00:00,db1,old,h,5,0,CONNECT,,,0",
    "20241399 13:22:00,db1,bad,h,6,0,CONNECT,,,0",
    "20241014 13:22:01,db1,cut,h,7,0,CONN",
    "",
  ].join("\n"));
  const bytes = new Uint8Array(text.length + garbage.length + 1);
  const parser = new AuditParser({
    zone: UTC,
    startOffset: 0,
    countLines: (offset) => bytes.subarray(0, offset).filter((b) => b === 10).length,
  });
  bytes.set(text);
  bytes.set(garbage, text.length);
  bytes[bytes.length - 1] = 10;
  const events = feedAll(parser, bytes, []);
  assert.deepEqual(events.map((e) => e.user), ["alice"]);
  assert.equal(parser.malformed, 1);
  assert.ok(parser.rejections.some((r) => r.line === 2 && /earlier/.test(r.reason)));
  assert.ok(parser.rejections.some((r) => r.line === 3 && /timestamp/.test(r.reason)));
});

Deno.test("byte ops: the WebAssembly search and count agree with the plain implementation", () => {
  const wasm = new WasmByteOps(1 << 16);
  const sample = enc.encode(
    "20241014 13:22:57,db1,USER,h,5,0,CONNECT,,,0\nNECT,USER,NECT USER, xNECT,\n\u00e9USER,",
  );
  for (let round = 0; round < 40; round++) {
    const n = 1 + (round * 977) % 4000;
    for (let i = 0; i < n; i++) {
      wasm.buffer[i] = (i * 7 + round) % 3 === 0
        ? sample[(i + round) % sample.length]
        : (i * 131 + round) & 255;
    }
    const from = round % 7;
    const hits = (ops: ByteOps) => {
      const out: number[] = [];
      ops.markers(wasm.buffer, from, n, (i) => out.push(i));
      return out;
    };
    assert.deepEqual(hits(wasm), hits(jsByteOps), `round ${round}`);
    assert.equal(wasm.newlines(wasm.buffer, from, n), jsByteOps.newlines(wasm.buffer, from, n));
  }
});

Deno.test("parser: the WebAssembly path gives the same events and line numbers across chunks", () => {
  const user = "x\n20241014 13:00:00,db1,root,localhost,5,0,CONNECT,,,0\nzz";
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) {
    lines.push(
      `20241014 13:${String(Math.floor(i / 60) % 60).padStart(2, "0")}:00,db1,u${i % 50},h,${
        i + 10
      },0,CONNECT,,,0`,
    );
    lines.push(
      `20241014 13:${String(Math.floor(i / 60) % 60).padStart(2, "0")}:00,db1,u${i % 50},h,${
        i + 10
      },${i},QUERY,,'SELECT \\'NECT,USER,\\'',0`,
    );
    if (i % 700 === 350) {
      lines.push(
        `20241014 13:${String(Math.floor(i / 60) % 60).padStart(2, "0")}:00,db1,${user},localhost,${
          i + 10
        },0,FAILED_CONNECT,,,1045`,
      );
    }
  }
  const text = lines.join("\n") + "\n";
  const bytes = enc.encode(text);
  const wasm = new WasmByteOps(bytes.length + 1024);
  wasm.buffer.set(bytes);
  const viaWasm = new AuditParser({
    zone: UTC,
    startOffset: 0,
    countLines: (offset) => bytes.subarray(0, offset).filter((b) => b === 10).length,
    ops: wasm,
  });
  const wasmEvents = [...viaWasm.feed(wasm.buffer, 0, 0, bytes.length), ...viaWasm.finish()];
  for (const chunks of [1, 9]) {
    const ref = parse(text, chunks);
    assert.deepEqual(wasmEvents.map(brief), ref.events.map(brief), `chunks=${chunks}`);
    assert.deepEqual(viaWasm.rejections, ref.parser.rejections, `chunks=${chunks}`);
  }
  const logins = wasmEvents.filter((e) => e.op === "CONNECT");
  assert.ok(!logins.some((e) => e.user === "root"));
  // Only the logins within a username's reach before each of the 4 hostile records are lost.
  assert.ok(logins.length >= 3000 - 4 * 2 && logins.length <= 3000, String(logins.length));
  assert.ok(viaWasm.rejections.every((r) => Number.isInteger(r.line)));
});
