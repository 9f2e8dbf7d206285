import assert from "node:assert/strict";
import { ConfigError } from "../errors.ts";
import { closestKey, parseSearchConf } from "./search_conf.ts";

const F = "/etc/mysql_search/search.conf";

Deno.test("search.conf: the established flat form with repeated server blocks", () => {
  const text = `# comment
db_host=localhost
db_user=monitor_user
db_id=0
monitor_interval_sec=3600

# second
db_host=db-dev-02.example.com
db_user=dev_monitor
db_id=1
monitor_interval_sec=600

prometheus_truncate=1
`;
  const raw = parseSearchConf(text, F);
  assert.equal(raw.servers.length, 2);
  assert.equal(raw.servers[0].settings.get("db_host")?.value, "localhost");
  assert.equal(raw.servers[1].settings.get("db_user")?.value, "dev_monitor");
  assert.equal(raw.servers[1].settings.get("monitor_interval_sec")?.line, 11);
  assert.equal(raw.globals.get("prometheus_truncate")?.value, "1");
});

Deno.test("search.conf: [server NAME] sections after global defaults", () => {
  const raw = parseSearchConf(
    "workers = 8\nmonitor_interval_sec=60\n[server main]\ndb_host=10.0.0.1\ndb_user=m\n[server b-2]\ndb_socket=/s\ndb_user=m\n",
    F,
  );
  assert.equal(raw.globals.get("workers")?.value, "8");
  assert.equal(raw.globals.get("monitor_interval_sec")?.value, "60");
  assert.deepEqual(raw.servers.map((s) => s.name), ["main", "b-2"]);
  assert.equal(raw.servers[1].settings.get("db_socket")?.value, "/s");
});

Deno.test("search.conf: malformed input names file, line and what to do", () => {
  const cases: [string, string][] = [
    ["db_host=a\ndb_usr=x\n", `${F}:2: unknown key "db_usr"; did you mean "db_user"?`],
    ["frobnicate=1\n", `${F}:1: unknown key (not shown, in case the line is a password)`],
    [
      "\n\njust text\n",
      `${F}:3: expected key=value (the line is not shown, in case it is a password)`,
    ],
    ["=value\n", `${F}:1: expected key=value (the line is not shown, in case it is a password)`],
    [
      "db_host=a\ndb_user=x\ndb_user=y\n",
      `${F}:3: "db_user" is set twice (first on line 2); keep one`,
    ],
    [
      "[server a]\ndb_host=x\nworkers=3\n",
      `${F}:3: "workers" is a global setting; move it above the first [server ...] section`,
    ],
    [
      "[server]\n",
      `${F}:1: bad section header; write [server NAME] (NAME: 1 to 64 letters, digits, _ . : -)`,
    ],
    ["[server a]\n[server a]\n", `${F}:2: server "a" is defined twice`],
    ["db_host=a\x01b\n", `${F}:1: control character in line (U+0001 in column 10); remove it`],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseSearchConf(text, F),
      (e: unknown) => e instanceof ConfigError && e.message === message,
      `${JSON.stringify(text)} should fail with ${message}`,
    );
  }
});

Deno.test("search.conf: closest key suggestion", () => {
  assert.equal(closestKey("prometheus_trunc"), "prometheus_truncate");
  assert.equal(closestKey("DB_HOST"), "db_host");
  assert.equal(closestKey("zzzzzzzz"), undefined);
});

Deno.test("search.conf: CR and CRLF end lines; controls anywhere on a key line are refused", () => {
  const raw = parseSearchConf("# c\rdb_host=a\r\ndb_user=m\rworkers=2", F);
  assert.equal(raw.servers[0].settings.get("db_user")?.line, 3);
  assert.equal(raw.globals.get("workers")?.line, 4);
  for (const [text, code] of [["db_user=a\u0085", "U+0085"], ["db_user=a\u202e", "U+202E"]]) {
    assert.throws(
      () => parseSearchConf(`db_host=x\n${text}\n`, F),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message === `${F}:2: control character in line (${code} in column 10); remove it`,
    );
  }
});

Deno.test("search.conf: a password file given as search.conf is never echoed", () => {
  for (const secret of ["hunter2-Secret", "c2VjcmV0LXBhc3N3b3Jk==", "p@ss=word;1", "[s3cret]"]) {
    assert.throws(() => parseSearchConf(`${secret}\n`, F), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, new RegExp(`^${F}:1: `));
      for (const part of secret.split(/[=\[\]]/).filter((p) => p.length > 2)) {
        assert.ok(!e.message.includes(part), e.message);
      }
      return true;
    });
  }
});

Deno.test("search.conf: a 1 MB unknown key gets no suggestion search and a short message", () => {
  const t = performance.now();
  assert.throws(
    () => parseSearchConf(`${"k".repeat(1 << 20)}=1\n`, F),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message === `${F}:1: unknown key (not shown, in case the line is a password)`,
  );
  // Generous bound: the quadratic search took seconds; the bounded one takes milliseconds.
  assert.ok(performance.now() - t < 1000);
});
