/**
 * Strict argv parsing shared by every mode, on top of `node:util` parseArgs.
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../errors.ts";

/** Options accepted by a mode, in parseArgs' format. */
export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/** Result of {@link parseModeArgs}: flag values by long name, plus positionals. */
export interface ParsedArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

/**
 * Parses `args` for `mode`; unknown flags, missing values and stray positionals become a
 * {@link UsageError} naming the mode, so main.ts prints that mode's usage and exits 2.
 */
export function parseModeArgs(
  mode: string,
  args: string[],
  options: OptionSpec,
  allowPositionals = false,
): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...options, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals,
    });
    return { values: values as ParsedArgs["values"], positionals };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new UsageError(`${mode}: ${message.replace(/\. To specify a positional.*$/s, "")}`, mode);
  }
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
