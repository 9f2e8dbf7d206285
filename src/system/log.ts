/**
 * Logging for every mode, on LogTape.
 *
 * Records go to stderr, one line each. Under systemd (JOURNAL_STREAM set) each line starts with
 * the sd-daemon priority prefix (`<3>` error, `<4>` warning, …) so journald keeps the level;
 * otherwise lines carry a time and level word. Interpolated strings are quoted unless they are
 * plain words or paths, and everything is escaped with the one rule for human output
 * (`escapeText`), because much of what is logged (user names, audit-log text) comes from
 * untrusted clients and must not forge extra log lines or hide what follows.
 * @module
 */
import {
  configure,
  getLogger,
  type Logger,
  type LogLevel,
  type LogRecord,
  reset,
} from "@logtape/logtape";
import { PROGRAM } from "../version.ts";
import { readEnv } from "../util/env.ts";
import { sendDatagram } from "./libc.ts";
import { escapeText, quoteValue } from "../util/text.ts";

export type { Logger, LogLevel };

const PRIORITY: Record<LogLevel, number> = {
  trace: 7,
  debug: 7,
  info: 6,
  warning: 4,
  error: 3,
  fatal: 2,
};

const PLAIN = /^[\w./:@%+-]+$/;

function renderValue(value: unknown): string {
  if (typeof value === "string") return PLAIN.test(value) ? value : quoteValue(value, Infinity);
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") {
    return String(value);
  }
  if (value instanceof Error) return quoteValue(value.message, Infinity);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err; // a cycle or a BigInt
    text = String(value);
  }
  return escapeText(text);
}

/**
 * Renders one record as a single line (no trailing newline), without time or level: the
 * template's text escaped with {@link escapeText}, each interpolated value as is when it is a
 * plain word or path, else escaped and double-quoted, so a hostile value can neither add a line
 * nor pass for a different value.
 */
export function renderMessage(record: Pick<LogRecord, "message">): string {
  let out = "";
  record.message.forEach((part, i) => {
    out += i % 2 === 0 ? escapeText(String(part)) : renderValue(part);
  });
  return out;
}

/**
 * Where log lines go: "stderr" (time + level), "journal" (stderr with priority prefixes),
 * "syslog" (datagrams to /dev/log, facility daemon; falls back to stderr), or `lines` (tests).
 */
export type LogTarget = "stderr" | "journal" | "syslog" | { lines: string[] };

/** Options for {@link setupLogging}. */
export interface LogOptions {
  /** Lowest level written; default "info". */
  level?: LogLevel;
  /** Default: "journal" when JOURNAL_STREAM is set, else "stderr". */
  target?: LogTarget;
  /** Socket for the "syslog" target; default /dev/log. */
  syslogPath?: string;
}

function defaultTarget(): LogTarget {
  return readEnv("JOURNAL_STREAM") ? "journal" : "stderr";
}

const encoder = new TextEncoder();

/** Configures logging for the process; safe to call again (e.g. on reload). */
export async function setupLogging(options: LogOptions = {}): Promise<void> {
  const target = options.target ?? defaultTarget();
  const write = (text: string) => {
    try {
      Deno.stderr.writeSync(encoder.encode(text));
    } catch (err) {
      // stderr closed (detached daemon without syslog): nowhere left to write.
      if (!stderrGone(err)) throw err;
    }
  };
  const sink = (record: LogRecord) => {
    const category = record.category.slice(1).join(".") || "main";
    const text = `${category}: ${renderMessage(record)}`;
    if (typeof target === "object") {
      target.lines.push(`${record.level} ${text}`);
    } else if (target === "syslog") {
      const msg = `<${24 + PRIORITY[record.level]}>${PROGRAM}[${Deno.pid}]: ${text}`;
      if (!sendDatagram(options.syslogPath ?? "/dev/log", encoder.encode(msg))) {
        write(`${record.level.toUpperCase()} ${text}\n`);
      }
    } else if (target === "journal") {
      write(`<${PRIORITY[record.level]}>${text}\n`);
    } else {
      const time = new Date(record.timestamp).toISOString();
      write(`${time} ${record.level.toUpperCase()} ${text}\n`);
    }
  };
  await configure({
    reset: true,
    sinks: { main: sink },
    loggers: [
      { category: ["mmd"], lowestLevel: options.level ?? "info", sinks: ["main"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: ["main"] },
    ],
  });
}

/** Stops logging and flushes sinks (tests use it between cases). */
export async function teardownLogging(): Promise<void> {
  await reset();
}

/** The logger for one part of the program, e.g. `log("conntrack")`. */
export function log(...category: string[]): Logger {
  return getLogger(["mmd", ...category]);
}

/** True for the errors of writing to a standard stream nobody reads any more. */
export function stderrGone(err: unknown): boolean {
  return err instanceof Deno.errors.BrokenPipe || err instanceof Deno.errors.BadResource ||
    err instanceof Deno.errors.NotConnected;
}
