/**
 * A one-line progress display for long conntrack runs on a terminal: files, bytes, rate.
 *
 * Shown only after the run has worked for a while ({@link PROGRESS_DELAY_MS}) and redrawn at
 * most every {@link PROGRESS_INTERVAL_MS}, on stderr with a carriage return; cleared before
 * anything else is written. The command creates one only when stderr is a terminal and `-q`
 * is not given, so cron (no terminal) never sees it.
 *
 * A test can replace the wall clock of the stderr display with a stepping one:
 * `MYSQL_MONITOR_TEST_PROGRESS_STEP=<ms>` makes every look at the clock advance it by that many
 * milliseconds, so the line is drawn as soon as the run reports, however fast the machine. Like
 * the monitor's test hooks (monitor/fault.ts), the variable is read only when the process was
 * given access to it, which the binary's permission set never does.
 * @module
 */
import { stderrGone } from "../system/log.ts";
import { formatBytes as bytesText } from "../util/bytes.ts";
import { readTestHook } from "../util/env.ts";

/** How far the scan has got. */
export interface ProgressState {
  filesDone: number;
  files: number;
  bytesDone: number;
  bytes: number;
}

/** What a run reports its progress to. */
export interface ProgressSink {
  /** The scan advanced. */
  update(state: ProgressState): void;
  /** The scan is over: remove the line. */
  clear(): void;
}

/** Nothing is shown for runs shorter than this. */
export const PROGRESS_DELAY_MS = 1000;
/** Minimum time between two redraws. */
export const PROGRESS_INTERVAL_MS = 200;

/** `1536` → `1.5 KiB`; bytes below 1 KiB without decimals. */
export function formatBytes(n: number): string {
  return bytesText(n, { spaced: true, fixed: true });
}

/** The progress line, e.g. `conntrack: 3/10 files, 312.4 MiB of 1.0 GiB (31%), 250.0 MiB/s`. */
export function formatProgress(state: ProgressState, elapsedMs: number): string {
  const pct = state.bytes > 0 ? Math.floor((state.bytesDone / state.bytes) * 100) : 100;
  const rate = elapsedMs > 0 ? (state.bytesDone * 1000) / elapsedMs : 0;
  return `conntrack: ${state.filesDone}/${state.files} files, ${formatBytes(state.bytesDone)} of ${
    formatBytes(state.bytes)
  } (${pct}%), ${formatBytes(Math.round(rate))}/s`;
}

/** A {@link ProgressSink} that draws on a terminal through `write`. */
export class TerminalProgress implements ProgressSink {
  #write: (text: string) => void;
  #now: () => number;
  #start: number;
  #last = -Infinity;
  #shown = false;

  /** `write` gets raw text (carriage returns and the erase-line sequence included). */
  constructor(write: (text: string) => void, now: () => number = () => performance.now()) {
    this.#write = write;
    this.#now = now;
    this.#start = now();
  }

  /** Redraws when the run is old enough and the last redraw is old enough. */
  update(state: ProgressState): void {
    const t = this.#now();
    if (t - this.#start < PROGRESS_DELAY_MS || t - this.#last < PROGRESS_INTERVAL_MS) return;
    this.#last = t;
    this.#shown = true;
    this.#write(`\r\x1b[K${formatProgress(state, t - this.#start)}`);
  }

  /** Erases the line if one was drawn. */
  clear(): void {
    if (this.#shown) this.#write("\r\x1b[K");
    this.#shown = false;
  }
}

/** The environment variable that gives the stderr display a stepping clock in tests. */
export const PROGRESS_STEP_ENV = "MYSQL_MONITOR_TEST_PROGRESS_STEP";

/** The test clock's step in ms, when the hook is allowed and set; read when the module loads. */
function testStep(): number | undefined {
  const text = readTestHook(PROGRESS_STEP_ENV);
  return text !== undefined && /^\d{1,9}$/.test(text) ? Number(text) : undefined;
}

const step = testStep();

/** A clock that moves `stepMs` every time it is read, starting at 0. */
export function steppingClock(stepMs: number): () => number {
  let t = -stepMs;
  return () => (t += stepMs);
}

/** A progress display on stderr (on the test hook's stepping clock when one is set). */
export function stderrProgress(): TerminalProgress {
  const encoder = new TextEncoder();
  const write = (text: string) => {
    try {
      Deno.stderr.writeSync(encoder.encode(text));
    } catch (err) {
      if (!stderrGone(err)) throw err; // stderr gone: nothing to show
    }
  };
  return step === undefined
    ? new TerminalProgress(write)
    : new TerminalProgress(write, steppingClock(step));
}
