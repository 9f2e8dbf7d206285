/** The `version` mode. @module */
import { PROGRAM, VERSION } from "../version.ts";
import { parseModeArgs } from "./args.ts";

/** Help text for `version`. */
export const HELP = `Usage: ${PROGRAM} version

Prints the program name, its version and the Deno runtime it was built with.

Example:
  ${PROGRAM} version`;

/** One line: name, version, Deno and V8 versions. */
export function versionLine(): string {
  return `${PROGRAM} ${VERSION} (deno ${Deno.version.deno}, v8 ${Deno.version.v8}, ${Deno.build.target})`;
}

/** Runs `version`: prints {@link versionLine}. */
export function run(args: string[]): number {
  const { values } = parseModeArgs("version", args, {});
  console.log(values.help ? HELP : versionLine());
  return 0;
}
