import assert from "node:assert/strict";
import { type ByteOps, jsByteOps, WasmByteOps } from "./byte_ops.ts";
import {
  AuditParser,
  type ConnEvent,
  HOLD_BYTES,
  MAX_USER_CHARS,
  type ParserOptions,
  splitHostPort,
} from "./parser.ts";
import { nameBytes } from "./names.ts";
import { Zone } from "../time/tz.ts";

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
  text: string | Uint8Array,
  chunks = 1,
  ops: ByteOps = jsByteOps,
  options: Partial<ParserOptions> = {},
): { events: ConnEvent[]; parser: AuditParser } {
  const bytes = typeof text === "string" ? enc.encode(text) : text;
  const parser = newParser(bytes, ops, options);
  const cuts = Array.from(
    { length: chunks - 1 },
    (_, k) => bytes.lastIndexOf(10, Math.floor((bytes.length * (k + 1)) / chunks)) + 1,
  );
  return { events: feedAll(parser, bytes, cuts), parser };
}

function newParser(
  bytes: Uint8Array,
  ops: ByteOps = jsByteOps,
  options: Partial<ParserOptions> = {},
): AuditParser {
  return new AuditParser({
    zone: UTC,
    startOffset: 0,
    countLines: (offset) => bytes.subarray(0, offset).filter((b) => b === 10).length,
    ops,
    ...options,
  });
}

/**
 * Feeding `bytes` cut once at each line boundary, and cut at all of them (every line its own
 * chunk), gives exactly the events and refusals of `reference` (the input in one piece).
 */
function assertSameAtEveryCut(
  bytes: Uint8Array,
  reference: { events: ConnEvent[]; parser: AuditParser },
): void {
  const boundaries: number[] = [];
  for (let i = bytes.indexOf(10); i >= 0 && i < bytes.length - 1; i = bytes.indexOf(10, i + 1)) {
    boundaries.push(i + 1);
  }
  const same = (events: ConnEvent[], parser: AuditParser, what: string) => {
    assert.deepEqual(events.map(brief), reference.events.map(brief), what);
    assert.deepEqual(parser.rejections, reference.parser.rejections, what);
  };
  for (const cut of boundaries) {
    const parser = newParser(bytes);
    same(feedAll(parser, bytes, [cut]), parser, `cut at ${cut}`);
  }
  const parser = newParser(bytes);
  same(feedAll(parser, bytes, boundaries), parser, "every line its own chunk");
}

/** Successful logins among `events`, as user names. */
const loginsOf = (events: ConnEvent[]) =>
  events.filter((e) => e.op === "CONNECT" && e.retcode === 0 && !e.multiline).map((e) => e.user);

/** A QUERY line of about 200 bytes: keeps records out of each other's username reach. */
const spacer = (t: string, id = 1) =>
  `${t},db1,app,10.0.0.9,${id},${id + 1},QUERY,shop,'SELECT id, name FROM customers WHERE ${
    "x".repeat(120)
  } = 1',0`;

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
    spacer(t),
    `${t},db1,${forged(t)},localhost,10,0,FAILED_CONNECT,,,1045`,
    `${t},db1,${forged(t)},localhost,10,0,DISCONNECT,,,0`,
    spacer(t),
    `${t},evilhost,root,localhost,11,0,CONNECT,,,0`,
    spacer(t),
    // The genuine owner of id 55 is not refused because of the forged copies of its id.
    "20241014 13:22:09,db1,bob,localhost,55,0,CONNECT,,,0",
    "",
  ].join("\n"));
  assert.deepEqual(loginsOf(events), ["alice", "bob"]);
  assert.ok(parser.rejections.some((r) => /appears twice/.test(r.reason)));
  assert.ok(parser.rejections.some((r) => r.line === 10 && /server host/.test(r.reason)));
  // The forged failed login of "y" (the real record's end behind a forged head) is refused too.
  assert.ok(!events.some((e) => e.user === "y"), JSON.stringify(events.map(brief)));
  assert.equal(parser.rejected, parser.rejections.length);
});

