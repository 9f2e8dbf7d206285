import assert from "node:assert/strict";
import { classifySessions, hostMatches } from "./sessions.ts";

Deno.test("sessions: host patterns against the socket (neither an address nor another name)", () => {
  assert.equal(hostMatches("%", "localhost"), "yes");
  assert.equal(hostMatches("localhost", "localhost"), "yes");
  assert.equal(hostMatches("127.0.0.1", "localhost"), "no");
  assert.equal(hostMatches("127.0.0.1", ""), "maybe");
});

Deno.test("sessions: host patterns against a name shown (its address is unknown)", () => {
  assert.equal(hostMatches("LOCALHOST", "localhost:5000"), "yes");
  assert.equal(hostMatches("%.example.com", "web1.example.com:4000"), "yes");
  // A numeric pattern might still match the name's address.
  assert.equal(hostMatches("10.0.0.%", "web1.example.com:4000"), "maybe");
});

Deno.test("sessions: host patterns against an address shown (the server had no name)", () => {
  assert.equal(hostMatches("10.0.0.%", "10.0.0.7:3306"), "yes");
  assert.equal(hostMatches("10.0.0.%", "10.0.1.7:3306"), "no");
  assert.equal(hostMatches("10.0.0.0/255.255.255.0", "10.0.0.9:1"), "yes");
  assert.equal(hostMatches("10.0.0.0/255.255.255.0", "10.0.1.9:1"), "no");
  // Name patterns cannot match.
  assert.equal(hostMatches("%.example.com", "10.0.0.7:4000"), "no");
});

Deno.test("sessions: only sessions no other account can own are ended; the ambiguous ones are reported", () => {
  const sessions = [
    { id: 1, host: "localhost" },
    { id: 2, host: "10.0.0.7:5000" },
    { id: 3, host: "web1.example.com:4000" },
  ];
  // Every account locked: all sessions end.
  assert.deepEqual(classifySessions(sessions, ["%"], []).end.map((s) => s.id), [1, 2, 3]);
  // Only user@'%' locked, user@localhost not: the socket session may be localhost's.
  let r = classifySessions(sessions, ["%"], ["localhost"]);
  assert.deepEqual(r.end.map((s) => s.id), [2, 3]);
  assert.deepEqual(r.leftOpen.map((s) => s.id), [1]);
  // Only user@localhost locked: it may own session 1 but so may '%'; 2 and 3 are not its.
  r = classifySessions(sessions, ["localhost"], ["%"]);
  assert.deepEqual(r.end, []);
  assert.deepEqual(r.leftOpen.map((s) => s.id), [1]);
  // user@'10.0.0.%' locked beside user@'%.example.com': 2 is certainly the locked one's; 3 might
  // come from 10.0.0.x too.
  r = classifySessions(sessions, ["10.0.0.%"], ["%.example.com"]);
  assert.deepEqual(r.end.map((s) => s.id), [2]);
  assert.deepEqual(r.leftOpen.map((s) => s.id), [3]);
});
