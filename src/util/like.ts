/**
 * The one translation of a SQL `LIKE`-style pattern, as the server stores grant database
 * patterns and account host patterns, into an anchored regular expression: `%` is any run of
 * characters, `_` one character, `\` makes the next character literal; everything else is
 * literal.
 * @module
 */

/** `c` with every regular-expression metacharacter escaped. */
function literal(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The anchored regular expression of `pattern`, compiled with `flags` (e.g. `u` so that `_`
 * is one code point, `i` to ignore case as host names do).
 */
export function likeToRegExp(pattern: string, flags = ""): RegExp {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\" && i + 1 < pattern.length) out += literal(pattern[++i]);
    else if (c === "_") out += "[\\s\\S]";
    else if (c === "%") out += "[\\s\\S]*";
    else out += literal(c);
  }
  return new RegExp(`^${out}$`, flags);
}