Deno.test("parser: a record refused as malformed takes the events within a username's reach with it", () => {
  const text = [
    "20241014 13:22:00,db1,alice,h,4,0,CONNECT,,,0",
    "20241399 13:22:00,db1,bad,h,6,0,CONNECT,,,0",
    "20241014 13:22:01,db1,carol,h,7,0,CONNECT,,,0",
    spacer("20241014 13:22:01"),
    "20241014 13:22:02,db1,dave,h,8,0,CONNECT,,,0",
    "20241014 13:22:01,db1,cut,h,7,0,CONN",
    "",
  ].join("\n");
  const { events, parser } = parse(text);
  // alice and carol could be parts of the username that holds the forged line.
  assert.deepEqual(loginsOf(events), ["dave"]);
  assert.equal(parser.malformed, 1);
  assert.ok(parser.rejections.some((r) => r.line === 2 && /impossible date/.test(r.reason)));
  assert.deepEqual(
    parser.rejections.filter((r) => /reach of a refused line/.test(r.reason)).map((r) => r.line),
    [1, 3],
  );
});

Deno.test("parser: time going back is refused against the median of the neighbours; binary lines are skipped", () => {
  const garbage = new Uint8Array(3000).map((_, i) => (i * 131 + 7) % 256);
  const lines = [
    ...genuine(16, T0, 10),
    "20241014 12:00:00,db1,old,h,26,0,CONNECT,,,0",
    spacer("20241014 13:00:32"),
    ...genuine(16, T0 + 34_000, 27, "v"),
  ];
  const text = enc.encode(lines.join("\n") + "\n");
  const bytes = new Uint8Array(text.length + garbage.length + 1);
  bytes.set(text);
  bytes.set(garbage, text.length);
  bytes[bytes.length - 1] = 10;
  const { events, parser } = parse(bytes);
  assert.deepEqual(loginsOf(events), [
    ...Array.from({ length: 16 }, (_, i) => `u${i}`),
    ...Array.from({ length: 16 }, (_, i) => `v${i}`),
  ]);
  assert.deepEqual(parser.rejections.map((r) => [r.line, r.reason]), [
    [33, "earlier than the records around it"],
  ]);
});

Deno.test("parser: a clock stepped back is followed, not taken for forgery", () => {
  const lines: string[] = [];
  let id = 100;
  for (const minute of ["10", "11", "12", "13", "14", "05", "06", "07", "08", "09"]) {
    lines.push(`20241014 13:${minute}:00,db1,u${minute},h,${id++},0,CONNECT,,,0`);
    lines.push(spacer(`20241014 13:${minute}:00`));
  }
  const { events, parser } = parse(lines.join("\n") + "\n");
  assert.equal(loginsOf(events).length, 10, JSON.stringify(parser.rejections));
  // After a step back between two runs, on a quiet server: a few events, all earlier than the
  // checkpoint's time. Nothing after them to compare with: they are kept.
  const quiet = parse(lines.slice(10, 14).join("\n") + "\n", 1, jsByteOps, {
    lastInstant: Date.UTC(2024, 9, 14, 13, 14, 0),
  });
  assert.equal(loginsOf(quiet.events).length, 2, JSON.stringify(quiet.parser.rejections));
});

/** Genuine logins every few seconds, each followed by a spacer, from `t0` (ms) and id `id0`. */
function genuine(n: number, t0: number, id0: number, user = "u"): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = auditTime(t0 + i * 2000);
    out.push(`${t},db1,${user}${i},10.0.0.${i % 250},${id0 + i},0,CONNECT,app,,0`, spacer(t));
  }
  return out;
}

function auditTime(ms: number): string {
  return new Date(ms).toISOString().replace(/^(\d+)-(\d+)-(\d+)T([\d:]+)\..*$/, "$1$2$3 $4");
}

/** The two records the server writes for a failed login with username `user`. */
function failedLogin(t: string, user: string, id: number): string[] {
  return [
    `${t},db1,${user},localhost,${id},0,FAILED_CONNECT,,,1045`,
    `${t},db1,${user},localhost,${id},0,DISCONNECT,,,0`,
  ];
}

