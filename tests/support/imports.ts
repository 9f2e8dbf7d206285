/**
 * The static import graph of the project's own TypeScript files, read from the source text (no
 * child process, so the unit set can use it): which local files each file imports.
 * @module
 */
import { ROOT } from "./cli.ts";

// `import … from "x"`, `export … from "x"`, `import "x"` and `import("x")` with a literal
// specifier. Specifiers built at run time (template strings in child scripts) are not imports
// of the file itself.
const IMPORT =
  /(?:^|\n)\s*(?:import|export)\b[^;'"`]*?\bfrom\s*["']([^"']+)["']|(?:^|\n)\s*import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** The specifiers `source` imports, in order of appearance. */
export function importSpecifiers(source: string): string[] {
  return [...source.matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3]);
}

/** Normalises `a/b/../c/./d` to `a/c/d`. */
function normalise(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "..") out.pop();
    else if (part !== "." && part !== "") out.push(part);
  }
  return out.join("/");
}

/** Local imports of `file` (a path relative to the repository root), as root-relative paths. */
export function localImports(file: string): string[] {
  const dir = file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : "";
  return importSpecifiers(Deno.readTextFileSync(`${ROOT}/${file}`))
    .filter((s) => s.startsWith("./") || s.startsWith("../"))
    .map((s) => normalise(`${dir}/${s}`));
}

/** Every file under `dir` (root-relative) whose name ends with `suffix`, sorted. */
export function filesUnder(dir: string, suffix: string): string[] {
  const skip = new Set([".git", ".tools", ".test-tmp", "dist", "node_modules"]);
  const found: string[] = [];
  const walk = (rel: string) => {
    for (const e of Deno.readDirSync(`${ROOT}/${rel}`)) {
      if (skip.has(e.name)) continue;
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) walk(path);
      else if (e.isFile && e.name.endsWith(suffix)) found.push(path);
    }
  };
  walk(dir);
  return found.sort();
}

/** `file` and every local file it reaches through imports (root-relative), sorted. */
export function reachable(file: string): string[] {
  const seen = new Set<string>();
  const todo = [file];
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    if (f.endsWith(".ts")) todo.push(...localImports(f));
  }
  return [...seen].sort();
}
