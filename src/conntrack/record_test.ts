import assert from "node:assert/strict";
import { completeRecord, lastByte, nextByte, rightFields, startsLikeRecord } from "./record.ts";

const enc = new TextEncoder();

Deno.test("record: lastByte and nextByte find what lastIndexOf and indexOf find, within the buffer", () => {
  const buf = enc.encode(",a,bc,,d\n,e,");
  for (let from = 0; from < buf.length + 3; from++) {
    for (const v of [44, 10, 0x65, 0x7a]) {
      assert.equal(lastByte(buf, v, from), buf.lastIndexOf(v, from), `last ${v} ${from}`);
      assert.equal(nextByte(buf, v, from), buf.indexOf(v, from), `next ${v} ${from}`);
    }
  }
  // A negative start finds nothing (lastIndexOf would count it from the end of the buffer).
  assert.equal(lastByte(buf, 44, -1), -1);
  assert.equal(buf.lastIndexOf(44, -1), buf.length - 1);
});

Deno.test("record: a line's fields read the same at the start of the buffer as further in", () => {
  const lines = [
    ",5,0,CONNECT,,,0", // a username's last line that starts with a comma
    "20241014 13:00:00,db1,alice,10.0.0.1,5,0,CONNECT,shop,,0",
    "20241014 13:00:00,db1,app,h,1,2,READ,shop,customers,",
    "20241014 13:00:00,db1,app,h,1,3,QUERY,shop,'SELECT \\'a,b\\' FROM t',0",
  ];
  const alone = enc.encode(lines.join("\n") + "\n");
  const later = enc.encode("20241014 12:59:59,db1,x,h,9,0,CONNECT,,,0\n" + lines.join("\n") + "\n");
  const shift = later.length - alone.length;
  // rightFields' result is reused: a copy, with positions relative to the line.
  const fields = (buf: Uint8Array, s: number, e: number) => {
    const f = rightFields(buf, s, e);
    return f && { ...f, userEnd: f.userEnd - s, hostEnd: f.hostEnd - s };
  };
  let at = 0;
  for (const line of lines) {
    const end = at + enc.encode(line).length;
    assert.deepEqual(fields(alone, at, end), fields(later, at + shift, end + shift), line);
    if (at > 0) {
      assert.equal(completeRecord(alone, at, end), completeRecord(later, at + shift, end + shift));
    }
    at = end + 1;
  }
  assert.equal(fields(alone, 0, lines[0].length), undefined);
  assert.ok(fields(alone, lines[0].length + 1, lines[0].length + 1 + lines[1].length));
  const third = lines[0].length + lines[1].length + 2;
  assert.ok(completeRecord(alone, third, third + lines[2].length), "a TABLE record is complete");
  assert.ok(completeRecord(alone, at - 1 - enc.encode(lines[3]).length, at - 1));
});

/** rightFields worked out on the text with string methods: the reference the byte code must match. */
function rightFieldsOfText(line: string) {
  const commas: number[] = [];
  for (let i = line.length - 1; i >= 0 && commas.length < 7; i--) {
    if (line[i] === ",") commas.push(i);
  }
  if (commas.length < 7) return undefined;
  const field = (k: number) => line.slice(commas[k] + 1, k === 0 ? line.length : commas[k - 1]);
  if (field(1).includes("'") || field(2).includes("'")) return undefined;
  const op = field(3);
  if (!["CONNECT", "FAILED_CONNECT", "CHANGEUSER", "PROXY_CONNECT", "DISCONNECT"].includes(op)) {
    return undefined;
  }
  const int = (t: string) => /^\d{1,15}$/.test(t) ? Number(t) : undefined;
  const ret = field(0);
  const retcode = /^(0|-?[1-9]\d{0,9})$/.test(ret) ? Number(ret) : undefined;
  let bad: string | undefined;
  if (retcode === undefined) bad = "malformed return code";
  if (int(field(4)) !== 0) bad ??= "query id of a connection event is not 0";
  const connId = int(field(5));
  if (connId === undefined) bad ??= "malformed connection id";
  return {
    op,
    connId: connId ?? -1,
    retcode: retcode ?? -1,
    userEnd: commas[6],
    hostEnd: commas[5],
    bad,
  };
}

Deno.test("record: rightFields and startsLikeRecord agree with a reading of the text on 20 000 generated lines", () => {
  let seed = 11;
  const pick = <T>(xs: T[]): T => xs[(seed = (seed * 1103515245 + 12345) >>> 0) % xs.length];
  const parts = [
    ...["", "0", "7", "12", "-1", "-0", "00", "1234567890123456", "x", "host", "a'b", "'q,r'"],
    ...["CONNECT", "DISCONNECT", "FAILED_CONNECT", "CHANGEUSER", "PROXY_CONNECT", "QUERY", "READ"],
  ];
  const heads = [
    "",
    "20241014 13:00:00,db1,",
    "20241014 13:00:0x,db1,",
    "2024101413:00:00,db1,",
    "20241014 13-00:00,db1,",
  ];
  const prefix = "20241014 12:59:59,db1,x,h,9,0,CONNECT,,,0\n";
  for (let n = 0; n < 20_000; n++) {
    const fields = Array.from({ length: 2 + (n % 9) }, () => pick(parts));
    const line = pick(heads) + fields.join(",");
    const buf = enc.encode(prefix + line);
    const got = rightFields(buf, prefix.length, buf.length);
    const relative = got &&
      { ...got, userEnd: got.userEnd - prefix.length, hostEnd: got.hostEnd - prefix.length };
    assert.deepEqual(relative, rightFieldsOfText(line), line);
    assert.equal(
      startsLikeRecord(buf, prefix.length),
      /^\d{8} \d\d:\d\d:\d\d,/.test(line),
      line,
    );
  }
});
