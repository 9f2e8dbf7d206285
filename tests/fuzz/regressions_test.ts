/**
 * The faults issue 16 found in the configuration inputs, each kept as a fixed case and run the
 * way the fuzz suite runs a case through the program: `reload -c DIR` or `conntrack -c FILE`,
 * writes confined to the case's directory, permission checks audited, time and memory
 * measured, and the common oracles applied (exit code, one escaped line naming the file, no
 * stack trace, no password, no write elsewhere).
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config/config.ts";
import { loadConntrackConfig } from "../../src/config/conntrack_ini.ts";
import { CLI_MAX_MIB, CLI_MAX_MS, placeSpecial, type Special } from "./config_targets.ts";
import { commonProblems, type Outcome, runCliCase } from "./oracle.ts";

const SECRET = "S3crRegressionPw4711xyz";

/** A valid monitor configuration directory; `conf` lines are added to search.conf. */
async function monitorDir(conf = "", users = "alice,1G,2G\n"): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "mmd-regression-" });
  await Deno.writeTextFile(
    `${dir}/search.conf`,
    `pid_file=${dir}/monitor.pid\nstate_dir=${dir}/state\npasswd_file=${dir}/passwd\n${conf}` +
      `db_host=127.0.0.1\ndb_user=monitor\ndb_id=0\n`,
  );
  await Deno.writeTextFile(`${dir}/search_user`, users);
  await Deno.writeTextFile(`${dir}/passwd`, `${SECRET}\n`, { mode: 0o600 });
  await Deno.chmod(`${dir}/passwd`, 0o600);
  return dir;
}

/** `reload -c DIR`: the whole monitor configuration is loaded, nothing is signalled. */
function reload(dir: string): Promise<Outcome> {
  return runCliCase(["reload", "-c", dir], { dir, timeoutMs: CLI_MAX_MS, maxMiB: CLI_MAX_MIB });
}

/** `conntrack -c INI` with writes confined to `dir`. */
function conntrack(dir: string, ini: string): Promise<Outcome> {
  return runCliCase(["conntrack", "-c", ini], { dir, timeoutMs: CLI_MAX_MS, maxMiB: CLI_MAX_MIB });
}

