import assert from "node:assert/strict";
import { bestAccount, hostMatches, parseIPv4, specificity } from "./host_match.ts";

Deno.test("host_match: wildcards, literals and case", () => {
  assert.ok(hostMatches("%", "anything.example.com"));
  assert.ok(hostMatches("", "10.0.0.1"));
  assert.ok(hostMatches("localhost", "localhost"));
  assert.ok(hostMatches("LocalHost", "localhost"));
  assert.ok(!hostMatches("localhost", "127.0.0.1"));
  assert.ok(hostMatches("%.example.com", "web1.example.com"));
  assert.ok(!hostMatches("%.example.com", "example.com"));
  assert.ok(hostMatches("192.168.1.%", "192.168.1.77"));
  assert.ok(!hostMatches("192.168.1.%", "192.168.10.7"));
  assert.ok(hostMatches("web_.example.com", "web1.example.com"));
  assert.ok(!hostMatches("web_.example.com", "web12.example.com"));
  assert.ok(!hostMatches("a.b", "axb"), "a dot is literal");
  assert.ok(hostMatches("a\\_b", "a_b"));
  assert.ok(!hostMatches("a\\_b", "axb"), "escaped underscore is literal");
  assert.ok(hostMatches("fe80::%", "fe80::1"));
  assert.ok(hostMatches("::1", "::1"));
});

Deno.test("host_match: ip/netmask and ip/prefix", () => {
  assert.equal(parseIPv4("10.1.2.3"), 0x0a010203);
  assert.equal(parseIPv4("256.1.1.1"), undefined);
  assert.ok(hostMatches("10.1.0.0/255.255.0.0", "10.1.200.3"));
  assert.ok(!hostMatches("10.1.0.0/255.255.0.0", "10.2.0.1"));
  assert.ok(hostMatches("10.1.0.0/16", "10.1.9.9"));
  assert.ok(!hostMatches("10.1.0.0/16", "10.3.9.9"));
  assert.ok(hostMatches("192.168.5.0/255.255.255.0", "::ffff:192.168.5.9"));
  assert.ok(!hostMatches("10.1.0.0/255.255.0.0", "host.example.com"));
  assert.ok(hostMatches("0.0.0.0/0", "8.8.8.8"));
});

Deno.test("host_match: the most specific account wins, like the server's own ordering", () => {
  const accounts = ["%", "192.168.1.%", "192.168.1.10", "localhost", "10.0.0.0/255.0.0.0"];
  assert.equal(bestAccount(accounts, "192.168.1.10"), "192.168.1.10");
  assert.equal(bestAccount(accounts, "192.168.1.11"), "192.168.1.%");
  assert.equal(bestAccount(accounts, "10.9.9.9"), "10.0.0.0/255.0.0.0");
  assert.equal(bestAccount(accounts, "localhost"), "localhost");
  assert.equal(bestAccount(accounts, "other.example.com"), "%");
  assert.equal(bestAccount(["localhost"], "10.0.0.1"), undefined);
  assert.ok(specificity("abc%") > specificity("a%"));
  assert.ok(specificity("exact") > specificity("exac%"));
});
