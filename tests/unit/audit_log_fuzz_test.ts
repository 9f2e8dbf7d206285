/**
 * The audit-log fuzz test: generated hostile logs (tests/fuzz/audit_log.ts) through the whole
 * conntrack run (file discovery, parser, SQLite), checked by the oracle.
 *
 * A short budget in the normal suite; longer on demand:
 *   deno test -P tests/unit/audit_log_fuzz_test.ts -- --cases 5000 [--seed FIRST]
 * (or AUDIT_FUZZ_CASES / AUDIT_FUZZ_SEED). A failing case names its seed; rerun it alone with
 * `-- --seed N --cases 1`.
 * @module
 */
import assert from "node:assert/strict";
import { parseArgs } from "node:util";
import { type AccountRow, check, generate, runCase } from "../fuzz/audit_log.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { cases: { type: "string" }, seed: { type: "string" } },
  strict: false,
});
const CASES = Number(values.cases ?? Deno.env.get("AUDIT_FUZZ_CASES") ?? 120);
const FIRST = Number(values.seed ?? Deno.env.get("AUDIT_FUZZ_SEED") ?? 1);

Deno.test(`audit log fuzz: ${CASES} generated hostile logs from seed ${FIRST}`, async () => {
  const root = await Deno.makeTempDir({ prefix: "mmd-fuzz-audit-" });
  try {
    let hostile = 0;
    for (let seed = FIRST; seed < FIRST + CASES; seed++) {
      const c = generate(seed);
      hostile += c.hostile;
      const rows = await runCase(c, `${root}/${seed}`);
      const violations = check(c, rows);
      assert.ok(
        violations.length === 0,
        `audit log fuzz case ${seed} failed (rerun: -- --seed ${seed} --cases 1):\n${
          violations.join("\n")
        }`,
      );
      await Deno.remove(`${root}/${seed}`, { recursive: true });
    }
    assert.ok(hostile > CASES, `only ${hostile} hostile attempts in ${CASES} cases`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("audit log fuzz: the generator is deterministic and the oracle catches each kind of wrong result", () => {
  const a = generate(42);
  const b = generate(42);
  assert.deepEqual(a.files, b.files);
  assert.notDeepEqual(generate(43).files, a.files);
  const [key, t] = [...a.truth].find(([, v]) => v.clean > -Infinity)!;
  const [name, host] = key.split("\u0000");
  const right: AccountRow[] = [...a.truth].filter(([, v]) => v.clean > -Infinity).map((
    [k, v],
  ) => ({ name: k.split("\u0000")[0], host: k.split("\u0000")[1], lastSeen: v.latest }));
  assert.deepEqual(check(a, right), []);
  const others = right.filter((r) => !(r.name === name && r.host === host));
  assert.match(
    check(a, [...right, { name: "root", host: "10.66.6.6", lastSeen: t.latest }]).join(),
    /"root@10\.66\.6\.6" has a last_seen but never logged in/,
  );
  assert.match(check(a, others).join(), /logged in but has no row/);
  assert.match(
    check(a, [...others, { name, host, lastSeen: t.clean - 1000 }]).join(),
    /is older than its clean login/,
  );
  assert.match(
    check(a, [...others, { name, host, lastSeen: t.latest + 1000 }]).join(),
    /is after its last login/,
  );
});
