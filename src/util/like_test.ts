import assert from "node:assert/strict";
import { likeToRegExp } from "./like.ts";

Deno.test("like: % and _ are wildcards, \\ makes them (and anything) literal, the rest is text", () => {
  const re = likeToRegExp("app\\_%.d_", "u");
  assert.ok(re.test("app_x.db"));
  assert.ok(re.test("app_.dz"));
  assert.equal(re.test("appx.db"), false, "\\_ is a literal underscore");
  assert.equal(re.test("app_xydb"), false, ". is literal");
  assert.equal(re.test("app_.d"), false, "_ needs one character");
  assert.ok(likeToRegExp("a_", "u").test("a😀"), "with u, _ is one code point");
  assert.ok(likeToRegExp("Db%.Example", "i").test("db1.example"));
  assert.equal(likeToRegExp("Db%", "").test("db1"), false);
  assert.ok(likeToRegExp("a\\\\b").test("a\\b"));
  assert.ok(likeToRegExp("(x)[y]").test("(x)[y]"));
});
