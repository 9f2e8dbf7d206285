import assert from "node:assert/strict";
import { AuditParser, type ConnEvent, splitHostPort } from "./parser.ts";
import { Zone } from "./tz.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const UTC = new Zone("UTC");

function parse(text: string, chunks = 1): { events: ConnEvent[]; parser: AuditParser } {
  const bytes = enc.encode(text);
  const parser = new AuditParser({
    zone: UTC,
    startOffset: 0,
    countLines: (offset) => bytes.subarray(0, offset).filter((b) => b === 10).length,
  });
  const events: ConnEvent[] = [];
  // Split at line ends into roughly `chunks` pieces.
  let from = 0;
  for (let k = 1; k <= chunks; k++) {
    const to = k === chunks
      ? bytes.length
      : bytes.lastIndexOf(10, Math.floor((bytes.length * k) / chunks)) + 1;
    if (to <= from) continue;
    events.push(...parser.feed(dec.decode(bytes.subarray(from, to)), from));
    from = to;
  }
  events.push(...parser.finish());
  return { events, parser };
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
  const parser = new AuditParser({ zone: UTC, startOffset: 0 });
  const bytes = new Uint8Array(text.length + garbage.length + 1);
  bytes.set(text);
  bytes.set(garbage, text.length);
  bytes[bytes.length - 1] = 10;
  const events = [...parser.feed(dec.decode(bytes), 0), ...parser.finish()];
  assert.deepEqual(events.map((e) => e.user), ["alice"]);
  assert.equal(parser.malformed, 1);
  assert.ok(parser.rejections.some((r) => r.line === 2 && /earlier/.test(r.reason)));
  assert.ok(parser.rejections.some((r) => r.line === 3 && /timestamp/.test(r.reason)));
});
