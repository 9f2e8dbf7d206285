/**
 * The one rule for plain-text tables: columns padded to their widest cell (counted in code
 * points), two spaces between columns, the last column not padded, no trailing blanks.
 * Cells must already be escaped (see `escapeText`): this only lays them out.
 * @module
 */

/** The lines of an aligned table: the header line, then one line per row. */
export function alignColumns(header: readonly string[], rows: readonly string[][]): string[] {
  const widths = header.map((h, i) =>
    Math.max([...h].length, ...rows.map((r) => [...r[i]].length))
  );
  const line = (r: readonly string[]) =>
    r.map((c, i) => i === r.length - 1 ? c : c + " ".repeat(widths[i] - [...c].length)).join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)];
}