const T0 = Date.UTC(2024, 9, 14, 13, 0, 0);

Deno.test("parser: a forged record dated in the future does not blind the parser to the logins after it", () => {
  const t = auditTime(T0 + 40_000);
  const hostile = "x\n20991231 23:59:59,db1,root,localhost,77,0,CONNECT,,,0\nzz";
  const wholeLine =
    "a,localhost,1,0,DISCONNECT,,,0\n20991231 23:59:59,db1,root,localhost,78,0,CONNECT,,,0\n" +
    "20991231 23:59:59,db1,y";
  const text = [
    ...genuine(20, T0, 1000, "a"),
    ...failedLogin(t, hostile, 1020),
    ...failedLogin(t, wholeLine, 1021),
    `20991231 23:59:59,db1,eve,localhost,1022,0,CONNECT,,,0`,
    spacer(t),
    ...genuine(20, T0 + 42_000, 1023, "b"),
    "",
  ].join("\n");
  for (const lastWrite of [undefined, T0 + 120_000]) {
    const { events, parser } = parse(text, 1, jsByteOps, { lastWrite });
    const logins = loginsOf(events);
    assert.equal(logins.filter((u) => u.startsWith("a")).length, 20, `lastWrite ${lastWrite}`);
    assert.equal(logins.filter((u) => u.startsWith("b")).length, 20, `lastWrite ${lastWrite}`);
    assert.ok(!logins.includes("root") && !logins.includes("eve"), logins.join());
    assert.ok(!events.some((e) => e.user === "y"));
    assert.ok(parser.lastInstant <= T0 + 80_000, new Date(parser.lastInstant).toISOString());
    assert.ok(!parser.rejections.some((r) => /^20241014.*,db1,[ab]\d/.test(r.excerpt)));
  }
});

Deno.test("parser: a forged record dated a little ahead is refused against its neighbours", () => {
  const ahead = auditTime(T0 + 25_000 + 10 * 60_000);
  const text = [
    ...genuine(10, T0, 2000, "a"),
    `${ahead},db1,eve,localhost,2010,0,FAILED_CONNECT,,,1045`,
    spacer(ahead),
    ...genuine(10, T0 + 22_000, 2011, "b"),
    "",
  ].join("\n");
  const { events, parser } = parse(text, 1, jsByteOps, { lastWrite: T0 + 3_600_000 });
  assert.equal(loginsOf(events).length, 20, JSON.stringify(parser.rejections));
  assert.ok(!events.some((e) => e.user === "eve"));
  assert.ok(parser.rejections.some((r) => /later than the records around it/.test(r.reason)));
  // Dated more than a day after the file was last written: refused even without neighbours.
  const alone = parse(`20991231 23:59:59,db1,eve,h,5,0,CONNECT,,,0\n`, 1, jsByteOps, {
    lastWrite: T0,
  });
  assert.deepEqual(alone.events, []);
  assert.match(alone.parser.rejections[0].reason, /more than a day after/);
});

Deno.test("parser: records dated after the file's last write (TimeLocation ahead of the server) are kept and counted", () => {
  const text = genuine(5, T0 + 2 * 3_600_000, 100).join("\n") + "\n";
  const { events, parser } = parse(text, 1, jsByteOps, { lastWrite: T0 + 600_000 });
  assert.equal(loginsOf(events).length, 5);
  assert.equal(parser.lateDated, 5);
  assert.equal(parser.rejected, 0);
});

Deno.test("parser: the twin check holds whatever the chunking, cut at every line boundary", () => {
  const forged = (t: string) =>
    `a,localhost,1,0,DISCONNECT,,,0\n${t},db1,mallory,localhost,1105,0,CONNECT,,,0\n${t},db1,y`;
  const t = auditTime(T0 + 10_000);
  const text = [
    ...genuine(5, T0, 1100),
    ...failedLogin(t, forged(t), 1105),
    ...genuine(5, T0 + 12_000, 1106, "v"),
    "",
  ].join("\n");
  const bytes = enc.encode(text);
  const reference = parse(bytes);
  assert.deepEqual(loginsOf(reference.events).length, 10);
  assert.ok(!reference.events.some((e) => e.user === "mallory" || e.user === "y"));
  assertSameAtEveryCut(bytes, reference);
});

