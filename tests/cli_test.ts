import assert from "node:assert/strict";
import { runCli } from "./support/cli.ts";

const MODES = ["monitor", "conntrack", "reload", "version"];

function assertNoStackTrace(text: string) {
  assert.doesNotMatch(text, /^\s+at .*:\d+:\d+\)?$/m, `stack trace in output:\n${text}`);
}

Deno.test("cli: --help lists every mode and exits 0", async () => {
  const r = await runCli(["--help"]);
  assert.equal(r.code, 0);
  for (const mode of MODES) assert.match(r.stdout, new RegExp(`^  ${mode} `, "m"));
  assert.equal(r.stderr, "");
});

Deno.test("cli: each mode has its own help with an example", async () => {
  for (const mode of MODES) {
    const r = await runCli([mode, "--help"]);
    assert.equal(r.code, 0, `${mode} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^Usage: mysql_monitor_daemon ${mode}`, "m"));
    assert.match(r.stdout, /^Examples?:/m, `${mode} help has no example`);
  }
});

Deno.test("cli: version prints name, version and the Deno version", async () => {
  const r = await runCli(["version"]);
  assert.equal(r.code, 0);
  assert.match(
    r.stdout,
    new RegExp(
      `^mysql_monitor_daemon \\d+\\.\\d+\\.\\d+ \\(deno ${
        Deno.version.deno.replaceAll(".", "\\.")
      },`,
    ),
  );
  const viaConntrack = await runCli(["conntrack", "version"]);
  assert.equal(viaConntrack.code, 0);
  assert.equal(viaConntrack.stdout, r.stdout);
});

Deno.test("cli: --version and -V work on every mode and print the version line", async () => {
  const expected = (await runCli(["version"])).stdout;
  assert.match(expected, /^mysql_monitor_daemon \d+\.\d+\.\d+ /);
  const cases = [
    ["--version"],
    ["-V"],
    ["monitor", "--version"],
    ["monitor", "-V"],
    ["monitor", "--once", "-c", "/nonexistent", "-V"],
    ["conntrack", "--version"],
    ["conntrack", "-V"],
    ["conntrack", "report", "--version"],
    ["conntrack", "report", "-V"],
    ["reload", "--version"],
    ["reload", "-V"],
    ["version", "-V"],
  ];
  for (const args of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stdout, expected, args.join(" "));
    assert.equal(r.stderr, "", args.join(" "));
  }
  // A bad flag beside it is still a usage error: the whole command line is checked first.
  const r = await runCli(["monitor", "--version", "--nope"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^mysql_monitor_daemon: monitor: Unknown option '--nope'/);
});

Deno.test("cli: an unknown mode or option suggests the nearest one", async () => {
  const cases: [string[], string][] = [
    [["monitr"], 'unknown mode "monitr"; did you mean monitor?'],
    [["conntrak", "-v"], 'unknown mode "conntrak"; did you mean conntrack?'],
    [["relaod"], 'unknown mode "relaod"; did you mean reload?'],
    [["versoin"], 'unknown mode "versoin"; did you mean version?'],
    [["--verison"], 'unknown option "--verison" (a mode comes first); did you mean --version?'],
    [["zzz"], 'unknown mode "zzz"'],
    // A terminal escape in the argument is shown escaped.
    [["mon\x1b[2J"], 'unknown mode "mon\\x1b[2J"'],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, args[0]);
    assert.equal(r.stderr.split("\n")[0], `mysql_monitor_daemon: ${message}`);
    assert.equal(r.stdout, "");
  }
});

Deno.test("cli: no mode or an unknown mode is a usage error (exit 2, one-line error, usage)", async () => {
  for (const args of [[], ["frobnicate"], ["--frobnicate"]]) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `args ${JSON.stringify(args)}`);
    assert.equal(r.stdout, "");
    const lines = r.stderr.trimEnd().split("\n");
    assert.match(
      lines[0],
      /^mysql_monitor_daemon: (no mode given|unknown mode "frobnicate"|unknown option "--frobnicate")/,
    );
    assert.match(r.stderr, /^Usage: mysql_monitor_daemon <mode>/m);
    assertNoStackTrace(r.stderr);
  }
});

Deno.test("cli: an unknown flag or bad flag value is a usage error naming the mode", async () => {
  const cases: [string[], RegExp][] = [
    [["monitor", "--nope"], /^mysql_monitor_daemon: monitor: Unknown option '--nope'/],
    [
      ["monitor", "-d", "7"],
      /^mysql_monitor_daemon: monitor: --debug must be between 0 and 2, got 7/,
    ],
    [
      ["monitor", "-d", "x"],
      /^mysql_monitor_daemon: monitor: --debug takes a whole number, got "x"/,
    ],
    [["conntrack", "extra"], /^mysql_monitor_daemon: conntrack: unexpected argument "extra"/],
    [
      ["reload", "-c"],
      /^mysql_monitor_daemon: reload: Option '-c, --config <value>' argument missing/,
    ],
  ];
  for (const [args, first] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, first);
    assert.match(r.stderr, new RegExp(`^Usage: mysql_monitor_daemon ${args[0]}`, "m"));
    assertNoStackTrace(r.stderr);
  }
});
