/** The `monitor` mode: per-user storage quotas. @module */
import { PROGRAM } from "../version.ts";
import { RuntimeError } from "../errors.ts";
import { intFlag, type OptionSpec, parseModeArgs } from "./args.ts";

/** Help text for `monitor`. */
export const HELP = `Usage: ${PROGRAM} monitor [-c DIR] [-s N -t M] [-d 0|1|2] [--once]

Measures each configured user's storage on every configured server, warns at the soft
limit, locks the account (ALTER USER ... ACCOUNT LOCK) at the hard limit, unlocks it when
usage is back under, and writes Prometheus metrics to a textfile.

Options:
  -c, --config DIR   configuration directory (default /etc/mysql_search)
  -s, --shard N      this daemon's shard number, 0 <= N < M (default 0)
  -t, --shards M     total number of shards (default 1)
  -d, --debug LEVEL  0 = log only, 1 = log and warn, 2 = enforce locks (default 2)
      --once         run one cycle, print a table and exit (0 = all servers scanned)
  -h, --help         show this help

Examples:
  ${PROGRAM} monitor --once -d 0          # dry run: what would be done
  ${PROGRAM} monitor -s 0 -t 4            # shard 0 of 4, as run by systemd`;

/** Flags of `monitor`. */
export const OPTIONS: OptionSpec = {
  config: { type: "string", short: "c" },
  shard: { type: "string", short: "s" },
  shards: { type: "string", short: "t" },
  debug: { type: "string", short: "d" },
  once: { type: "boolean" },
};

/** Runs `monitor`. */
export function run(args: string[]): number {
  const { values } = parseModeArgs("monitor", args, OPTIONS);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  intFlag("monitor", "debug", values.debug, 2, [0, 2]);
  throw new RuntimeError("monitor: not implemented in this build yet");
}
