/**
 * The folders of src/ form layers, and an import only points down (or stays in its folder):
 * a folder never imports one above it, so there is no cycle between folders either. src/
 * code never imports from tests/ or scripts/. The order, lowest first, is {@link LAYERS}.
 */
import assert from "node:assert/strict";
import { ROOT } from "./support/cli.ts";

const LAYERS = [
  ["util"],
  ["(root)"], // src/errors.ts, src/version.ts
  ["time"],
  ["system"],
  ["config"],
  ["db"],
  ["shared", "metrics"],
  ["notify"],
  ["conntrack", "monitor", "report"],
  ["cli"],
];

const rank = new Map(LAYERS.flatMap((names, i) => names.map((n) => [n, i] as const)));

function folderOf(path: string): string {
  const parts = path.split("/");
  return parts.length > 2 ? parts[1] : "(root)";
}

/** `from` folder → imported folders, for every relative import of a non-test file in src/. */
async function folderImports(): Promise<{ edges: Set<string>; outside: string[] }> {
  const edges = new Set<string>();
  const outside: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(`${ROOT}/${dir}`)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) {
        const text = await Deno.readTextFile(`${ROOT}/${path}`);
        // The generated worker bundle holds its sources as a string: no imports of its own.
        const specifiers = [
          ...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)"/gms),
          ...text.matchAll(/\bimport\(\s*"(\.{1,2}\/[^"]+)"\s*\)/g),
        ].map((m) => m[1]);
        for (const spec of specifiers) {
          const target = new URL(spec, `file:///${path}`).pathname.slice(1);
          if (!target.startsWith("src/")) {
            if (/^(tests|scripts)\//.test(target)) outside.push(`${path} imports ${spec}`);
            continue;
          }
          const from = folderOf(path);
          const to = folderOf(target);
          if (from !== to) edges.add(`${from} -> ${to}`);
        }
      }
    }
  };
  await walk("src");
  return { edges, outside };
}

Deno.test("layers: every folder of src/ has a layer", async () => {
  for await (const e of Deno.readDir(`${ROOT}/src`)) {
    if (e.isDirectory) assert.ok(rank.has(e.name), `src/${e.name} is in no layer of LAYERS`);
  }
});

Deno.test("layers: imports between folders of src/ point down only; none reaches into tests/ or scripts/", async () => {
  const { edges, outside } = await folderImports();
  assert.ok(edges.size > 10, "found almost no imports: the reader is broken");
  assert.deepEqual(outside, []);
  const upward = [...edges].filter((edge) => {
    const [from, to] = edge.split(" -> ");
    return rank.get(to)! >= rank.get(from)!;
  });
  assert.deepEqual(upward, [], "upward or sideways imports between folders");
});
