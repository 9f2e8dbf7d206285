import assert from "node:assert/strict";
import { baseOf, dirOf } from "./path.ts";

Deno.test("path: dirOf and baseOf", () => {
  const cases: [path: string, dir: string, base: string][] = [
    ["/var/log/mysql/server_audit.log", "/var/log/mysql", "server_audit.log"],
    ["/var/log/mysql/", "/var/log", ""],
    ["/etc", "/", "etc"],
    ["/", ".", ""],
    ["name", ".", "name"],
  ];
  for (const [path, dir, base] of cases) {
    assert.equal(dirOf(path), dir, `dirOf(${path})`);
    assert.equal(baseOf(path), base, `baseOf(${path})`);
  }
});
