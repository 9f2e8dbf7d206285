/**
 * Documentation that cannot rot: the README's search_user example parses as written, and
 * docs/configuration.md lists exactly the keys the parsers accept, with the defaults they apply.
 */
import assert from "node:assert/strict";
import { ROOT } from "./support/cli.ts";
import { parseSearchUser } from "../src/config/search_user.ts";
import { GLOBAL_KEYS, SERVER_KEYS, SHARED_KEYS } from "../src/config/search_conf.ts";
import { loadConfig } from "../src/config/config.ts";
import { CONNTRACK_KEYS, parseConntrackConfig } from "../src/config/conntrack_ini.ts";
import { ConfigError } from "../src/errors.ts";
import { signBody } from "../src/notify/webhook.ts";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** The first fenced block after the line `heading` in `markdown`. */
function blockAfter(markdown: string, heading: string): string {
  const lines = markdown.split("\n");
  const at = lines.indexOf(heading);
  assert.ok(at >= 0, `no heading "${heading}"`);
  const open = lines.findIndex((l, i) => i > at && l.startsWith("```"));
  const close = lines.findIndex((l, i) => i > open && l.startsWith("```"));
  assert.ok(open > at && close > open, `no fenced block after "${heading}"`);
  return lines.slice(open + 1, close).join("\n") + "\n";
}

/** The text of the `## title` section of `markdown`, up to the next `## ` heading. */
function section(markdown: string, title: string): string {
  const start = markdown.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `no section "## ${title}"`);
  const end = markdown.indexOf("\n## ", start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

/** Table rows of `text` whose first cell is one key in backquotes: key and default cell. */
function keyRows(text: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const m of text.matchAll(/^\| `([A-Za-z_]+)`\s*\|\s*([^|]*?)\s*\|/gm)) {
    assert.ok(!rows.has(m[1]), `${m[1]} is listed twice`);
    rows.set(m[1], m[2]);
  }
  return rows;
}

