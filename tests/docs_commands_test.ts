/**
 * The shell lines the docs give an operator, run as written (they need bash and openssl, so they
 * are integration tests).
 */
import assert from "node:assert/strict";
import { ROOT } from "./support/cli.ts";
import { signBody } from "../src/notify/webhook.ts";

/** The text of the `## title` section of a Markdown page. */
function section(markdown: string, title: string): string {
  const start = markdown.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `no section "## ${title}"`);
  const end = markdown.indexOf("\n## ", start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

Deno.test("docs: monitor.md's openssl line computes the webhook signature the notifier sends", async () => {
  const doc = Deno.readTextFileSync(`${ROOT}/docs/monitor.md`);
  const command = /`(printf [^`]*openssl dgst[^`]*)`/.exec(section(doc, "Webhook"))?.[1];
  assert.ok(command, "no openssl line in monitor.md's Webhook section");
  const env = {
    TS: "1795000000",
    BODY: '{"id":"x","event":"locked","user":"o\'brien, \\"q\\" %s"}',
    SECRET: "0123456789abcdef-signing-key",
  };
  const out = await new Deno.Command("bash", { args: ["-c", command], env, stdout: "piped" })
    .output();
  assert.equal(out.code, 0);
  const hex = /([0-9a-f]{64})\s*$/.exec(new TextDecoder().decode(out.stdout))?.[1];
  assert.equal(`sha256=${hex}`, signBody(env.SECRET, Number(env.TS), env.BODY));
});