Deno.test("parser: no number of logins between the two copies of a forged line lets it through", () => {
  const t = auditTime(T0);
  const back = auditTime(T0 - 30_000);
  const forged =
    `x,localhost,9,0,DISCONNECT,,,0\n${back},db1,mallory,localhost,5000,0,CONNECT,,,0\n${back},db1,y`;
  const between: string[] = [];
  for (let i = 0; i < 400; i++) between.push(`${t},db1,u${i},h,${1001 + i},0,CONNECT,,,0`);
  const text = [
    `${t},db1,${forged},localhost,1000,0,FAILED_CONNECT,,,1045`,
    ...between,
    `${t},db1,${forged},localhost,1000,0,DISCONNECT,,,0`,
    "",
  ].join("\n");
  const { events } = parse(text);
  const logins = loginsOf(events);
  assert.ok(!logins.includes("mallory"));
  // Only the logins within a username's reach of the two copies are lost.
  assert.ok(logins.length >= 396, String(logins.length));
});

Deno.test("parser: a forged login far out of the connection id sequence is refused, with the username's tail", () => {
  const t = auditTime(T0 + 30_000);
  // An anonymous account accepts any name: the real record is a successful CONNECT, written
  // once; its username's first line is a whole forged login record.
  const hostile = `root,localhost,99999999,0,CONNECT,,,0\n${t},db1,admin`;
  const text = [
    ...genuine(10, T0, 3000),
    `${t},db1,${hostile},localhost,3010,0,CONNECT,,,0`,
    spacer(t),
    ...genuine(10, T0 + 32_000, 3011, "v"),
    "",
  ].join("\n");
  const { events, parser } = parse(text);
  const logins = loginsOf(events);
  assert.ok(!logins.includes("root") && !logins.includes("admin"), logins.join());
  assert.equal(logins.length, 20);
  assert.ok(parser.rejections.some((r) => /99999999 is out of sequence/.test(r.reason)));
});

Deno.test("parser: connection ids reordered, and starting again after a server restart, are not refused", () => {
  const lines: string[] = [];
  let t = T0;
  const add = (id: number) => {
    const at = auditTime(t += 1500);
    lines.push(`${at},db1,u${id},h,${id},0,CONNECT,,,0`, spacer(at));
  };
  for (let id = 500_000; id < 500_020; id++) add(id);
  add(499_700); // a slow client: its id is older than those logged around it
  for (let id = 500_020; id < 500_030; id++) add(id);
  for (let id = 12; id < 30; id++) add(id); // the server restarted
  const { events, parser } = parse(lines.join("\n") + "\n");
  assert.equal(loginsOf(events).length, 20 + 1 + 10 + 18, JSON.stringify(parser.rejections));
});

Deno.test("parser: a username over three or more lines cannot forge a failed login (the walk back finds its start)", () => {
  const t = auditTime(T0 + 20_000);
  for (const middle of ["yy", "yy,0", "y'y", "yy\nzz"]) {
    const hostile = `x\n${middle}\n${t},db1,alice`;
    const text = [
      ...genuine(5, T0, 4000),
      ...failedLogin(t, hostile, 4005),
      ...genuine(5, T0 + 22_000, 4006, "v"),
      "",
    ].join("\n");
    const { events, parser } = parse(text);
    assert.ok(
      !events.some((e) => e.user === "alice"),
      `${JSON.stringify(middle)}: ${JSON.stringify(events.map(brief))}`,
    );
    assert.ok(parser.rejections.some((r) => /username spans lines|unfinished/.test(r.reason)));
    assert.equal(loginsOf(events).length, 10);
  }
  // The middle line mimics the end of a record: its two copies are identical, so it is forged.
  const mimic = `x\nyy,h,1,0,CONNECT,,,0\n${t},db1,alice`;
  const { events } = parse([
    ...genuine(5, T0, 4000),
    ...failedLogin(t, mimic, 4005),
    ...genuine(5, T0 + 22_000, 4006, "v"),
    "",
  ].join("\n"));
  assert.ok(!events.some((e) => e.user === "alice"), JSON.stringify(events.map(brief)));
  assert.equal(loginsOf(events).length, 10);
});