/** The default when the cell is one literal in backquotes and nothing else. */
function literal(cell: string): string | undefined {
  return /^`([^`]+)`$/.exec(cell)?.[1];
}

Deno.test("docs: the README's search_user example parses as written, with the limits it describes", () => {
  const readme = Deno.readTextFileSync(`${ROOT}/README.md`);
  const users = parseSearchUser(blockAfter(readme, "### search_user"), "README.md");
  const byName = new Map(users.map((u) => [u.user, u]));
  assert.deepEqual(
    [...byName.keys()],
    ["alice", "bob", "carol", "dave", "sales,emea", "we@ird"],
  );
  const pick = (name: string) => {
    const { host, soft, hard } = byName.get(name)!;
    return { host, soft, hard };
  };
  assert.deepEqual(pick("alice"), { host: undefined, soft: 2 * GiB, hard: 3 * GiB });
  assert.deepEqual(pick("bob"), { host: undefined, soft: 500 * MiB, hard: 500 * MiB });
  assert.deepEqual(pick("carol"), { host: undefined, soft: undefined, hard: 10 * GiB });
  assert.deepEqual(pick("dave"), { host: "10.0.0.%", soft: 1.5 * GiB, hard: 2 * GiB });
  assert.deepEqual(pick("sales,emea"), { host: undefined, soft: GiB, hard: GiB });
  assert.deepEqual(pick("we@ird"), { host: "localhost", soft: GiB, hard: GiB });
});

Deno.test("docs: configuration.md's search_user example parses as written", () => {
  const doc = Deno.readTextFileSync(`${ROOT}/docs/configuration.md`);
  const users = parseSearchUser(blockAfter(doc, "## search_user"), "configuration.md");
  assert.equal(users.length, 7);
  assert.deepEqual(users.find((u) => u.user === "sales,emea")?.hard, GiB);
  const frank = users.find((u) => u.user === "frank");
  assert.deepEqual([frank?.soft, frank?.hard, frank?.action], [4 * GiB, 5 * GiB, "readonly"]);
});

Deno.test("docs: configuration.md lists exactly the keys each parser accepts", () => {
  const doc = Deno.readTextFileSync(`${ROOT}/docs/configuration.md`);
  const check = (title: string, accepted: readonly string[]) => {
    const listed = [...keyRows(section(doc, title)).keys()];
    const missing = accepted.filter((k) => !listed.includes(k));
    const unknown = listed.filter((k) => !accepted.includes(k));
    assert.deepEqual(missing, [], `${title}: keys the parser accepts but the page omits`);
    assert.deepEqual(unknown, [], `${title}: keys on the page the parser does not accept`);
  };
  check("search.conf", [...SERVER_KEYS, ...SHARED_KEYS, ...GLOBAL_KEYS]);
  check("conntracker.ini", CONNTRACK_KEYS);
  // search_user's fields.
  assert.deepEqual([...keyRows(section(doc, "search_user")).keys()], [
    "user",
    "host",
    "soft",
    "hard",
    "action",
  ]);
});

Deno.test("docs: writing out a documented search.conf default changes nothing", async () => {
  const doc = Deno.readTextFileSync(`${ROOT}/docs/configuration.md`);
  const dir = await Deno.makeTempDir({ prefix: "mmd-docs-" });
  try {
    await Deno.writeTextFile(`${dir}/search_user`, "alice,1G\n");
    await Deno.writeTextFile(`${dir}/passwd`, "x\n", { mode: 0o600 });
    await Deno.chmod(`${dir}/passwd`, 0o600);
    const load = async (globals: string, server: string) => {
      await Deno.writeTextFile(
        `${dir}/search.conf`,
        `${globals}passwd_file=${dir}/passwd\ndb_host=db1.example.org\ndb_user=monitor\n${server}`,
      );
      return await loadConfig(dir, { passwdDb: "/etc/passwd" });
    };
    let checked = 0;
    for (const [key, cell] of keyRows(section(doc, "search.conf"))) {
      const value = literal(cell);
      if (value === undefined) continue;
      const line = `${key}=${value}\n`;
      const where = (SERVER_KEYS as readonly string[]).includes(key) ? "server" : "global";
      // The TLS keys only load with TLS on; the default is then compared with TLS on.
      const base = key.startsWith("tls_") ? "tls=1\n" : "";
      const before = await load(base, "");
      let after;
      try {
        after = where === "server" ? await load(base, line) : await load(base + line, "");
      } catch (err) {
        assert.fail(
          `${key}=${value} (documented default) is refused: ${(err as ConfigError).message}`,
        );
      }
      assert.deepEqual(after, before, `${key}: the documented default ${value} is not the default`);
      checked++;
    }
    assert.ok(checked >= 15, `only ${checked} defaults checked`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("docs: writing out a documented conntracker.ini default changes nothing", () => {
  const doc = Deno.readTextFileSync(`${ROOT}/docs/configuration.md`);
  const base = "[default]\nSqlitePath = /var/lib/mysql/audit.sqlite\nServerName = db1\n";
  let checked = 0;
  for (const [key, cell] of keyRows(section(doc, "conntracker.ini"))) {
    const value = literal(cell);
    if (value === undefined) continue;
    // TLS sub-keys need their TLS flag on, and Store keys a Store.
    const prefix = /^(Report|Store)/.exec(key)?.[1];
    let context = "";
    if (prefix === "Store" && key !== "Store") context += "Store = mysql://db1@central/conntrack\n";
    if (/TLS.+/.test(key)) context += `${prefix}TLS = 1\n`;
    if (prefix === "Report" && /TLS|PublicKey/.test(key)) context += "ReportHost = db1\n";
    const before = parseConntrackConfig(base + context, "conntracker.ini");
    const after = parseConntrackConfig(base + context + `${key} = ${value}\n`, "conntracker.ini");
    // Whether TimeLocation was written out only decides a warning about the machine's zone.
    const { timeLocationSet: _a, ...afterValues } = after;
    const { timeLocationSet: _b, ...beforeValues } = before;
    assert.deepEqual(
      afterValues,
      beforeValues,
      `${key}: the documented default ${value} is not the default`,
    );
    checked++;
  }
  assert.ok(checked >= 10, `only ${checked} defaults checked`);
});

/** GitHub's anchor of a heading: lower case, punctuation but `-` and `_` dropped, spaces → `-`. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-");
}

/** The anchors of the headings of `markdown` (outside fenced blocks). */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    const m = !fenced && /^#{1,6} (.+)$/.exec(line);
    if (m) out.add(slug(m[1]));
  }
  return out;
}

Deno.test("docs: every relative link of the README and docs/ names a file (and heading) that exists", () => {
  const pages = [
    "README.md",
    ...[...Deno.readDirSync(`${ROOT}/docs`)].filter((e) => e.name.endsWith(".md")).map((e) =>
      `docs/${e.name}`
    ),
  ];
  const broken: string[] = [];
  let checked = 0;
  for (const page of pages) {
    const text = Deno.readTextFileSync(`${ROOT}/${page}`).replace(/```[\s\S]*?```/g, "");
    const dir = page.includes("/") ? page.slice(0, page.lastIndexOf("/") + 1) : "";
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      const [path, anchor] = target.split("#");
      const file = path === "" ? page : new URL(path, `file:///${dir}`).pathname.slice(1);
      checked++;
      let exists = false;
      try {
        exists = Deno.statSync(`${ROOT}/${file}`).isFile ||
          Deno.statSync(`${ROOT}/${file}`).isDirectory;
      } catch { /* missing */ }
      if (!exists) broken.push(`${page}: ${target} (no ${file})`);
      else if (anchor && file.endsWith(".md")) {
        if (!anchors(Deno.readTextFileSync(`${ROOT}/${file}`)).has(anchor)) {
          broken.push(`${page}: ${target} (no heading #${anchor} in ${file})`);
        }
      }
    }
  }
  assert.deepEqual(broken, []);
  assert.ok(checked >= 40, `only ${checked} links checked`);
});

Deno.test("docs: the README stays a front page (at most 150 lines) with the two quick-start commands", () => {
  const readme = Deno.readTextFileSync(`${ROOT}/README.md`);
  assert.ok(readme.split("\n").length <= 151, `README has ${readme.split("\n").length} lines`);
  const quick = blockAfter(readme, "## Quick start");
  assert.match(quick, /^\.\/scripts\/demo\.sh\b/m);
  assert.match(quick, /^\.\/scripts\/test\.sh\b/m);
});

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
