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
