/**
 * The one rule for showing a byte count in binary units (KiB, MiB, … powers of 1024).
 * @module
 */

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const;

/** Options of {@link formatBytes}. */
export interface BytesFormat {
  /** A space between number and unit (`1.5 KiB`); default none (`1.5KiB`), for log lines. */
  spaced?: boolean;
  /**
   * Always one decimal (`3.0 GiB`), so a redrawn progress line keeps its width; by default a
   * trailing `.0` is dropped and values of 100 and more have no decimals.
   */
  fixed?: boolean;
}

/** `1536` → `1.5KiB`; counts below 1 KiB as whole bytes (`512B`). */
export function formatBytes(bytes: number, format: BytesFormat = {}): string {
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < UNITS.length - 1) {
    value /= 1024;
    i++;
  }
  const space = format.spaced ? " " : "";
  if (i === 0) return `${bytes}${space}B`;
  const number = format.fixed
    ? value.toFixed(1)
    : value >= 100
    ? value.toFixed(0)
    : value.toFixed(1).replace(/\.0$/, "");
  return `${number}${space}${UNITS[i]}`;
}
