import assert from "node:assert/strict";
import {
  ConfigError,
  describeError,
  ExitCode,
  oneLine,
  RuntimeError,
  UsageError,
} from "./errors.ts";

Deno.test("errors: ConfigError renders file:line: message and maps to exit 78", () => {
  const e = new ConfigError('unknown key "db_hots" (did you mean "db_host"?)', "/etc/x.conf", 7);
  assert.equal(e.message, '/etc/x.conf:7: unknown key "db_hots" (did you mean "db_host"?)');
  assert.deepEqual(describeError(e), { code: ExitCode.config, message: e.message });
  assert.equal(new ConfigError("not found", "/etc/x.conf").message, "/etc/x.conf: not found");
  assert.equal(ExitCode.config, 78);
});

Deno.test("errors: usage errors exit 2, runtime errors 1, messages are one line", () => {
  assert.equal(describeError(new UsageError("bad")).code, 2);
  assert.equal(describeError(new RuntimeError("down")).code, 1);
  assert.deepEqual(describeError(new Error("a\n  b\r\nc")), { code: 1, message: "a b c" });
  assert.deepEqual(describeError("plain"), { code: 1, message: "plain" });
  assert.equal(oneLine("  x \n\n y  "), "x y");
});

Deno.test("errors: a permission refusal says which permission set is at fault", () => {
  const d = describeError(new Deno.errors.NotCapable('Requires read access to "/x"'));
  assert.equal(d.code, 1);
  assert.match(d.message, /^Requires read access to "\/x" \(the binary's permission set/);
});
