/**
 * Prometheus text exposition format (version 0.0.4) writer: `# HELP` and `# TYPE` once per
 * family, label values escaped (`\\`, `\"`, `\n`), no timestamps (the textfile collector
 * refuses them).
 * @module
 */
import { escapeExposition } from "../util/text.ts";

/** One sample: labels and a value. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** A metric family. */
export interface Family {
  name: string;
  help: string;
  type: "gauge" | "counter";
  /** The samples, in order; may be produced while the text is rendered (read once). */
  samples: Iterable<Sample>;
}

/** Escapes a label value. */
export function escapeLabelValue(value: string): string {
  return escapeExposition(value, true);
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

/** The text of `families`, piece by piece: HELP and TYPE of each family, then one line per sample. */
function* pieces(families: readonly Family[]): Generator<string> {
  for (const f of families) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(f.name)) {
      throw new TypeError(`bad metric name ${f.name}`);
    }
    yield `# HELP ${f.name} ${escapeExposition(f.help, false)}\n# TYPE ${f.name} ${f.type}\n`;
    for (const s of f.samples) {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
      yield `${f.name}${labels.length ? `{${labels.join(",")}}` : ""} ${formatValue(s.value)}\n`;
    }
  }
}

/** Renders families in order; families without samples still get HELP and TYPE. */
export function renderExposition(families: readonly Family[]): string {
  let out = "";
  for (const piece of pieces(families)) out += piece;
  return out;
}

/** Characters of exposition text gathered into one piece by {@link expositionChunks}. */
export const CHUNK_CHARS = 64 * 1024;

/**
 * {@link renderExposition} for large files, as pieces of about {@link CHUNK_CHARS} characters
 * to write one after the other (the whole text is never built): calls `pause` after each line
 * and awaits what it returns, so a caller can let its event loop breathe.
 */
export async function* expositionChunks(
  families: readonly Family[],
  pause: () => Promise<void> | undefined,
): AsyncGenerator<string> {
  let out = "";
  for (const piece of pieces(families)) {
    out += piece;
    if (out.length >= CHUNK_CHARS) {
      yield out;
      out = "";
    }
    const wait = pause();
    if (wait) await wait;
  }
  if (out) yield out;
}
