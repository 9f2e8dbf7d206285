import assert from "node:assert/strict";
import type { SchemaMapping } from "../config/config.ts";
import type { UserLimit } from "../config/search_user.ts";
import { accountKey, type GrowthGrant, type RoleGrant } from "./accounts.ts";
import { buildOwnerIndex, grantPatternToRegExp, literalPrefix } from "./mapping.ts";

const SCHEMAS = ["shop", "shop_a", "shopXa", "shop_b_old", "web1", "web22", "web_1", "other"];

function limit(user: string, host?: string): UserLimit {
  return { user, host, hard: 1, line: 1 };
}

async function owned(
  mapping: SchemaMapping,
  users: UserLimit[],
  options: {
    names?: string[];
    hosts?: Record<string, string[]>;
    grants?: GrowthGrant[];
    roleGrants?: RoleGrant[];
    global?: string[];
  } = {},
  schemas = SCHEMAS,
) {
  const index = await buildOwnerIndex({
    mapping,
    users,
    accountNames: new Set(options.names ?? users.map((u) => u.user)),
    hostsOf: (u) => options.hosts?.[u] ?? ["%"],
    grants: options.grants ?? [],
    roleGrants: options.roleGrants ?? [],
    globalGrowth: new Set(options.global ?? []),
  });
  const out: Record<string, string[]> = {};
  for (const s of schemas) {
    for (const u of index.owners(s)) (out[u] ??= []).push(s);
  }
  return { out, everywhere: Object.fromEntries(index.findings.everywhere) };
}

Deno.test("mapping: grant patterns honour _ and % wildcards and escaped \\_", () => {
  assert.ok(grantPatternToRegExp("shop_a").test("shopXa"));
  assert.ok(grantPatternToRegExp("shop\\_a").test("shop_a"));
  assert.ok(!grantPatternToRegExp("shop\\_a").test("shopXa"));
  assert.ok(grantPatternToRegExp("web%").test("web"));
  assert.ok(!grantPatternToRegExp("a.c").test("abc"), "regexp metacharacters are literal");
  assert.ok(grantPatternToRegExp("fr-ank/x$(y)[z]{1}+?^|").test("fr-ank/x$(y)[z]{1}+?^|"));
  assert.deepEqual(literalPrefix("shop\\_a%"), { prefix: "shop_a", wildcard: true });
  assert.deepEqual(literalPrefix("shop\\_a"), { prefix: "shop_a", wildcard: false });
  assert.deepEqual(literalPrefix("%x"), { prefix: "", wildcard: true });
});

Deno.test("mapping: grants; a schema counts once per user; user@host narrows the grants", async () => {
  const grants = [
    { user: "bob", host: "%", db: "shop\\_%" },
    { user: "bob", host: "localhost", db: "shop_a" }, // matches shop_a and shopXa
    { user: "bob", host: "localhost", db: "shop\\_a" }, // shop_a again: must count once
    { user: "eve", host: "%", db: "web_" },
  ];
  const hosts = { bob: ["%", "localhost"], eve: ["%"] };
  assert.deepEqual(
    (await owned("grants", [limit("bob"), limit("eve"), limit("nobody")], { grants, hosts })).out,
    {
      bob: ["shop_a", "shopXa", "shop_b_old"],
      eve: ["web1"],
    },
  );
  assert.deepEqual((await owned("grants", [limit("bob", "%")], { grants, hosts })).out, {
    bob: ["shop_a", "shop_b_old"],
  });
});

Deno.test("mapping: roles are followed (also role to role); global and all-matching grants are reported, not charged", async () => {
  const grants = [
    { user: "reader", host: "", db: "shop" },
    { user: "writer", host: "", db: "web\\_%" },
    { user: "bob", host: "%", db: "%" },
  ];
  const roleGrants = [
    { user: "amy", host: "%", role: "outer", roleHost: "" },
    { user: "outer", host: "", role: "writer", roleHost: "" },
  ];
  const r = await owned("grants", [limit("amy"), limit("bob"), limit("carl")], {
    grants,
    roleGrants,
    global: [accountKey("carl", "%"), accountKey("writer", "")],
  });
  assert.deepEqual(r.out, { amy: ["web_1"] });
  assert.deepEqual(r.everywhere, {
    amy: ["*.* through role writer"],
    bob: ["%.*"],
    carl: ["*.*"],
  });
});

Deno.test("mapping: name is exact; prefix takes the longest account name", async () => {
  assert.deepEqual((await owned("name", [limit("shop"), limit("Web1")])).out, { shop: ["shop"] });
  assert.deepEqual((await owned("prefix", [limit("shop"), limit("web")])).out, {
    shop: ["shop_a", "shop_b_old"],
    web: ["web_1"],
  });
  // shop_b exists (not monitored): shop_b_old is shop_b's, not shop's.
  const schemas = ["shop_a", "shop_b_old", "shop_b_", "shop_bx_1", "ann_x_y_z", "ann_x"];
  assert.deepEqual(
    (await owned("prefix", [limit("shop"), limit("ann"), limit("ann_x")], {
      names: ["shop", "shop_b", "ann", "ann_x"],
    }, schemas)).out,
    // The schema named exactly ann_x starts with "ann_": it is ann's.
    { shop: ["shop_a", "shop_bx_1"], ann_x: ["ann_x_y_z"], ann: ["ann_x"] },
  );
});
