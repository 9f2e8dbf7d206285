/** The `reload` mode: validate the configuration, then SIGHUP the running monitor. @module */
import { PROGRAM } from "../version.ts";
import { RuntimeError } from "../errors.ts";
import { type OptionSpec, parseModeArgs } from "./args.ts";

/** Help text for `reload`. */
export const HELP = `Usage: ${PROGRAM} reload [-c DIR] [-s N]

Checks the whole configuration; when it is valid, sends SIGHUP to the monitor of shard N
named by its pid file and reports whether the reload succeeded. When it is invalid, prints
every error with file and line and signals nothing.

Options:
  -c, --config DIR   configuration directory (default /etc/mysql_search)
  -s, --shard N      shard whose daemon to signal (default 0)
  -h, --help         show this help

Example:
  ${PROGRAM} reload -s 0`;

/** Flags of `reload`. */
export const OPTIONS: OptionSpec = {
  config: { type: "string", short: "c" },
  shard: { type: "string", short: "s" },
};

/** Runs `reload`. */
export function run(args: string[]): number {
  const { values } = parseModeArgs("reload", args, OPTIONS);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  throw new RuntimeError("reload: not implemented in this build yet");
}
