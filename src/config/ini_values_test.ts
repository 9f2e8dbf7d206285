import assert from "node:assert/strict";
import { parse as npmIni } from "ini";
import { iniValues } from "./ini_values.ts";

/** What conntrack_ini.ts made of npm:ini's result: top-level and [default] keys, as strings. */
function viaNpm(text: string): Record<string, string> {
  const data = npmIni(text) as Record<string, unknown>;
  const out: Record<string, string> = {};
  const section = (data.default ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries({ ...data, ...section })) {
    if (k !== "default" && (typeof v !== "object" || v === null)) {
      out[k] = typeof v === "string" ? v : String(v);
    }
  }
  return out;
}

Deno.test("ini values: the same as npm:ini for the files conntrack accepts", () => {
  const text = `; comment
# another
TimeLocation = Europe/Zurich ; trailing comment
[ default ]
AuditLogPath=/var/lib/mysql
TimeFormatAudit = "20060102 15:04:05"
TimeFormatDB='2006-01-02 15:04:05-07:00'
MaxWorkers = 4   # four
ServerName = db\\;1 \\# x\\y
LogLevel=
Store = "a;b"\r
ReportUser = 'it''s'
ReportHost = "unterminated
`;
  const got = iniValues(text);
  assert.deepEqual({ ...got }, viaNpm(text));
  assert.equal(got.TimeLocation, "Europe/Zurich");
  assert.equal(got.TimeFormatAudit, "20060102 15:04:05");
  assert.equal(got.ServerName, "db;1 # x\\y");
  assert.equal(got.Store, "a;b");
});

Deno.test("ini values: random lines give what npm:ini gives", () => {
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const pieces = [
    "a",
    "/var/lib",
    " ",
    "\t",
    ";",
    "#",
    "\\",
    '"',
    "'",
    "=",
    "true",
    "false",
    "null",
    "12",
    "1e3",
    "{}",
    "[1]",
    "é",
    "\u2028",
    "😀",
    "x y",
    '\\"',
    "''",
  ];
  const keys = ["AuditLogPath", "SqlitePath", "TimeLocation", "MaxWorkers", "LogLevel", "x y"];
  for (let n = 0; n < 3000; n++) {
    const lines: string[] = [];
    for (let i = 0; i < 1 + Math.floor(rand() * 6); i++) {
      const r = rand();
      if (r < 0.1) lines.push(pick(["[default]", " [ default ] ", "; c", "  # c", "", "  "]));
      else {
        let value = "";
        for (let k = Math.floor(rand() * 6); k > 0; k--) value += pick(pieces);
        lines.push(`${pick(["", " "])}${pick(keys)}${pick(["", " "])}=${value}`);
      }
    }
    const text = lines.join(pick(["\n", "\r\n", "\r"]));
    let want: Record<string, string>;
    try {
      want = viaNpm(text);
    } catch {
      continue; // npm:ini throws; conntrack_ini.ts refuses such a file line by line before
    }
    assert.deepEqual({ ...iniValues(text) }, want, JSON.stringify(text));
  }
});
