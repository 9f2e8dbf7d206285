/**
 * The scan step: reads one server without changing it — version, accounts and roles, the grants
 * the mapping needs, the schema names, then the sizes of only the schemas some monitored user of
 * this shard owns — and sums them per user. Entry: {@link scanServer}; everything it reads goes
 * through the {@link Server} seam.
 * @module
 */
import type { ServerConfig } from "../config/config.ts";
import type { UserLimit } from "../config/search_user.ts";
import { type Flavour, lockUnsupported, parseVersion } from "../db/flavour.ts";
import { errorText, RuntimeError } from "../errors.ts";
import type { AccountTable, GrowthGrant, RoleGrant } from "./accounts.ts";
import { buildOwnerIndex, type OwnerIndex } from "./mapping.ts";
import type { TableSize } from "./report.ts";
import type { Server } from "./server.ts";
import { largestTablesInDirs } from "./top_tables.ts";
import { listSchemaDirs, type Usage, usageFromDatadir, WHOLE_SERVER_SHARE } from "./usage.ts";
import { TimeSlicer } from "./slice.ts";

/** A user's usage: bytes, and the schemas whose size could only be read in part. */
export interface UserUsage {
  bytes: number;
  incomplete: string[];
}

/** What a scan found on one server. */
export interface Scan {
  flavour: Flavour;
  accounts: AccountTable;
  /** Usage of every monitored user that has an account. */
  usage: Map<string, UserUsage>;
  /** Monitored users without an account (or without the one `user@host` names). */
  unknown: string[];
  /** Users that could grow every schema, with what grants it (reported, not charged). */
  everywhere: Map<string, string[]>;
  /** Schemas measured only in part, with the reason. */
  incomplete: Map<string, string>;
  /** The largest tables of each user over a limit (with `top` > 0). */
  topTables: Map<string, TableSize[]>;
  /** Why the largest tables could not be read, when they could not. */
  topProblem?: string;
}

/** Whether the account `limit` names exists on the server. */
function hasAccount(accounts: AccountTable, limit: UserLimit): boolean {
  const list = accounts.accounts.get(limit.user);
  if (!list?.length) return false;
  return limit.host === undefined || list.some((a) => a.host === limit.host);
}

/** The grants the `grants` schema mapping reads (none for the other mappings). */
async function grantsFor(
  target: Server,
  server: ServerConfig,
  flavour: Flavour,
): Promise<{ grants: GrowthGrant[]; roleGrants: RoleGrant[] }> {
  if (server.mapping !== "grants") return { grants: [], roleGrants: [] };
  const grants = await target.growthGrants();
  const roleGrants = await target.roleGrants(flavour).catch((err) => {
    throw new RuntimeError(
      `cannot read the role grants (${errorText(err)}); the monitor account needs ` +
        `SELECT on mysql.roles_mapping for schema_mapping=grants`,
      { cause: err },
    );
  });
  return { grants, roleGrants };
}

/**
 * The owners of each schema and the sizes of the owned ones. Unless `whole` (an aggregate over
 * every schema, already started) is given: the schema names first, then the owners of each,
 * then the sizes of the owned ones only. `dirs` is set when the sizes come from the datadir.
 */
async function ownedSizes(
  target: Server,
  server: ServerConfig,
  index: OwnerIndex,
  whole: Promise<Usage> | undefined,
  slicer: TimeSlicer,
): Promise<{ owners: Map<string, string[]>; sizes: Usage; dirs?: Map<string, string> }> {
  let dirs: Map<string, string> | undefined;
  let everything: Usage | undefined;
  let names: Iterable<string>;
  let total: number;
  if (server.usageSource === "datadir") {
    dirs = await listSchemaDirs(server.datadir ?? await target.datadir());
    names = dirs.keys();
    total = dirs.size;
  } else if (whole) {
    everything = await whole;
    names = everything.keys();
    total = everything.size;
  } else {
    const list = await target.schemas();
    names = list;
    total = list.length;
  }
  const owners = new Map<string, string[]>();
  for (const schema of names) {
    await slicer.pause();
    const who = index.owners(schema);
    if (who.length) owners.set(schema, who);
  }
  let sizes: Usage;
  if (everything) {
    sizes = everything;
  } else if (dirs) {
    const wanted = new Map<string, string>();
    for (const schema of owners.keys()) wanted.set(schema, dirs.get(schema)!);
    sizes = await usageFromDatadir(wanted);
  } else {
    sizes = await target.usageOf([...owners.keys()], total);
  }
  return { owners, sizes, ...(dirs ? { dirs } : {}) };
}

