// deno-lint-ignore-file no-control-regex -- the progress line is made of terminal controls
import assert from "node:assert/strict";
import { type Sandbox, sandbox, settle } from "./support/conntrack.ts";
import { cliCommand } from "./support/cli.ts";
import { loadConntrackConfig } from "../src/config/conntrack_ini.ts";
import { runConntrack } from "../src/conntrack/run.ts";
import { PROGRESS_STEP_ENV, steppingClock, TerminalProgress } from "../src/conntrack/progress.ts";

/** Login number `i` of file `f` (older files hold older records), one second apart. */
function line(f: number, i: number): string {
  const at = new Date(Date.UTC(2024, 2, 1) - f * 86_400_000 + i * 1000).toISOString();
  const stamp = `${at.slice(0, 4)}${at.slice(5, 7)}${at.slice(8, 10)} ${at.slice(11, 19)}`;
  return `${stamp},db1,user${i % 7},10.0.0.${i % 250},${i},0,CONNECT,,,0\n`;
}

async function fill(dir: string, files: number, lines: number): Promise<number> {
  let total = 0;
  for (let f = 0; f < files; f++) {
    const text = Array.from({ length: lines }, (_, i) => line(f, i)).join("");
    const name = f === 0 ? "server_audit.log" : `server_audit.log.${f}`;
    await Deno.writeTextFile(`${dir}/${name}`, text);
    total += new TextEncoder().encode(text).length;
  }
  await settle(dir);
  return total;
}

for (const threads of [false, true]) {
  Deno.test(`progress: a run reports every file and byte, then clears the line (${threads ? "worker threads" : "one thread"})`, async () => {
    await using box = await sandbox();
    const bytes = await fill(box.auditDir, 3, 2000);
    const out: string[] = [];
    // A clock that moves 600 ms per look, so every update draws.
    const progress = new TerminalProgress((s) => out.push(s), steppingClock(600));
    const config = await loadConntrackConfig(box.ini);
    const s = await runConntrack(config, {
      progress,
      workerThresholdBytes: threads ? 0 : Infinity,
    });
    assert.equal(s.workers > 0, threads);
    assert.ok(out.length >= 2, out.join("\n"));
    assert.equal(out.at(-1), "\r\x1b[K");
    const last = out.at(-2)!;
    assert.match(last, /^\r\x1b\[Kconntrack: 3\/3 files, (\S+ \S+) of \1 \(100%\), \S+ \S+\/s$/);
    assert.equal(s.bytes, bytes);
  });
}

/** Runs conntrack on `box` under a pseudo-terminal (util-linux `script`); returns what it showed. */
async function onTerminal(box: Sandbox, ...extra: string[]): Promise<string> {
  const argv = [
    Deno.execPath(),
    ...cliCommand(["conntrack", "-c", box.ini, ...extra], {
      read: [box.dir, box.auditDir],
      write: [box.dir],
      allowEnv: [PROGRESS_STEP_ENV],
    }),
  ];
  const quoted = argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const out = await new Deno.Command("script", {
    args: ["-qfec", quoted, "/dev/null"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    // Every look at the display's clock moves it a second on: the line draws whatever the speed.
    env: { NO_COLOR: "1", [PROGRESS_STEP_ENV]: "1000" },
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

Deno.test("progress: shown on a terminal once the run has lasted, never without one or with -q", async () => {
  await using box = await sandbox();
  // 16 MiB of zeros that take no disk space: one line too long to be a record.
  const log = `${box.auditDir}/server_audit.log`;
  const big = async () => {
    await Deno.writeTextFile(log, "");
    await Deno.truncate(log, 16 * 1024 ** 2);
    await settle(box.auditDir);
    await Deno.remove(box.sqlite).catch(() => {});
  };
  await big();
  const shown = await onTerminal(box);
  assert.match(
    shown,
    /\r\x1b\[Kconntrack: [01]\/1 files, [\d.]+ \S+ of 16\.0 MiB \(\d+%\), [\d.]+ \S+\/s/,
  );
  // The line is erased before the warning about the garbage line is written.
  assert.match(shown, /\r\x1b\[K\d{4}-\d\d-\d\dT[^\r\n]* WARNING conntrack: .*line longer than/);

  await big();
  const quiet = await onTerminal(box, "-q");
  assert.doesNotMatch(quiet, /files, |\x1b\[K/);
  assert.match(quiet, /line longer than/);

  await big();
  const cron = await box.run();
  assert.equal(cron.code, 0, cron.stderr);
  assert.equal(cron.stdout, "");
  assert.doesNotMatch(cron.stderr, /files, |\x1b|\r/);
  assert.match(cron.stderr, /line longer than/);
});
