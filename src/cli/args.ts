/**
 * Strict argv parsing shared by every mode, on top of `node:util` parseArgs.
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { errorText, UsageError } from "../errors.ts";

/** Options accepted by a mode, in parseArgs' format. */
export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/**
 * Thrown by {@link parseModeArgs} when `--version`/`-V` is given to a mode: main.ts prints the
 * version line and exits 0, so every mode (and `conntrack report`) answers it the same way.
 */
export class VersionRequest extends Error {
  constructor() {
    super("version requested");
    this.name = "VersionRequest";
  }
}

/** Result of {@link parseModeArgs}: flag values by long name, plus positionals. */
export interface ParsedArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

/**
 * Parses `args` for `mode`; unknown flags, missing values and stray positionals become a
 * {@link UsageError} naming the mode, so main.ts prints that mode's usage and exits 2.
 * `-h`/`--help` is added to every mode (the caller prints its help), and `-V`/`--version` too:
 * it throws {@link VersionRequest} once the whole command line has parsed.
 */
export function parseModeArgs(
  mode: string,
  args: string[],
  options: OptionSpec,
  allowPositionals = false,
): ParsedArgs {
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs({
      args,
      options: {
        ...options,
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
      },
      strict: true,
      allowPositionals,
    }) as ParsedArgs;
  } catch (err) {
    const message = errorText(err);
    throw new UsageError(`${mode}: ${message.replace(/\. To specify a positional.*$/s, "")}`, mode);
  }
  if (parsed.values.version) throw new VersionRequest();
  return parsed;
}

/** Reads a non-negative integer flag; anything else is a usage error naming the flag. */
export function intFlag(
  mode: string,
  name: string,
  raw: unknown,
  fallback: number,
  range: [number, number] = [0, Number.MAX_SAFE_INTEGER],
): number {
  if (raw === undefined) return fallback;
  const text = String(raw);
  if (!/^\d+$/.test(text)) {
    throw new UsageError(`${mode}: --${name} takes a whole number, got "${text}"`, mode);
  }
  const value = Number(text);
  if (value < range[0] || value > range[1]) {
    throw new UsageError(
      `${mode}: --${name} must be between ${range[0]} and ${range[1]}, got ${value}`,
      mode,
    );
  }
  return value;
}

/** Most shards a monitor can be split into (`-t`). */
export const MAX_SHARDS = 65536;

/**
 * `-s N -t M` of `monitor` and `reload`: shard N (default 0) of M (default 1); N must be
 * below M. Anything else is a usage error.
 */
export function shardFlags(
  mode: string,
  values: { shard?: unknown; shards?: unknown },
): { shard: number; shards: number } {
  const shards = intFlag(mode, "shards", values.shards, 1, [1, MAX_SHARDS]);
  const shard = intFlag(mode, "shard", values.shard, 0);
  if (shard >= shards) {
    throw new UsageError(`${mode}: --shard must be below --shards (${shards}), got ${shard}`, mode);
  }
  return { shard, shards };
}
