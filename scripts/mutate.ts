/**
 * Mutation check of the rules that matter: each named mutant changes one rule in a temporary
 * copy of the repository (the working tree is never touched), runs the test files named for it,
 * and counts as killed when they fail. Prints one line per mutant and a summary; exits 1 when a
 * mutant survived, its snippet is not found exactly once ("not applicable": the code moved or
 * changed, update the mutant), the mutated code does not type-check, or the unmutated tests
 * fail.
 *
 *   deno task mutate                # every mutant
 *   deno task mutate unlock-at-threshold connect-retcode   # only these
 *
 * Mutants are found by searching their snippet, not by line number: in the file named for them,
 * or else in the one program file under src/ that holds it (code moved; the report says where). Worker threads run the committed parser
 * bundle (src/conntrack/scan_worker_bundle.ts), which a mutant of parser.ts or scan.ts does not
 * change: the tests named for those mutants exercise the main-thread path.
 * @module
 */

/** One textual change: `find` must occur exactly once in the file. */
interface Edit {
  find: string;
  replace: string;
}

/** A named mutant: the rule it breaks, where, and the tests that must catch it. */
interface Mutant {
  name: string;
  rule: string;
  file: string;
  edits: Edit[];
  tests: string[];
}

const DECIDE = "src/monitor/decide.ts";
const DECIDE_TESTS = ["src/monitor/decide_test.ts"];
const PARSER = "src/conntrack/parser.ts";
const PARSER_TESTS = ["src/conntrack/parser_test.ts"];

