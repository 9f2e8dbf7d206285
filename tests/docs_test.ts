/** The example alerting rules in docs/ are valid and fire when they should (promtool). */
import assert from "node:assert/strict";
import { ROOT } from "./support/cli.ts";

async function promtool(...args: string[]): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command("promtool", {
    args,
    cwd: `${ROOT}/docs`,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return {
    code: r.code,
    out: new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr),
  };
}

Deno.test("docs: alerts.yml passes promtool check rules and its unit tests", async () => {
  const check = await promtool("check", "rules", "alerts.yml");
  assert.equal(check.code, 0, check.out);
  assert.match(check.out, /SUCCESS: 6 rules found/);
  const test = await promtool("test", "rules", "alerts_test.yml");
  assert.equal(test.code, 0, test.out);
});
