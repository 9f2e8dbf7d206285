/**
 * Every escaping rule of the program, in one place: the one for text shown to a person
 * (tables, log lines, the monitor audit log, error messages: {@link escapeText},
 * {@link quoteValue}), and the exact escaping of the two machine formats written, JSON for
 * people's terminals ({@link jsonText}) and the Prometheus exposition format
 * ({@link escapeExposition}).
 *
 * A name from a server or an audit log may hold anything; once escaped it stays on one line,
 * cannot move the cursor or reorder what follows it, and two different names never look alike.
 * @module
 */

// Backslash first (so an escaped form can never be confused with a literal one), then C0, DEL,
// C1, the line/paragraph separators, format characters (bidi overrides, zero-width marks) and
// lone surrogates.
const UNSAFE = /[\\\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

const NAMED: Record<string, string> = {
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

/**
 * Escapes `text` for human output: `\` → `\\`, newline/CR/tab → `\n` `\r` `\t`, other control,
 * format and separator characters → `\xNN` (up to U+00FF) or `\u{XXXX}`. Reversible, and the
 * identity on ordinary printable text.
 */
export function escapeText(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const named = NAMED[c];
    if (named) return named;
    const code = c.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`;
  });
}

/** Whether `text` holds a character that {@link escapeText} would change (other than `\`). */
export function hasUnsafeChars(text: string): boolean {
  UNSAFE.lastIndex = 0;
  for (const m of text.matchAll(UNSAFE)) if (m[0] !== "\\") return true;
  return false;
}

/**
 * Where the first character {@link escapeText} would change (other than `\`, and other than
 * a tab when `allowTab`) is: its 1-based column in code points and its code point, written
 * `U+0085` for a message. Undefined when there is none.
 */
export function findUnsafeChar(
  text: string,
  allowTab = false,
): { column: number; name: string } | undefined {
  UNSAFE.lastIndex = 0;
  for (const m of text.matchAll(UNSAFE)) {
    if (m[0] === "\\" || (allowTab && m[0] === "\t")) continue;
    const code = m[0].codePointAt(0)!;
    return {
      column: [...text.slice(0, m.index)].length + 1,
      name: `U+${code.toString(16).toUpperCase().padStart(4, "0")}`,
    };
  }
  return undefined;
}

/** Default length of a value quoted in an error message. */
export const QUOTE_MAX = 80;

/**
 * A value for an error message: escaped, cut to about `max` characters (with `…` and the full
 * length when cut), in double quotes. Never use it for a value that may be a secret.
 */
export function quoteValue(value: string, max = QUOTE_MAX): string {
  const chars = [...value];
  const cut = chars.length > max;
  const shown = escapeText(cut ? chars.slice(0, max).join("") : value).replaceAll('"', '\\"');
  return cut ? `"${shown}…" (${chars.length} characters)` : `"${shown}"`;
}

/**
 * JSON text (indented by two) with every character a terminal could act on escaped:
 * JSON.stringify already escapes C0 controls and lone surrogates; C1 controls (e.g. U+009B, a
 * one-character CSI), DEL, line/paragraph separators and invisible format characters (bidi
 * overrides) are escaped here too, as `\uXXXX`.
 */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /[\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}]/gu,
    (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, "0")}`,
  );
}

/**
 * Escapes text for the Prometheus exposition format: `\` and newline always (a HELP text);
 * with `quoted`, `"` too (a label value, written between double quotes).
 */
export function escapeExposition(text: string, quoted: boolean): string {
  const escaped = text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
  return quoted ? escaped.replace(/"/g, '\\"') : escaped;
}