const MUTANTS: Mutant[] = [
  {
    name: "unlock-at-threshold",
    rule: "usage must fall strictly below the unlock threshold",
    file: DECIDE,
    edits: [{
      find: "usage < unlockBelow && !input.incomplete",
      replace: "usage <= unlockBelow && !input.incomplete",
    }],
    tests: DECIDE_TESTS,
  },
  {
    name: "unlock-on-incomplete-scan",
    rule: "an incomplete scan never unlocks",
    file: DECIDE,
    edits: [{
      find: "usage < unlockBelow && !input.incomplete",
      replace: "usage < unlockBelow",
    }],
    tests: DECIDE_TESTS,
  },
  {
    name: "soft-inclusive",
    rule: "exactly the soft limit is not over it",
    file: DECIDE,
    edits: [{
      find: "soft !== undefined && usage > soft;",
      replace: "soft !== undefined && usage >= soft;",
    }],
    tests: DECIDE_TESTS,
  },
  {
    name: "hard-inclusive",
    rule: "exactly the hard limit is not over it",
    file: DECIDE,
    edits: [{ find: "const overHard = usage > hard;", replace: "const overHard = usage >= hard;" }],
    tests: DECIDE_TESTS,
  },
  {
    name: "unlock-threshold-one-limit",
    rule: "with soft = hard the unlock threshold is 90 % of hard, not soft",
    file: DECIDE,
    edits: [{
      find: "soft !== undefined && soft < hard ? soft",
      replace: "soft !== undefined && soft <= hard ? soft",
    }],
    tests: DECIDE_TESTS,
  },
  {
    name: "connect-retcode",
    rule: "a CONNECT with a non-zero retcode is not a login",
    file: "src/conntrack/scan.ts",
    edits: [{
      find: 'e.op === "CONNECT" && e.retcode === 0 && !e.multiline',
      replace: 'e.op === "CONNECT" && !e.multiline',
    }],
    tests: ["src/conntrack/scan_test.ts", "tests/unit/conntrack_retcode_test.ts"],
  },
  {
    name: "hold-back-inside-line",
    rule: "the hold-back starts at a line start (off by one: at the newline)",
    file: PARSER,
    edits: [{
      find: "Math.max(0, buf.lastIndexOf(10, to - HOLD_BYTES) + 1)",
      replace: "Math.max(0, buf.lastIndexOf(10, to - HOLD_BYTES))",
    }],
    tests: PARSER_TESTS,
  },
  {
    name: "hold-back-one-short",
    rule: "the hold-back keeps HOLD_BYTES - 1 bytes at least (off by one: a byte less)",
    file: PARSER,
    edits: [{
      find: "Math.max(0, buf.lastIndexOf(10, to - HOLD_BYTES) + 1)",
      replace: "Math.max(0, buf.lastIndexOf(10, to - HOLD_BYTES + 1) + 1)",
    }],
    tests: PARSER_TESTS,
  },
  {
    name: "unfinished-record",
    rule: "a line after a record that does not end like one is inside its username",
    file: PARSER,
    edits: [{
      find: "return between === 0 && completeRecord(buf, prev, end) ? -1 : prev;",
      replace: "return between === 0 ? -1 : prev;",
    }],
    tests: PARSER_TESTS,
  },
  {
    name: "session-kill-byte-exact",
    rule: "sessions are ended only for the byte-exact user name (not Frank for frank)",
    file: "src/monitor/accounts.ts",
    edits: [
      { find: "WHERE CAST(USER AS BINARY) = CAST(? AS BINARY)", replace: "WHERE USER = ?" },
      {
        find: "rows.filter((r) => String(r.user) === user)",
        replace: "rows.filter((r) => String(r.user).toLowerCase() === user.toLowerCase())",
      },
    ],
    tests: ["src/monitor/sessions_test.ts", "tests/monitor_grants_test.ts"],
  },
  {
    name: "longest-prefix",
    rule: "prefix mapping charges a schema to the longest matching account name",
    file: "src/monitor/mapping.ts",
    edits: [{ find: "if (names.has(p)) owner = p;", replace: "if (names.has(p)) owner ??= p;" }],
    tests: ["src/monitor/mapping_test.ts"],
  },
  {
    name: "record-before-act",
    rule: "the intent is recorded (fsynced) before ALTER USER is sent",
    file: "src/monitor/act.ts",
    edits: [{
      find: "if (!tryWrite(ctx, () => ctx.writes.intend(id, key, verb))) {",
      replace: "if (!tryWrite(ctx, () => undefined)) {",
    }],
    tests: ["tests/monitor_crash_test.ts"],
  },
  {
    name: "grace-seconds-inclusive",
    rule: "a duration grace is over at exactly hard_grace after the first scan above (>=, not >)",
    file: DECIDE,
    edits: [{
      find: "return { elapsed: left <= 0, due: `in ${durationText(left)}` };",
      replace: "return { elapsed: left < 0, due: `in ${durationText(left)}` };",
    }],
    tests: DECIDE_TESTS,
  },
  {
    name: "grace-scans-inclusive",
    rule: "a grace of N scans acts at the Nth consecutive scan above, not the one after",
    file: DECIDE,
    edits: [{
      find: "return { elapsed: left <= 0, due: `after ${left} more scan",
      replace: "return { elapsed: left < 0, due: `after ${left} more scan",
    }],
    tests: DECIDE_TESTS,
  },
  {
    name: "restore-only-recorded",
    rule: "hard_action=readonly grants back exactly the privileges it recorded as revoked",
    file: "src/monitor/act.ts",
    edits: [{
      find: ": ctx.target.grant(ctx.flavour!, user, host, level, privs),",
      replace:
        ': ctx.target.grant(ctx.flavour!, user, host, level, ["INSERT", "UPDATE", "CREATE", "INDEX", "ALTER"]),',
    }],
    tests: ["src/monitor/brake_test.ts"],
  },
  {
    name: "record-before-revoke",
    rule: "the brake intent is recorded (fsynced) before REVOKE or GRANT is sent",
    file: "src/monitor/act.ts",
    edits: [{
      find: "() => ctx.writes.intendBrake(id, key, level, verb, privs),",
      replace: "() => undefined,",
    }],
    tests: ["src/monitor/brake_test.ts"],
  },
];

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

/** Result of one mutant. */
type Outcome = "killed" | "survived" | "not applicable" | "does not compile";

async function run(cmd: string, args: string[], cwd: string) {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, output: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

/** Copies the working tree's files (tracked and new, not ignored) into a temporary directory. */
async function copyRepo(): Promise<string> {
  const listed = await run("git", ["ls-files", "-z", "-co", "--exclude-standard"], ROOT);
  if (listed.code !== 0) throw new Error(`git ls-files failed: ${listed.output}`);
  const dir = await Deno.makeTempDir({ prefix: "mmd-mutate-" });
  for (const rel of listed.output.split("\0").filter(Boolean)) {
    if (rel === ".tools" || rel.startsWith(".tools/")) continue;
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(`${ROOT}/${rel}`);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) continue; // deleted in the working tree
      throw err;
    }
    if (!info.isFile) continue;
    await Deno.mkdir(`${dir}/${rel.slice(0, rel.lastIndexOf("/") + 1) || "."}`, {
      recursive: true,
    });
    await Deno.copyFile(`${ROOT}/${rel}`, `${dir}/${rel}`);
  }
  return dir;
}

/** Applies `edits` to `text`; undefined when a snippet is not found exactly once. */
function apply(text: string, edits: Edit[]): string | undefined {
  let out = text;
  for (const { find, replace } of edits) {
    if (out.split(find).length !== 2) return undefined;
    out = out.replace(find, () => replace);
  }
  return out;
}