Deno.test("parser: impossible dates and times are refused; full years; a leap second reads as :59", () => {
  const lines = [
    "00990101 10:00:00,db1,y99,h,1,0,CONNECT,,,0",
    "20261131 10:00:00,db1,nov31,h,2,0,CONNECT,,,0",
    "20250229 10:00:00,db1,feb29,h,3,0,CONNECT,,,0",
    "20241014 24:00:00,db1,h24,h,4,0,CONNECT,,,0",
    "20240229 10:00:00,db1,leap,h,5,0,CONNECT,,,0",
    "20241231 23:59:60,db1,second,h,6,0,CONNECT,,,0",
  ];
  const text = lines.flatMap((l) => [l, spacer("20240229 10:00:00")]).join("\n") + "\n";
  const { events, parser } = parse(text);
  assert.deepEqual(events.map((e) => [e.user, new Date(e.instant).toISOString()]), [
    ["leap", "2024-02-29T10:00:00.000Z"],
    ["second", "2024-12-31T23:59:59.000Z"],
  ]);
  assert.equal(parser.malformed, 4);
  assert.deepEqual(parser.rejections.map((r) => r.line), [1, 3, 5, 7]);
});

Deno.test("parser: control bytes in a username or host, and a retcode other than the server's 0, are refused", () => {
  const t = "20241014 13:00:00";
  const bytes = enc.encode(
    [
      `${t},db1,nul\u0000user,h,1,0,CONNECT,,,0`,
      `${t},db1,bob,host\rcr,2,0,CONNECT,,,0`,
      `${t},db1,minus,h,3,0,CONNECT,,,-0`,
      `${t},db1,zeros,h,4,0,CONNECT,,,00`,
      `${t},db1,plus,h,5,0,CONNECT,,,+0`,
      `${t},db1,ok,h,6,0,CONNECT,,,0`,
      `${t},db1,esc\u001b[2J,h,7,0,FAILED_CONNECT,,,1045`,
    ].flatMap((l) => [l, spacer(t)]).join("\n") + "\n",
  );
  const { events, parser } = parse(bytes);
  // A failed attempt is kept as sent (outputs escape it); only logins must be clean.
  assert.deepEqual(events.map(brief), [
    'CONNECT "ok"@h #6 rc=0',
    'FAILED_CONNECT "esc\\u001b[2J"@h #7 rc=1045',
  ]);
  assert.deepEqual(parser.rejections.map((r) => [r.line, r.reason]), [
    [1, "control character in the username or host of a login"],
    [3, "control character in the username or host of a login"],
    [5, "malformed return code"],
    [7, "malformed return code"],
    [9, "malformed return code"],
  ]);
  assert.equal(parser.malformed, 3);
});

Deno.test("parser: names are byte-exact; two invalid UTF-8 names never merge", () => {
  const head = enc.encode("20241014 13:00:00,db1,a");
  const tail = enc.encode("b,h");
  const line = (b: number, id: number) =>
    Uint8Array.from([...head, b, ...tail, ...enc.encode(`,${id},0,CONNECT,,,0\n`)]);
  const bytes = Uint8Array.from([
    ...line(0xff, 1),
    ...enc.encode(spacer("20241014 13:00:00") + "\n"),
    ...line(0xfe, 2),
  ]);
  const { events } = parse(bytes);
  assert.equal(events.length, 2);
  assert.notEqual(events[0].user, events[1].user);
  assert.deepEqual([...nameBytes(events[0].user)], [0x61, 0xff, 0x62]);
  assert.deepEqual([...nameBytes(events[1].user)], [0x61, 0xfe, 0x62]);
  assert.equal(parse("20241014 13:00:00,db1,élodie,h,1,0,CONNECT,,,0\n").events[0].user, "élodie");
});

