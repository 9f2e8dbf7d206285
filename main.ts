/**
 * Entry point of mysql_monitor_daemon: parses the mode, dispatches to src/cli/, and maps what
 * the command returns or throws to an exit code. This is the only place that calls Deno.exit.
 *
 * Exit codes: 0 ok, 1 runtime failure, 2 usage error, 78 configuration error.
 * @module
 */
import { describeError, ExitCode, UsageError } from "./src/errors.ts";
import { PROGRAM } from "./src/version.ts";
import * as conntrack from "./src/cli/conntrack.ts";
import * as monitor from "./src/cli/monitor.ts";
import * as reload from "./src/cli/reload.ts";
import * as version from "./src/cli/version.ts";

interface Mode {
  summary: string;
  HELP: string;
  run(args: string[]): number | Promise<number>;
}

const MODES: Record<string, Mode> = {
  monitor: { ...monitor, summary: "enforce per-user storage quotas (daemon)" },
  conntrack: { ...conntrack, summary: "record last connection per account from the audit log" },
  reload: { ...reload, summary: "check the configuration and reload the running monitor" },
  version: { ...version, summary: "print version information" },
};

/** The top-level help text. */
export function usage(): string {
  const width = Math.max(...Object.keys(MODES).map((m) => m.length));
  const lines = Object.entries(MODES).map(([name, m]) => `  ${name.padEnd(width)}  ${m.summary}`);
  return `Usage: ${PROGRAM} <mode> [options]

Modes:
${lines.join("\n")}

Run "${PROGRAM} <mode> --help" for a mode's options and examples.`;
}

/** Runs the program for `argv` and returns the exit code; never exits by itself. */
export async function main(argv: string[]): Promise<number> {
  const [mode, ...rest] = argv;
  try {
    if (mode === undefined) throw new UsageError("no mode given");
    if (mode === "--help" || mode === "-h" || mode === "help") {
      console.log(usage());
      return ExitCode.ok;
    }
    if (mode === "--version" || mode === "-V") return await MODES.version.run([]);
    const handler = Object.hasOwn(MODES, mode) ? MODES[mode] : undefined;
    if (!handler) {
      throw new UsageError(
        mode.startsWith("-")
          ? `unknown option "${mode}" (a mode comes first)`
          : `unknown mode "${mode}"`,
      );
    }
    return await handler.run(rest);
  } catch (err) {
    const { code, message } = describeError(err);
    console.error(`${PROGRAM}: ${message}`);
    if (err instanceof UsageError) {
      const m = err.mode && Object.hasOwn(MODES, err.mode) ? MODES[err.mode] : undefined;
      console.error(m ? m.HELP.split("\n\n")[0] : `Usage: ${PROGRAM} <mode> [options]`);
      console.error(`Try "${PROGRAM} ${m ? err.mode + " " : ""}--help".`);
    }
    return code;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
