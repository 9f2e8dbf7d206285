/**
 * Error types shared by every command, and the exit codes main.ts maps them to.
 *
 * Commands throw these (or return an exit code); only main.ts calls `Deno.exit`.
 * @module
 */

/** Process exit codes used by every mode. 78 is EX_CONFIG from sysexits.h. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  config: 78,
} as const;

/** Wrong command line: unknown mode or flag, bad flag value. Exits 2 with the usage line. */
export class UsageError extends Error {
  /** The mode whose usage should be shown, when known. */
  readonly mode?: string;
  constructor(message: string, mode?: string) {
    super(message);
    this.name = "UsageError";
    this.mode = mode;
  }
}

/**
 * Invalid or unreadable configuration. Exits 78.
 *
 * The message is rendered as `FILE:LINE: MESSAGE` (or `FILE: MESSAGE` without a line) so the
 * operator can jump straight to the offending place.
 */
export class ConfigError extends Error {
  /** Path of the file at fault, when there is one. */
  readonly file?: string;
  /** 1-based line number inside `file`, when known. */
  readonly line?: number;
  constructor(message: string, file?: string, line?: number) {
    super(ConfigError.format(message, file, line));
    this.name = "ConfigError";
    this.file = file;
    this.line = line;
  }

  /** Joins file, line and message the way compilers do. */
  static format(message: string, file?: string, line?: number): string {
    if (file === undefined) return message;
    return line === undefined ? `${file}: ${message}` : `${file}:${line}: ${message}`;
  }
}

/** A failure at run time (server unreachable, I/O error) that is not the operator's input. */
export class RuntimeError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RuntimeError";
  }
}

/** Maps any thrown value to the exit code and the one-line message main.ts prints. */
export function describeError(err: unknown): { code: number; message: string } {
  if (err instanceof UsageError) return { code: ExitCode.usage, message: err.message };
  if (err instanceof ConfigError) return { code: ExitCode.config, message: err.message };
  if (err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.NotCapable) {
    return {
      code: ExitCode.failure,
      message: `${oneLine(err.message)} (the binary's permission set does not cover this path; ` +
        `use the default paths or see docs/security.md "What each mode may touch")`,
    };
  }
  return { code: ExitCode.failure, message: errorText(err) };
}

/** An error (or any thrown value) as one line of text for logs, tables and error messages. */
export function errorText(err: unknown): string {
  return oneLine(err instanceof Error ? err.message : String(err));
}

/** Collapses a message to one line so a log line or cron mail never spans lines. */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, " ").trim();
}