Deno.test("parser: names decoded once per thread stay byte-exact when found again by their bytes", () => {
  const head = (t: string) => enc.encode(`20241014 13:00:0${t},db1,a`);
  const line = (t: string, b: number, host: string, id: number) =>
    Uint8Array.from([...head(t), b, ...enc.encode(`b,${host},${id},0,CONNECT,,,0\n`)]);
  const gap = (t: string) => enc.encode(spacer(`20241014 13:00:0${t}`) + "\n");
  const bytes = Uint8Array.from([
    ...line("0", 0xff, "h", 1),
    ...gap("0"),
    ...line("1", 0xfe, "h", 2),
    ...gap("1"),
    ...line("2", 0xff, "h", 3), // the same bytes as the first: from the cache
    ...gap("2"),
    ...line("3", 0xfe, "h", 4),
    ...gap("3"),
    ...line("4", 0xff, "h2", 5), // same user, another host: another entry
  ]);
  const { events } = parse(bytes);
  assert.equal(events.length, 5);
  for (const [k, b] of [[0, 0xff], [1, 0xfe], [2, 0xff], [3, 0xfe], [4, 0xff]]) {
    assert.deepEqual([...nameBytes(events[k].user)], [0x61, b, 0x62], `event ${k}`);
    assert.ok(!events[k].user.includes("\ufffd"));
  }
  assert.equal(events[2].who, events[0].who, "found again by its bytes");
  assert.equal(events[3].who, events[1].who);
  assert.notEqual(events[0].user, events[1].user);
  assert.deepEqual(events.map((e) => e.host), ["h", "h", "h", "h", "h2"]);
  // Bytes that differ only after the user/host split point are other accounts.
  const moved = parse(
    "20241014 13:00:00,db1,ab,c,1,0,CONNECT,,,0\n" + spacer("20241014 13:00:00") + "\n" +
      "20241014 13:00:01,db1,ab,c,2,0,CONNECT,,,0\n",
  ).events;
  assert.deepEqual(moved.map((e) => [e.user, e.host]), [["ab", "c"], ["ab", "c"]]);
});

Deno.test("parser: a host logged with a new port each time is one account, found again by the bytes before the port", () => {
  const t = (k: number) => `20241014 13:00:${String(k).padStart(2, "0")}`;
  const hosts = [
    "10.0.0.7:40001",
    "10.0.0.7:40002",
    "[2001:db8::5]:51000",
    "[2001:db8::5]:51001",
    "2001:db8::9", // a bare IPv6 address before any port was seen: its last group stays
    "2001:db8::9:40003", // ports seen now: the last group is a port
    "2001:db8::9:40004",
    "h:123456", // six digits are no port
    "h:1234567",
  ];
  const lines = hosts.flatMap((h, k) => [
    `${t(k)},db1,alice,${h},${k + 1},0,CONNECT,,,0`,
    spacer(t(k), 100 + k),
  ]);
  const { events } = parse(lines.join("\n") + "\n");
  assert.deepEqual(events.map((e) => e.host), [
    "10.0.0.7",
    "10.0.0.7",
    "2001:db8::5",
    "2001:db8::5",
    "2001:db8::9",
    "2001:db8::9",
    "2001:db8::9",
    "h:123456",
    "h:1234567",
  ]);
  for (const [k, e] of events.entries()) {
    assert.deepEqual(splitHostPort(hosts[k], k > 4), { host: e.host, port: e.who.port }, hosts[k]);
  }
  // (The first record is read before any port was seen, the second after: another reading.)
  assert.equal(events[3].who, events[2].who, "another port: the same account object");
  assert.equal(events[6].who, events[5].who);
  assert.notEqual(events[8].who, events[7].who);
});

