import assert from "node:assert/strict";
import { ConfigError } from "../errors.ts";
import { parseSearchUser } from "./search_user.ts";

const F = "/etc/mysql_search/search_user";
const G = 1024 ** 3;
const M = 1024 ** 2;

Deno.test("search_user: the established examples and the new forms", () => {
  const users = parseSearchUser(
    `# Monitored users
test_user_01,1.5GB,2GB

test_user_02,3GB
test_user_03,500MB
o'brien@localhost , 1G , 2G
hardonly,,10M
a@b@%,1K
"we,ird@name",1K
"say \\"hi\\" \\\\ ok"@10.0.0.%,1K
  \u00a0nbsp\u3000 ,\t1K
`,
    F,
  );
  assert.deepEqual(users, [
    { user: "test_user_01", host: undefined, soft: 1.5 * G, hard: 2 * G, line: 2 },
    { user: "test_user_02", host: undefined, soft: 3 * G, hard: 3 * G, line: 4 },
    { user: "test_user_03", host: undefined, soft: 500 * M, hard: 500 * M, line: 5 },
    { user: "o'brien", host: "localhost", soft: G, hard: 2 * G, line: 6 },
    { user: "hardonly", host: undefined, soft: undefined, hard: 10 * M, line: 7 },
    { user: "a@b", host: "%", soft: 1024, hard: 1024, line: 8 },
    { user: "we,ird@name", host: undefined, soft: 1024, hard: 1024, line: 9 },
    { user: 'say "hi" \\ ok', host: "10.0.0.%", soft: 1024, hard: 1024, line: 10 },
    // Only ASCII blanks are trimmed: the no-break and ideographic spaces belong to the name.
    { user: "\u00a0nbsp\u3000", host: undefined, soft: 1024, hard: 1024, line: 11 },
  ]);
});

Deno.test("search_user: an optional 4th field sets the user's action over the hard limit", () => {
  const users = parseSearchUser(
    `alice,2G,3G,readonly
bob,500M,,readonly
carol,,10G, lock
"d,ave"@10.0.0.%,1G,2G,readonly
erin,1G,2G
`,
    F,
  );
  assert.deepEqual(users, [
    { user: "alice", host: undefined, soft: 2 * G, hard: 3 * G, action: "readonly", line: 1 },
    // An empty hard field with an action: one limit, as bob,500M.
    { user: "bob", host: undefined, soft: 500 * M, hard: 500 * M, action: "readonly", line: 2 },
    { user: "carol", host: undefined, soft: undefined, hard: 10 * G, action: "lock", line: 3 },
    { user: "d,ave", host: "10.0.0.%", soft: G, hard: 2 * G, action: "readonly", line: 4 },
    // Without the field the server's hard_action applies: no action on the line.
    { user: "erin", host: undefined, soft: G, hard: 2 * G, line: 5 },
  ]);
});

Deno.test("search_user: malformed lines give file:line errors", () => {
  const cases: [string, string][] = [
    [
      "alice\n",
      `${F}:1: expected user,soft[,hard[,action]] (e.g. alice,2GB,3GB or alice,2GB,3GB,readonly), got 1 field(s)`,
    ],
    [
      "alice,1G,2G,lock,x\n",
      `${F}:1: expected user,soft[,hard[,action]] (e.g. alice,2GB,3GB or alice,2GB,3GB,readonly), got 5 field(s)`,
    ],
    [
      "alice,1G,2G,3G\n",
      `${F}:1: action (4th field) must be lock or readonly, got "3G"`,
    ],
    ["alice,1G,2G,\n", `${F}:1: action (4th field) must be lock or readonly, got ""`],
    ["alice,1G,2G,LOCK\n", `${F}:1: action (4th field) must be lock or readonly, got "LOCK"`],
    [
      "alice,,,readonly\n",
      `${F}:1: soft limit: "" is not a size; write bytes or a number with K, M, G or T (e.g. 500MB, 1.5G)`,
    ],
    ["# c\nalice,3G,2G\n", `${F}:2: soft limit 3G is above hard limit 2G`],
    ["alice,0\n", `${F}:1: soft limit: size "0" is zero; sizes must be above 0`],
    ["alice,1G,-5M\n", `${F}:1: hard limit: size "-5M" is negative; sizes must be above 0`],
    [
      "alice,lots\n",
      `${F}:1: soft limit: "lots" is not a size; write bytes or a number with K, M, G or T (e.g. 500MB, 1.5G)`,
    ],
    ["alice,1G\nbob,1G\nalice,2G\n", `${F}:3: user "alice" is listed twice (first on line 1)`],
    ["ali\x07ce,1G\n", `${F}:1: control character in line (U+0007 in column 4); remove it`],
    [",1G\n", `${F}:1: empty user name`],
    ["alice@,1G\n", `${F}:1: empty host after "@" in "alice@"`],
    [
      '"alice,1G\n',
      `${F}:1: unterminated quoted user name; write "name",soft[,hard] (\\" for a quote)`,
    ],
    [
      '"alice"x,1G\n',
      `${F}:1: unexpected text after the quoted user name; write "name"@host or "name"`,
    ],
    ['"",1G\n', `${F}:1: empty user name`],
    ["al\tice,1G\n", `${F}:1: tab inside a user name or host`],
    [
      "alice,1G,\n",
      `${F}:1: hard limit: "" is not a size; write bytes or a number with K, M, G or T (e.g. 500MB, 1.5G)`,
    ],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseSearchUser(text, F),
      (e: unknown) => e instanceof ConfigError && e.message === message,
      `${JSON.stringify(text)} should fail with: ${message}`,
    );
  }
});

Deno.test("search_user: CR-only line ends after a comment still give every user", () => {
  const users = parseSearchUser("# monitored users\ralice,1G,2G\rbob,3G\r", F);
  assert.deepEqual(users.map((u) => [u.user, u.line]), [["alice", 2], ["bob", 3]]);
  const mixed = parseSearchUser("# c\r\nalice,1G\n# d\rbob,2G", F);
  assert.deepEqual(mixed.map((u) => [u.user, u.line]), [["alice", 2], ["bob", 4]]);
});

Deno.test("search_user: C1 controls, DEL, format characters and separators are refused", () => {
  for (
    const [name, code] of [
      ["a\u0085b", "U+0085"],
      ["a\u009bb", "U+009B"],
      ["a\u007fb", "U+007F"],
      ["a\u202eb", "U+202E"],
      ["a\u200bb", "U+200B"],
      ["a\ufeffb", "U+FEFF"],
      ["a\u2028b", "U+2028"],
      ["a\vb", "U+000B"],
    ]
  ) {
    assert.throws(
      () => parseSearchUser(`ok,1G\n${name},1G\n`, F),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message === `${F}:2: control character in line (${code} in column 2); remove it`,
      JSON.stringify(name),
    );
  }
});

Deno.test("search_user: a huge field is quoted cut and escaped, never whole", () => {
  const huge = "9".repeat(1_000_000) + "\u001b";
  for (const line of [`alice,${huge}`, `alice,1G,${"1".repeat(500_000)}Q`]) {
    assert.throws(() => parseSearchUser(line, F), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.ok(e.message.length < 300, e.message.slice(0, 300));
      return true;
    });
  }
  assert.throws(
    () => parseSearchUser(`alice,${"0".repeat(100)}2G,1G`, F),
    (e: unknown) =>
      e instanceof ConfigError && e.message.length < 200 &&
      e.message.includes('soft limit "000000000000000000000000…" (102 characters) is above'),
  );
});
