/**
 * The two test sets stay what their names say. Unit set: `*_test.ts` under `src/` and
 * `tests/unit/` (deno task test:unit, permission set "unit"): no server, no child Deno, no root.
 * Integration set: every other `*_test.ts` under `tests/` (deno task test:integration).
 * `scripts/test.sh` runs both.
 */
import assert from "node:assert/strict";
import { ROOT } from "../support/cli.ts";
import { filesUnder, reachable } from "../support/imports.ts";

const UNIT_DIRS = ["src/", "tests/unit/"];
const INTEGRATION_DIR = "tests/";

const deno = JSON.parse(Deno.readTextFileSync(`${ROOT}/deno.json`));

function isUnit(file: string): boolean {
  return UNIT_DIRS.some((d) => file.startsWith(d));
}

function isIntegration(file: string): boolean {
  return file.startsWith(INTEGRATION_DIR) && !file.startsWith("tests/unit/");
}

Deno.test("test sets: every test file is in exactly one set", () => {
  const all = filesUnder("", "_test.ts");
  assert.ok(all.length > 50, `only ${all.length} test files found`);
  const neither = all.filter((f) => !isUnit(f) && !isIntegration(f));
  assert.deepEqual(neither, [], "test files outside src/, tests/unit/ and tests/");
  assert.deepEqual(all.filter((f) => isUnit(f) && isIntegration(f)), []);
});

Deno.test("test sets: the tasks run exactly these sets; test.sh runs both", () => {
  assert.equal(
    deno.tasks["test:unit"],
    `deno test -q -P=unit --parallel ${UNIT_DIRS.join(" ")}`,
  );
  assert.equal(
    deno.tasks["test:integration"],
    `deno test -q -P=test --parallel --ignore=tests/unit/ ${INTEGRATION_DIR}`,
  );
  assert.equal(deno.tasks.test, "./scripts/test.sh");
  const script = Deno.readTextFileSync(`${ROOT}/scripts/test.sh`);
  assert.match(script, /task -q test:unit\n/);
  assert.match(script, /task -q test:integration\n/);
  assert.match(
    script,
    /echo "tests: \$\{passed\} passed, \$\{failed\} failed"\n\[ "\$failed" -eq 0 \]\n$/,
  );
});

Deno.test("test sets: the unit permission set cannot start a server or a child Deno", () => {
  const unit = deno.permissions.unit;
  assert.ok(unit, "deno.json has no permission set named unit");
  assert.ok(Array.isArray(unit.run), "the unit set must list the commands it may run");
  const forbidden = /^(deno|mariadbd|mysqld|mariadb-install-db|mariadbd-safe|sh|bash|env|sudo)$/;
  assert.deepEqual(unit.run.filter((c: string) => forbidden.test(c) || c.includes("/")), []);
  assert.equal(unit.net, undefined, "unit tests need no network (a server is one connect away)");
  assert.equal(unit.all, undefined);
});

// The permission set stops a unit test at run time; this names the culprit before that.
const SERVER_HELPERS = [
  "tests/support/mariadb.ts",
  "tests/support/monitor_fixture.ts",
  "tests/support/fleet.ts",
  "tests/support/fake_mysql.ts",
  "tests/support/child_script.ts",
  "tests/support/notify_socket.ts",
  "tests/support/offline_monitor.ts",
];
const SPAWNS = /Deno\.execPath\(\)|\b(?:runCli|spawnCli|startScript)\(|\.run\(\s*["'-]/;

Deno.test("test sets: no unit test file starts a server or a child Deno", () => {
  const unitFiles = filesUnder("", "_test.ts").filter(isUnit);
  const problems: string[] = [];
  for (const file of unitFiles) {
    for (const dep of reachable(file)) {
      if (SERVER_HELPERS.includes(dep)) problems.push(`${file} reaches ${dep}`);
    }
    const text = Deno.readTextFileSync(`${ROOT}/${file}`);
    const m = SPAWNS.exec(text);
    if (m) problems.push(`${file} calls ${m[0]}`);
  }
  assert.deepEqual(problems, [], "move these tests to tests/ (the integration set)");
});
