import assert from "node:assert/strict";
import { readEnv } from "./env.ts";

Deno.test("env: a set variable is read, an unset one is undefined", () => {
  Deno.env.set("MMD_ENV_TEST", "value");
  try {
    assert.equal(readEnv("MMD_ENV_TEST"), "value");
  } finally {
    Deno.env.delete("MMD_ENV_TEST");
  }
  assert.equal(readEnv("MMD_ENV_TEST"), undefined);
});

Deno.test({
  name: "env: a variable this process may not read is undefined, not an error",
  permissions: { env: ["HOME"] },
  fn() {
    assert.throws(() => Deno.env.get("TZ"));
    assert.equal(readEnv("TZ"), undefined);
  },
});