Deno.test("parser: a login right after a TABLE record (READ/WRITE, no return code) is accepted", () => {
  const { events, parser } = parse([
    spacer("20241014 13:00:00", 1),
    "20241014 13:00:00,db1,app,10.0.0.9,1,2,READ,shop,customers,",
    "20241014 13:00:00,db1,alice,10.0.0.1,3,0,CONNECT,shop,,0",
    "20241014 13:00:01,db1,app,10.0.0.9,1,4,WRITE,shop,orders,",
    "20241014 13:00:01,db1,bob,10.0.0.2,4,0,CONNECT,,,0",
    "",
  ].join("\n"));
  assert.deepEqual(loginsOf(events), ["alice", "bob"]);
  assert.equal(parser.rejected, 0, JSON.stringify(parser.rejections));
  // A line ending in `,` that is no TABLE event is not a complete record.
  const forged = parse([
    spacer("20241014 13:00:00", 1),
    "20241014 13:00:00,db1,app,10.0.0.9,1,2,QUERY,shop,x,",
    "20241014 13:00:00,db1,alice,10.0.0.1,3,0,CONNECT,shop,,0",
    "",
  ].join("\n"));
  assert.deepEqual(loginsOf(forged.events), []);
  assert.equal(forged.parser.rejected, 1);
});

Deno.test("parser: the server host comes from the first valid record when the file starts with garbage", () => {
  const t = "20241014 13:00:00";
  const { events, parser } = parse([
    "\u0000\u0000garbage left by a crash",
    `${t},db1,alice,h,1,0,CONNECT,,,0`,
    spacer(t),
    `${t},evilhost,root,h,2,0,CONNECT,,,0`,
    "",
  ].join("\n"));
  assert.deepEqual(loginsOf(events), ["alice"]);
  assert.equal(parser.serverHost, "db1");
  assert.ok(parser.rejections.some((r) => r.line === 4 && /server host/.test(r.reason)));
  // From the checkpoint when reading from the middle.
  const resumed = parse(`${t},evilhost,root,h,2,0,CONNECT,,,0\n`, 1, jsByteOps, {
    serverHost: "db1",
  });
  assert.deepEqual(resumed.events, []);
});

