import assert from "node:assert/strict";
import { bestAccount, hostMatches, parseIPv4, specificity } from "./host_match.ts";

Deno.test("host_match: wildcards, literals, case, ip/netmask and ip/prefix", () => {
  const cases: [pattern: string, host: string, matches: boolean][] = [
    ["%", "anything.example.com", true],
    ["", "10.0.0.1", true],
    ["localhost", "localhost", true],
    ["LocalHost", "localhost", true],
    ["localhost", "127.0.0.1", false],
    ["%.example.com", "web1.example.com", true],
    ["%.example.com", "example.com", false],
    ["192.168.1.%", "192.168.1.77", true],
    ["192.168.1.%", "192.168.10.7", false],
    ["web_.example.com", "web1.example.com", true],
    ["web_.example.com", "web12.example.com", false],
    ["a.b", "axb", false], // a dot is literal
    ["a\\_b", "a_b", true],
    ["a\\_b", "axb", false], // escaped underscore is literal
    ["fe80::%", "fe80::1", true],
    ["::1", "::1", true],
    // ip/netmask and ip/prefix
    ["10.1.0.0/255.255.0.0", "10.1.200.3", true],
    ["10.1.0.0/255.255.0.0", "10.2.0.1", false],
    ["10.1.0.0/16", "10.1.9.9", true],
    ["10.1.0.0/16", "10.3.9.9", false],
    ["192.168.5.0/255.255.255.0", "::ffff:192.168.5.9", true],
    ["10.1.0.0/255.255.0.0", "host.example.com", false],
    ["0.0.0.0/0", "8.8.8.8", true],
  ];
  for (const [pattern, host, matches] of cases) {
    assert.equal(hostMatches(pattern, host), matches, `${pattern} against ${host}`);
  }
  assert.equal(parseIPv4("10.1.2.3"), 0x0a010203);
  assert.equal(parseIPv4("256.1.1.1"), undefined);
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