/** Every program file under `dir`/src (not tests), relative to `dir`. */
function sourceFiles(dir: string, rel = "src"): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(`${dir}/${rel}`)) {
    const path = `${rel}/${e.name}`;
    if (e.isDirectory) out.push(...sourceFiles(dir, path));
    else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) out.push(path);
  }
  return out.sort();
}

/** Where a mutant applies in the copy, or why it does not. */
type Placement = { file: string; original: string; mutated: string } | { missing: string };

/**
 * Finds the file the mutant's snippets are in: its named file, or else the one program file
 * under src/ that holds them all exactly once (the code moved). Its test files must exist.
 */
function place(copy: string, m: Mutant): Placement {
  const gone = m.tests.filter((t) => {
    try {
      return !Deno.statSync(`${copy}/${t}`).isFile;
    } catch {
      return true;
    }
  });
  if (gone.length) return { missing: `test file(s) ${gone.join(", ")} not found` };
  const tryFile = (file: string) => {
    let original: string;
    try {
      original = Deno.readTextFileSync(`${copy}/${file}`);
    } catch {
      return undefined;
    }
    const mutated = apply(original, m.edits);
    return mutated === undefined ? undefined : { file, original, mutated };
  };
  const named = tryFile(m.file);
  if (named) return named;
  const found = sourceFiles(copy).map(tryFile).filter((x) => x !== undefined);
  if (found.length === 1) return found[0];
  return {
    missing: found.length
      ? `snippet found in ${found.length} files (${found.map((f) => f.file).join(", ")})`
      : `snippet not found in ${m.file} nor anywhere else under src/`,
  };
}

async function runTests(copy: string, tests: string[]): Promise<{ code: number; output: string }> {
  return await run(Deno.execPath(), ["test", "-q", "-P=test", ...tests], copy);
}

async function main(names: string[]): Promise<number> {
  const unknown = names.filter((n) => !MUTANTS.some((m) => m.name === n));
  if (unknown.length) {
    console.error(
      `mutate: unknown mutant(s) ${unknown.join(", ")}; known: ${
        MUTANTS.map((m) => m.name).join(", ")
      }`,
    );
    return 2;
  }
  const chosen = names.length ? MUTANTS.filter((m) => names.includes(m.name)) : MUTANTS;
  const copy = await copyRepo();
  try {
    // The tests must pass on the unmutated code, or a failure says nothing about a mutant.
    const allTests = [...new Set(chosen.flatMap((m) => m.tests))].filter((t) => {
      try {
        return Deno.statSync(`${copy}/${t}`).isFile;
      } catch {
        return false; // reported as "not applicable" with its mutant
      }
    });
    const started = performance.now();
    const baseline = await runTests(copy, allTests);
    if (baseline.code !== 0) {
      console.error(baseline.output.slice(-3000));
      console.error("mutate: the tests fail without any mutant; fix them first");
      return 1;
    }
    console.log(
      `baseline: ${allTests.length} test files pass (${
        ((performance.now() - started) / 1000).toFixed(1)
      } s)`,
    );
    const counts: Record<Outcome, number> = {
      killed: 0,
      survived: 0,
      "not applicable": 0,
      "does not compile": 0,
    };
    for (const m of chosen) {
      const placed = place(copy, m);
      let outcome: Outcome;
      let where = m.file;
      const t0 = performance.now();
      if ("missing" in placed) {
        outcome = "not applicable";
        where = `${m.file}: ${placed.missing}`;
      } else {
        const { file, original, mutated } = placed;
        if (file !== m.file) where = `${file} (moved from ${m.file})`;
        await Deno.writeTextFile(`${copy}/${file}`, mutated);
        try {
          const r = await runTests(copy, m.tests);
          // A type error fails the tests too, but says nothing about them: the mutant is wrong.
          outcome = r.code === 0
            ? "survived"
            : /\bTS\d{4}\b/.test(r.output)
            ? "does not compile"
            : "killed";
        } finally {
          await Deno.writeTextFile(`${copy}/${file}`, original);
        }
      }
      counts[outcome]++;
      const secs = ((performance.now() - t0) / 1000).toFixed(1);
      console.log(
        `${outcome.padEnd(14)} ${m.name.padEnd(28)} ${where} (${
          m.tests.join(", ")
        }; ${secs} s): ${m.rule}`,
      );
    }
    console.log(
      `mutants: ${chosen.length}, killed ${counts.killed}, survived ${counts.survived}, ` +
        `not applicable ${counts["not applicable"]}, does not compile ${
          counts["does not compile"]
        }`,
    );
    return counts.killed === chosen.length ? 0 : 1;
  } finally {
    await Deno.remove(copy, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