Deno.test("parser: CRLF logs are read like LF logs", () => {
  const lf = [
    ...genuine(5, T0, 100),
    ...failedLogin(auditTime(T0 + 10_000), "mallory", 105),
    "",
  ].join("\n");
  const crlf = lf.replaceAll("\n", "\r\n");
  const a = parse(lf);
  const b = parse(crlf);
  assert.deepEqual(b.events.map(brief), a.events.map(brief));
  assert.equal(loginsOf(b.events).length, 5);
  assert.equal(b.parser.malformed, 0);
  assert.equal(b.parser.rejected, 0);
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

Deno.test("parser: a username of a megabyte (a garbage line) is read without overflowing the stack", () => {
  const t = "20241014 13:00:00";
  const huge = "u".repeat(1 << 20);
  const { events } = parse(
    `${t},db1,bob,h,5,0,FAILED_CONNECT,,,1045\n${t},db1,${huge},h,5,0,FAILED_CONNECT,,,1045\n`,
  );
  assert.deepEqual(events, []); // two different login records for one id: both refused
});

Deno.test("parser: the forged twin, spread over more than the hold-back, is caught at every line boundary cut", () => {
  // Lines of ~1.5 KB, so the hold-back window (HOLD_BYTES) spans a few dozen lines and the
  // input is cut at every line boundary in a few hundred parses.
  const long = (t: string) => `${t},db1,app,10.0.0.9,3,4,QUERY,shop,'SELECT ${"x".repeat(1400)}',0`;
  const pad = (n: number, t: string) => Array.from({ length: n }, () => long(t));
  const forged = (t: string) =>
    `a,localhost,1,0,DISCONNECT,,,0\n${t},db1,mallory,localhost,1105,0,CONNECT,,,0\n${t},db1,y`;
  const t = auditTime(T0 + 10_000);
  const text = [
    ...genuine(5, T0, 1100),
    ...pad(50, auditTime(T0 + 9_000)), // the first copy comes after more than HOLD_BYTES
    `${t},db1,${forged(t)},localhost,1105,0,FAILED_CONNECT,,,1045`,
    ...pad(30, t), // the second copy ~45 KB later: within TWIN_BYTES, across chunks
    `${t},db1,${forged(t)},localhost,1105,0,DISCONNECT,,,0`,
    ...pad(50, t),
    ...genuine(5, T0 + 12_000, 1106, "v"),
    "",
  ].join("\n");
  const bytes = enc.encode(text);
  assert.ok(bytes.length > 2 * HOLD_BYTES);
  const reference = parse(bytes);
  assert.deepEqual(
    loginsOf(reference.events),
    [0, 1, 2, 3, 4].map((i) => `u${i}`).concat(
      [0, 1, 2, 3, 4].map((i) => `v${i}`),
    ),
  );
  assert.ok(!reference.events.some((e) => e.user === "mallory" || e.user === "y"));
  assert.ok(reference.parser.rejections.some((r) => /appears twice/.test(r.reason)));
  assertSameAtEveryCut(bytes, reference);
});

Deno.test("parser: the hold-back keeps whole lines, the fewest that hold the last HOLD_BYTES - 1", () => {
  // Lines of 40 to 96 bytes, so that over every line boundary `to` the byte at to - HOLD_BYTES
  // falls on every position of a line, the newline itself included.
  const lines = Array.from(
    { length: 3000 },
    (_, i) =>
      `${auditTime(T0 + i * 10)},db1,u${i % 7},h,${i + 1},0,QUERY,,'${"q".repeat(i % 57)}',0`,
  );
  const bytes = enc.encode(lines.join("\n") + "\n");
  const starts = [0];
  for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) starts.push(i + 1);
  const isStart = new Set(starts);
  let onNewline = 0;
  for (const to of starts.filter((s) => s > HOLD_BYTES)) {
    const parser = newParser(bytes);
    parser.feed(bytes, 0, 0, to);
    const keep = parser.keepFrom;
    const kept = to - keep;
    assert.ok(isStart.has(keep), `to=${to}: kept data starts inside a line (at ${keep})`);
    assert.ok(kept >= HOLD_BYTES - 1, `to=${to}: kept only ${kept} bytes`);
    const next = starts[starts.indexOf(keep) + 1];
    assert.ok(to - next < HOLD_BYTES - 1, `to=${to}: kept a whole line more than needed`);
    if (bytes[to - HOLD_BYTES] === 10) onNewline++;
  }
  assert.ok(onNewline > 0, "no cut fell on a newline: the input does not test that case");
});

Deno.test("parser: a refused line's reach ahead is the same whether or not a read ends right after it", () => {
  const t = auditTime(T0 + 10_000);
  // A login refused as it is read (a control byte in its name), then a short QUERY record, then
  // a genuine login that starts just past a username's reach (130 characters) from it: with
  // the bytes after the refused line not read yet, the reach must not be guessed wider.
  const refused = `${t},db1,bad\u0001,h,1105,0,CONNECT,,,0`;
  const query = `${t},db1,app,h,1104,7,QUERY,shop,'SELECT ${"q".repeat(40)}',0`;
  const login = `${t},db1,carol,10.0.0.1,1106,0,CONNECT,,,0`;
  assert.ok(refused.length + 1 + query.length + 1 > MAX_USER_CHARS);
  const text = [
    ...genuine(5, T0, 1100),
    refused,
    query,
    login,
    ...genuine(5, T0 + 12_000, 1107, "v"),
    "",
  ].join("\n");
  const bytes = enc.encode(text);
  const reference = parse(bytes);
  assert.ok(
    loginsOf(reference.events).includes("carol"),
    JSON.stringify(reference.parser.rejections),
  );
  assert.equal(reference.parser.rejected, 1);
  assertSameAtEveryCut(bytes, reference);
});
