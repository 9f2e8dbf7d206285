import assert from "node:assert/strict";
import { lockUnsupported, parseVersion } from "./flavour.ts";

Deno.test("flavour: MariaDB and MySQL versions and ACCOUNT LOCK support", () => {
  const ok = [
    "10.11.19-MariaDB-0+deb12u1",
    "10.4.2-MariaDB",
    "11.4.2-MariaDB-log",
    "5.7.6",
    "8.0.36",
    "5.5.5-10.6.1-MariaDB",
  ];
  const no = ["10.4.1-MariaDB", "10.3.39-MariaDB-0+deb10u1", "5.7.5-log", "5.6.51"];
  for (const v of ok) assert.equal(lockUnsupported(parseVersion(v)), undefined, v);
  for (const v of no) {
    assert.match(lockUnsupported(parseVersion(v)) ?? "", /does not support .*ACCOUNT LOCK/, v);
  }
  assert.equal(parseVersion("10.11.19-MariaDB").kind, "mariadb");
  assert.equal(parseVersion("8.0.36").kind, "mysql");
  assert.throws(() => parseVersion("garbage"), SyntaxError);
});
