/**
 * Every relative link in README.md and docs/*.md names a file or directory that exists (the
 * part before `#`), so a renamed or moved file cannot leave a dead link behind.
 */
import assert from "node:assert/strict";
import { ROOT } from "./support/cli.ts";

/** Relative link targets of `markdown`: inline `[text](target)` and `[label]: target` lines. */
export function relativeLinks(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, "");
  const targets = [
    ...[...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]),
    ...[...prose.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]),
  ];
  return targets.filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t) && !t.startsWith("#"));
}

Deno.test("doc links: the extractor finds inline and reference links, not URLs or code", () => {
  const md = "See [a](docs/a.md#x) and [b](<c d.md>), [u](https://x.example), [#](#top).\n" +
    "```\n[in](code.md)\n```\n[ref]: ../e.md\n";
  assert.deepEqual(relativeLinks(md), ["docs/a.md#x", "../e.md"]);
});

Deno.test("doc links: every relative link in README.md and docs/*.md resolves", async () => {
  const files = ["README.md"];
  for await (const e of Deno.readDir(`${ROOT}/docs`)) {
    if (e.isFile && e.name.endsWith(".md")) files.push(`docs/${e.name}`);
  }
  const dead: string[] = [];
  let checked = 0;
  for (const file of files.sort()) {
    const base = file.includes("/") ? file.slice(0, file.lastIndexOf("/") + 1) : "";
    for (const link of relativeLinks(await Deno.readTextFile(`${ROOT}/${file}`))) {
      const path = decodeURIComponent(link.split("#")[0]);
      if (path === "") continue;
      checked++;
      try {
        await Deno.stat(`${ROOT}/${base}${path}`);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
        dead.push(`${file}: ${link}`);
      }
    }
  }
  assert.ok(checked > 0, "no relative links found at all: the extractor is broken");
  assert.deepEqual(dead, []);
});
