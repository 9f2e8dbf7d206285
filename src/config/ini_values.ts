/**
 * The values of a conntracker.ini, read the way npm:ini reads them, without loading npm:ini:
 * an npm package makes Deno set up its Node compatibility layer, ~30 ms of every cron run of
 * `conntrack`. Only the subset that conntrack_ini.ts accepts matters (`[default]`, `Key = value`,
 * `;`/`#` comment lines); for that, the result is the same as npm:ini 7's (a test compares them).
 * @module
 */

/**
 * Keys before any section and in `[default]` (the latter win), each value as npm:ini would
 * give it, turned into a string: quotes removed (`"…"` read as JSON), an unquoted value cut at
 * the first `;` or `#` not escaped with a backslash, and trimmed.
 */
export function iniValues(text: string): Record<string, string> {
  const top: Record<string, string> = Object.create(null);
  const inDefault: Record<string, string> = Object.create(null);
  let target: Record<string, string> | undefined = top;
  for (const line of text.split(/[\r\n]+/)) {
    if (line === "" || /^\s*[;#]/.test(line) || /^\s*$/.test(line)) continue;
    // npm:ini's line pattern, as is: `.` stops at U+2028/2029, and such a line is skipped.
    const m = /^\[([^\]]*)\]\s*$|^([^=]+)(=(.*))?$/i.exec(line);
    if (!m) continue;
    if (m[1] !== undefined) {
      target = String(unquote(m[1])) === "default" ? inDefault : undefined;
      continue;
    }
    const key = String(unquote(m[2]));
    if (!target || key === "__proto__" || key === "default") continue;
    target[key] = m[3] ? String(unquote(m[4])) : "true";
  }
  return { ...top, ...inDefault };
}

/** One key or value: quotes and comments handled as npm:ini's `unsafe`, then its literals. */
function unquote(raw: string): unknown {
  let val: unknown = raw.trim();
  let text = val as string;
  if (
    (text.startsWith('"') && text.endsWith('"')) || (text.startsWith("'") && text.endsWith("'"))
  ) {
    if (text.startsWith("'")) val = text = text.slice(1, -1);
    try {
      val = JSON.parse(text);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err; // not JSON: kept as it is
    }
  } else {
    let escaped = false;
    let out = "";
    for (const c of text) {
      if (escaped) {
        out += "\\;#".includes(c) ? c : "\\" + c;
        escaped = false;
      } else if (c === ";" || c === "#") break;
      else if (c === "\\") escaped = true;
      else out += c;
    }
    if (escaped) out += "\\";
    val = out.trim();
  }
  return val === "true" || val === "false" || val === "null" ? JSON.parse(val as string) : val;
}
