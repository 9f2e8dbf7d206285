import assert from "node:assert/strict";
import { grantPatternToRegExp, likeLiteral, schemasOfUser } from "./mapping.ts";

const SCHEMAS = ["shop", "shop_a", "shopXa", "shop_b_old", "web1", "web22", "web_1", "other"];

Deno.test("mapping: grant patterns honour _ and % wildcards and escaped \\_", () => {
  assert.ok(grantPatternToRegExp("shop_a").test("shopXa"));
  assert.ok(grantPatternToRegExp("shop\\_a").test("shop_a"));
  assert.ok(!grantPatternToRegExp("shop\\_a").test("shopXa"));
  assert.ok(grantPatternToRegExp("web%").test("web"));
  assert.ok(!grantPatternToRegExp("a.c").test("abc"), "regexp metacharacters are literal");
  assert.ok(grantPatternToRegExp("fr-ank/x$(y)[z]{1}+?^|").test("fr-ank/x$(y)[z]{1}+?^|"));
  assert.equal(likeLiteral("a_b%c\\"), "a\\_b\\%c\\\\");
});

Deno.test("mapping: grants, name and prefix; a schema counts once per user", () => {
  const grants = [
    { user: "bob", host: "%", db: "shop\\_%" },
    { user: "bob", host: "localhost", db: "shop_a" }, // matches shop_a and shopXa
    { user: "bob", host: "localhost", db: "shop\\_a" }, // shop_a again: must count once
    { user: "eve", host: "%", db: "web_" },
  ];
  assert.deepEqual(schemasOfUser("grants", "bob", undefined, grants, SCHEMAS), [
    "shop_a",
    "shopXa",
    "shop_b_old",
  ]);
  assert.deepEqual(schemasOfUser("grants", "bob", "%", grants, SCHEMAS), ["shop_a", "shop_b_old"]);
  assert.deepEqual(schemasOfUser("grants", "eve", undefined, grants, SCHEMAS), ["web1"]);
  assert.deepEqual(schemasOfUser("grants", "nobody", undefined, grants, SCHEMAS), []);
  assert.deepEqual(schemasOfUser("name", "shop", undefined, [], SCHEMAS), ["shop"]);
  assert.deepEqual(schemasOfUser("prefix", "shop", undefined, [], SCHEMAS), [
    "shop_a",
    "shop_b_old",
  ]);
  assert.deepEqual(schemasOfUser("prefix", "web", undefined, [], SCHEMAS), ["web_1"]);
});
