/**
 * Entry point of mysql_monitor_daemon: parses the mode, dispatches to src/cli/, and maps what
 * the command returns or throws to an exit code. This is the only place that calls Deno.exit.
 *
 * Exit codes: 0 ok, 1 runtime failure, 2 usage error, 78 configuration error.
 * @module
 */
import { describeError, ExitCode, UsageError } from "./src/errors.ts";
import { PROGRAM } from "./src/version.ts";
import { VersionRequest } from "./src/cli/args.ts";
import { closest } from "./src/config/suggest.ts";
import { quoteValue } from "./src/util/text.ts";

/** A command module of src/cli/. */
interface Command {
  HELP: string;
  run(args: string[]): number | Promise<number>;
}

interface Mode {
  summary: string;
  /** Loaded on use only, so that e.g. a cron run of conntrack never loads the MySQL driver. */
  load(): Promise<Command>;
}

const MODES: Record<string, Mode> = {
  monitor: {
    summary: "enforce per-user storage quotas (daemon)",
    load: () => import("./src/cli/monitor.ts"),
  },
  conntrack: {
    summary: "record last connection per account from the audit log",
    load: () => import("./src/cli/conntrack.ts"),
  },
  reload: {
    summary: "check the configuration and reload the running monitor",
    load: () => import("./src/cli/reload.ts"),
  },
  version: { summary: "print version information", load: () => import("./src/cli/version.ts") },
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

/** The usage error for an unknown first argument, with the nearest mode or option when one is close. */
function unknownMode(arg: string): UsageError {
  const option = arg.startsWith("-");
  const near = closest(arg, option ? ["--help", "--version"] : Object.keys(MODES));
  return new UsageError(
    `unknown ${option ? "option" : "mode"} ${quoteValue(arg)}` +
      (option ? " (a mode comes first)" : "") + (near ? `; did you mean ${near}?` : ""),
  );
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
    if (mode === "--version" || mode === "-V") return await (await MODES.version.load()).run([]);
    const handler = Object.hasOwn(MODES, mode) ? MODES[mode] : undefined;
    if (!handler) throw unknownMode(mode);
    return await (await handler.load()).run(rest);
  } catch (err) {
    if (err instanceof VersionRequest) return await (await MODES.version.load()).run([]);
    const { code, message } = describeError(err);
    console.error(`${PROGRAM}: ${message}`);
    if (err instanceof UsageError) {
      const m = err.mode && Object.hasOwn(MODES, err.mode)
        ? await MODES[err.mode].load()
        : undefined;
      console.error(m ? m.HELP.split("\n\n")[0] : `Usage: ${PROGRAM} <mode> [options]`);
      console.error(`Try "${PROGRAM} ${m ? err.mode + " " : ""}--help".`);
    }
    return code;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