/** Runs `run`, asserts the common oracles and `expect` on its single error line. */
async function expectError(
  dir: string,
  run: () => Promise<Outcome>,
  code: number,
  expect: RegExp,
  inputText = "",
) {
  try {
    const o = await run();
    const problems = commonProblems(o, {
      maxMs: CLI_MAX_MS,
      maxMiB: CLI_MAX_MIB,
      secrets: [SECRET],
      inputText,
      dir,
    });
    assert.deepEqual(problems, [], `${o.stderr}`);
    assert.equal(o.code, code, o.stderr);
    assert.match(o.stderr.trim(), expect);
    return o;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const SPECIALS: [Special, RegExp][] = [
  ["fifo", /is a FIFO \(named pipe\), not a regular file$/],
  ["zero", /is a character device, not a regular file$/],
];

Deno.test("regression: search.conf, search_user and passwd as a FIFO or /dev/zero fail fast with 78", async () => {
  for (const [kind, message] of SPECIALS) {
    for (const file of ["search.conf", "search_user", "passwd"]) {
      const dir = await monitorDir();
      await placeSpecial(`${dir}/${file}`, kind, 0);
      const label = file === "passwd" ? "password file" : "configuration file";
      const o = await expectError(
        dir,
        () => reload(dir),
        78,
        new RegExp(`^mysql_monitor_daemon: ${dir}/${file}: ${label} ${message.source}`),
      );
      // /dev/zero used to grow the process to gigabytes; the FIFO to block forever.
      assert.ok((o.peakMiB ?? 0) < 200, `${file} as ${kind}: ${o.peakMiB} MiB`);
    }
  }
});

Deno.test("regression: passwd_file, tls_ca, tls_cert and tls_key as a FIFO or /dev/zero fail fast", async () => {
  for (const [kind, message] of SPECIALS) {
    for (const key of ["passwd_file", "tls_ca", "tls_cert", "tls_key"]) {
      const dir = await monitorDir();
      const path = `${dir}/${key}.file`;
      const conf = await Deno.readTextFile(`${dir}/search.conf`);
      const extra = key === "passwd_file"
        ? conf.replace(`passwd_file=${dir}/passwd`, `passwd_file=${path}`)
        : key === "tls_cert"
        ? `tls=1\n${key}=${path}\ntls_key=${dir}/search_user\n${conf}`
        : key === "tls_key"
        // The certificate (an ordinary file here) is read before its key.
        ? `tls=1\ntls_cert=${dir}/search_user\n${key}=${path}\n${conf}`
        : `tls=1\n${key}=${path}\n${conf}`;
      await Deno.writeTextFile(`${dir}/search.conf`, extra);
      await placeSpecial(path, kind, 0);
      const where = key === "passwd_file"
        ? `${path}: password file `
        : `${dir}/search.conf:${key === "tls_key" ? 3 : 2}: ${key}: ${path}: file `;
      await expectError(
        dir,
        () => reload(dir),
        78,
        new RegExp(`^mysql_monitor_daemon: ${where}${message.source}`),
      );
    }
  }
});

Deno.test("regression: conntracker.ini and StorePasswordFile as a FIFO or /dev/zero fail fast", async () => {
  for (const [kind, message] of SPECIALS) {
    const dir = await Deno.makeTempDir({ prefix: "mmd-regression-" });
    await placeSpecial(`${dir}/c.ini`, kind, 0);
    await expectError(
      dir,
      () => conntrack(dir, `${dir}/c.ini`),
      78,
      new RegExp(`^mysql_monitor_daemon: ${dir}/c\\.ini: configuration ${message.source}`),
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "mmd-regression-" });
  await Deno.mkdir(`${dir}/audit`);
  // A log to read, so the run gets as far as the store's password.
  await Deno.writeTextFile(
    `${dir}/audit/server_audit.log`,
    "20261130 10:00:00,db1,alice,localhost,1,0,CONNECT,,,0\n",
  );
  await placeSpecial(`${dir}/store.pw`, "fifo", 0);
  const ini = `[default]\nAuditLogPath=${dir}/audit\nSqlitePath=${dir}/a.sqlite\n` +
    `Store=mysql://t@localhost/fleet?socket=${dir}/none.sock\nStorePasswordFile=${dir}/store.pw\n`;
  await Deno.writeTextFile(`${dir}/c.ini`, ini);
  await expectError(
    dir,
    () => conntrack(dir, `${dir}/c.ini`),
    78,
    /store\.pw: password file is a FIFO \(named pipe\), not a regular file$/,
    ini,
  );
});

Deno.test("regression: search_user with CR line ends after a comment keeps every user", async () => {
  const dir = await monitorDir("", "# monitored users\ralice,1G,2G\rbob,3G\r");
  try {
    const config = await loadConfig(dir, { credentialsDirectory: "" });
    assert.deepEqual(config.users.map((u) => u.user), ["alice", "bob"]);
    assert.deepEqual(config.servers.map((s) => s.password.reveal()), [SECRET]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("regression: C1 controls in a user name, a 300-character db_id, huge and hostile values", async () => {
  for (const c of ["\u0085", "\u009b"]) {
    const dir = await monitorDir("", `ok,1G\nev${c}il,1G\n`);
    await expectError(
      dir,
      () => reload(dir),
      78,
      new RegExp(
        `search_user:2: control character in line \\(U\\+00${
          c.charCodeAt(0).toString(16).toUpperCase()
        } in column 3\\); remove it$`,
      ),
    );
  }
  let dir = await monitorDir();
  await Deno.writeTextFile(
    `${dir}/search.conf`,
    (await Deno.readTextFile(`${dir}/search.conf`)).replace("db_id=0", `db_id=${"x".repeat(300)}`),
  );
  await expectError(
    dir,
    () => reload(dir),
    78,
    /search\.conf:6: db_id must be 1 to 64 letters, digits, _ \. : -, got "x{80}…" \(300 characters\)$/,
  );
  // A 1 MB value with control characters: the message quotes 80 escaped characters.
  dir = await monitorDir(`workers=${"\u009b9".repeat(1 << 19)}\n`);
  const o = await expectError(dir, () => reload(dir), 78, /search\.conf:4: control character/);
  assert.ok(o.stderr.length < 300);
  dir = await monitorDir(`workers=${"9".repeat(1 << 20)}x\n`);
  await expectError(
    dir,
    () => reload(dir),
    78,
    /search\.conf:4: workers must be a whole number, got "9{80}…" \(1048577 characters\)$/,
  );
});

Deno.test("regression: a 1 MB unknown key is reported at once, without a suggestion search", async () => {
  const dir = await monitorDir(`${"k".repeat(1 << 20)}=1\n`);
  try {
    const t = performance.now();
    await assert.rejects(
      loadConfig(dir, { credentialsDirectory: "" }),
      /search\.conf:4: unknown key \(not shown, in case the line is a password\)$/,
    );
    // It took 2.9 s; bounded, it takes milliseconds. The bound leaves room for a busy machine.
    assert.ok(performance.now() - t < 1000, `${performance.now() - t} ms`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("regression: a password file given as configuration is never echoed", async () => {
  let dir = await monitorDir();
  await Deno.writeTextFile(`${dir}/search.conf`, `${SECRET}\n`);
  await expectError(dir, () => reload(dir), 78, /search\.conf:1: expected key=value \(the line/);
  dir = await Deno.makeTempDir({ prefix: "mmd-regression-" });
  for (const text of [`${SECRET}\n`, `# pw\n${SECRET}=\n`]) {
    await Deno.writeTextFile(`${dir}/pw`, text, { mode: 0o600 });
    const o = await conntrack(dir, `${dir}/pw`);
    assert.deepEqual(commonProblems(o, { maxMs: CLI_MAX_MS, secrets: [SECRET], dir }), []);
    assert.equal(o.code, 78);
    assert.match(o.stderr, /pw:\d: (expected "Key = value"|unknown key) \(/);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("regression: TimeLocation=+02:00 is refused with a suggestion", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mmd-regression-" });
  const ini = `[default]\nSqlitePath=${dir}/a.sqlite\nTimeLocation=+02:00\n`;
  await Deno.writeTextFile(`${dir}/c.ini`, ini);
  await expectError(
    dir,
    () => conntrack(dir, `${dir}/c.ini`),
    78,
    /c\.ini:3: TimeLocation is the UTC offset \+02:00, not a time zone name; write the server's region, e\.g\. Europe\/Zurich \(follows daylight saving time\) or Etc\/GMT-2 for a fixed offset/,
    ini,
  );
});

Deno.test("regression: an empty conntracker.ini writes nothing anywhere", async () => {
  for (const ini of ["", "[default]\nLogLevel=WARN\n", "\n\n; nothing\n"]) {
    const dir = await Deno.makeTempDir({ prefix: "mmd-regression-" });
    await Deno.writeTextFile(`${dir}/c.ini`, ini);
    const o = await expectError(
      dir,
      () => conntrack(dir, `${dir}/c.ini`),
      78,
      /c\.ini(:\d+)?: SqlitePath is not set; name the SQLite database, e\.g\. SqlitePath = \/var\/lib\/mysql\/audit\.sqlite/,
      ini,
    );
    assert.deepEqual(o.writes, [], "asked to write something");
  }
  // The loader agrees, whatever the ini holds besides.
  const dir = await Deno.makeTempDir({ prefix: "mmd-regression-" });
  try {
    await Deno.writeTextFile(`${dir}/c.ini`, `[default]\nAuditLogPath=${dir}\n`);
    await assert.rejects(loadConntrackConfig(`${dir}/c.ini`), /SqlitePath is not set/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