/** Each monitored user's bytes (the sum over the schemas it owns), and the schemas measured only in part. */
async function sumUsage(
  known: readonly UserLimit[],
  owners: Map<string, string[]>,
  sizes: Usage,
  slicer: TimeSlicer,
): Promise<{ usage: Map<string, UserUsage>; incomplete: Map<string, string> }> {
  const usage = new Map<string, UserUsage>(
    known.map((u) => [u.user, { bytes: 0, incomplete: [] }]),
  );
  const incomplete = new Map<string, string>();
  for (const [schema, who] of owners) {
    await slicer.pause();
    const size = sizes.get(schema);
    if (!size) continue; // dropped since it was listed
    if (size.problem) incomplete.set(schema, size.problem);
    for (const user of who) {
      const u = usage.get(user)!;
      u.bytes += size.bytes;
      if (size.problem) u.incomplete.push(schema);
    }
  }
  return { usage, incomplete };
}

/**
 * The `top` largest tables of each user over its soft limit (or hard, without one); a failure
 * to list them is returned as `topProblem`, not thrown.
 */
async function largestOfOver(
  target: Server,
  found: {
    known: readonly UserLimit[];
    usage: Map<string, UserUsage>;
    owners: Map<string, string[]>;
    dirs?: Map<string, string>;
    top: number;
  },
  slicer: TimeSlicer,
): Promise<{ topTables: Map<string, TableSize[]>; topProblem?: string }> {
  const { known, usage, owners, dirs, top } = found;
  const topTables = new Map<string, TableSize[]>();
  const over = new Map<string, string[]>();
  for (const limit of known) {
    if (usage.get(limit.user)!.bytes > (limit.soft ?? limit.hard)) over.set(limit.user, []);
  }
  for (const [schema, who] of owners) {
    for (const user of who) over.get(user)?.push(schema);
  }
  const local = dirs;
  try {
    for (const [user, schemas] of over) {
      await slicer.pause();
      const tables = local
        ? await largestTablesInDirs(new Map(schemas.map((s) => [s, local.get(s)!])), top)
        : await target.largestTables(schemas, top);
      topTables.set(user, tables);
    }
  } catch (err) {
    return { topTables, topProblem: errorText(err) };
  }
  return { topTables };
}

/**
 * Scans `server` for `users` (this shard's); `debug` 2 also checks ACCOUNT LOCK support. With
 * `top` > 0, also reads the `top` largest tables of each user over its soft limit (or its hard
 * limit when it has none) — see top_tables.ts; a failure there is reported in `topProblem`,
 * not as a failed scan.
 */
export async function scanServer(
  target: Server,
  server: ServerConfig,
  users: readonly UserLimit[],
  debug: 0 | 1 | 2,
  top = 0,
): Promise<Scan> {
  const flavour = parseVersion(await target.version());
  if (debug === 2) {
    const why = lockUnsupported(flavour);
    if (why) throw new RuntimeError(why);
  }
  const accounts = await target.accounts(flavour);
  const { grants, roleGrants } = await grantsFor(target, server, flavour);
  const known = users.filter((u) => hasAccount(accounts, u));
  const unknown = users.filter((u) => !hasAccount(accounts, u)).map((u) => u.user);
  // When (nearly) every account is monitored, one aggregate over all schemas is the cheapest
  // way; it starts now, and the owner index is built while the server works.
  const whole = server.usageSource === "information_schema" &&
      known.length >= WHOLE_SERVER_SHARE * accounts.accounts.size
    ? target.usageOfEverySchema()
    : undefined;
  whole?.catch(() => {}); // awaited below; not unhandled if the index fails first
  const index = await buildOwnerIndex({
    mapping: server.mapping,
    users: known,
    accountNames: new Set(accounts.accounts.keys()),
    hostsOf: (user) => (accounts.accounts.get(user) ?? []).map((a) => a.host),
    grants,
    roleGrants,
    globalGrowth: accounts.globalGrowth,
  });

  const slicer = new TimeSlicer();
  const { owners, sizes, dirs } = await ownedSizes(target, server, index, whole, slicer);
  const { usage, incomplete } = await sumUsage(known, owners, sizes, slicer);
  const { topTables, topProblem } = top > 0
    ? await largestOfOver(target, { known, usage, owners, dirs, top }, slicer)
    : { topTables: new Map<string, TableSize[]>(), topProblem: undefined };
  return {
    flavour,
    accounts,
    usage,
    unknown,
    everywhere: index.findings.everywhere,
    incomplete,
    topTables,
    ...(topProblem === undefined ? {} : { topProblem }),
  };
}
