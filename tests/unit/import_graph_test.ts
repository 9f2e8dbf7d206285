/**
 * Layers point down only. Each folder of `src/` (and each file directly in it) has a layer; a
 * file may import files of its own folder, of a lower layer, or of another folder of its own
 * layer as long as no two folders import each other (directly or round a longer cycle).
 * `src/` never imports from `tests/`; its program files import nothing outside `src/` but
 * deno.json.
 */
import assert from "node:assert/strict";
import { filesUnder, localImports } from "../support/imports.ts";

/** Layer of each unit of `src/`: a folder name, or a file directly in `src/`. Lower is lower. */
const LAYERS: Record<string, number> = {
  util: 0,
  "errors.ts": 1,
  "version.ts": 1,
  time: 1,
  system: 2,
  metrics: 2,
  config: 3,
  db: 4,
  shared: 4,
  notify: 4,
  conntrack: 5,
  monitor: 5,
  report: 5,
  cli: 6,
  "main.ts": 7,
};

/**
 * Imports allowed to break the rule, each with the change that is to remove it. Empty since the
 * zone code moved to src/time/ and db/ got its own connection options; an entry that no longer
 * matches an import fails the test, so the list only shrinks.
 */
const ALLOWED: { from: string; to: string; why: string }[] = [];

/** The layer unit of a root-relative path: `main.ts`, `src/<folder>/…` or `src/<file>`. */
function unitOf(path: string): string {
  if (path === "main.ts") return "main.ts";
  return path.split("/")[1];
}

interface Edge {
  from: string;
  to: string;
}

/** Every import between different units, from the production files (not tests). */
function crossEdges(): Edge[] {
  const files = ["main.ts", ...filesUnder("src", ".ts").filter((f) => !f.endsWith("_test.ts"))];
  const edges: Edge[] = [];
  for (const from of files) {
    for (const to of localImports(from)) {
      if (to.startsWith("src/") && unitOf(to) !== unitOf(from)) edges.push({ from, to });
    }
  }
  return edges;
}

const isAllowed = (e: Edge) => ALLOWED.some((a) => a.from === e.from && a.to === e.to);

Deno.test("import graph: every folder of src/ has a layer", () => {
  const units = new Set(
    filesUnder("src", ".ts").filter((f) => !f.endsWith("_test.ts")).map(unitOf),
  );
  assert.deepEqual([...units].filter((u) => !(u in LAYERS)), [], "add these to LAYERS");
});

Deno.test("import graph: no import points to a higher layer", () => {
  const upward = crossEdges().filter((e) =>
    LAYERS[unitOf(e.to)] > LAYERS[unitOf(e.from)] && !isAllowed(e)
  ).map((e) => `${e.from} -> ${e.to}`);
  assert.deepEqual(upward, []);
});

Deno.test("import graph: no cycle between folders", () => {
  const next = new Map<string, Set<string>>();
  for (const e of crossEdges().filter((e) => !isAllowed(e))) {
    const from = unitOf(e.from);
    if (!next.has(from)) next.set(from, new Set());
    next.get(from)!.add(unitOf(e.to));
  }
  // Depth-first search; a unit met again on the current path closes a cycle.
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const visit = (unit: string, path: string[]) => {
    if (state.get(unit) === "done") return;
    if (state.get(unit) === "open") {
      cycles.push([...path.slice(path.indexOf(unit)), unit].join(" -> "));
      return;
    }
    state.set(unit, "open");
    for (const to of next.get(unit) ?? []) visit(to, [...path, unit]);
    state.set(unit, "done");
  };
  for (const unit of next.keys()) visit(unit, []);
  assert.deepEqual(cycles, []);
});

Deno.test("import graph: every allowed exception still exists (the list only shrinks)", () => {
  const edges = crossEdges();
  const stale = ALLOWED.filter((a) => !edges.some((e) => e.from === a.from && e.to === a.to));
  assert.deepEqual(stale.map((a) => `${a.from} -> ${a.to}`), [], "remove these from ALLOWED");
});

Deno.test("import graph: src/ never imports from tests/; its program files only from src/", () => {
  const bad = filesUnder("src", ".ts").flatMap((from) =>
    localImports(from).filter((to) =>
      from.endsWith("_test.ts")
        ? to.startsWith("tests/") // a unit test may use scripts/bench generators, not tests/
        : !to.startsWith("src/") && to !== "deno.json"
    ).map((to) => `${from} -> ${to}`)
  );
  assert.deepEqual(bad, []);
});

Deno.test("import graph: the reader sees multi-line, re-export and dynamic imports", async () => {
  const { importSpecifiers } = await import("../support/imports.ts");
  assert.deepEqual(
    importSpecifiers(
      'import {\n  a,\n  b,\n} from "./a.ts";\nexport { c } from "../c.ts";\nimport "./d.ts";\n' +
        "const m = await import" + '("./e.ts");\nimport type { F } from "./f.ts";\n' +
        "const s = `import { x } from ${y}`;\n",
    ),
    ["./a.ts", "../c.ts", "./d.ts", "./e.ts", "./f.ts"],
  );
});
