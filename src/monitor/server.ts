/**
 * The `Server` seam: every statement the monitor sends to a monitored server, as one interface.
 * The scan reads through it (version, accounts with their lock flags, grants and roles, schema
 * names and sizes) and the act step changes accounts through it (`ALTER USER … ACCOUNT LOCK` /
 * `UNLOCK`, listing and ending sessions). {@link MysqlServer} is the real one over a mysql2
 * connection; `memory_server.ts` is an in-memory one for unit tests of act and record, which
 * can fail any call the way a real server cannot be made to.
 * @module
 */
import type { ServerConfig } from "../config/config.ts";
import type { ConnectOptions, Db } from "../db/connection.ts";
import type { Flavour } from "../db/flavour.ts";
import {
  type AccountTable,
  type GrowthGrant,
  killSession,
  listAccounts,
  listSessions,
  readGrowthGrants,
  readRoleGrants,
  type RoleGrant,
  setAccountLocked,
} from "./accounts.ts";
import {
  grantPrivileges,
  type HeldPrivileges,
  type PrivilegeChange,
  readBrakePrivileges,
  revokePrivileges,
} from "./brake.ts";
import type { TableSize } from "./report.ts";
import type { Session } from "./sessions.ts";
import { largestTablesOf } from "./top_tables.ts";
import {
  listSchemas,
  serverDatadir,
  type Usage,
  usageFromInformationSchema,
  usageOfEverySchema,
} from "./usage.ts";

/** What the monitor reads from and does to one server. */
export interface Server {
  /** `SELECT VERSION()`. */
  version(): Promise<string>;
  /** Every account and role with its lock flag (also how an interrupted intent is resolved). */
  accounts(flavour: Flavour): Promise<AccountTable>;
  /** Schema-level grants that let their holder grow the data. */
  growthGrants(): Promise<GrowthGrant[]>;
  /** Every role grant. */
  roleGrants(flavour: Flavour): Promise<RoleGrant[]>;
  /** Names of the user schemas. */
  schemas(): Promise<string[]>;
  /** Size of every schema in one aggregate (information_schema). */
  usageOfEverySchema(): Promise<Usage>;
  /** Sizes of `schemas` (information_schema); `total` is how many schemas the server has. */
  usageOf(schemas: readonly string[], total: number): Promise<Usage>;
  /** The server's datadir. */
  datadir(): Promise<string>;
  /** The `limit` largest tables of `schemas` (information_schema), largest first. */
  largestTables(schemas: readonly string[], limit: number): Promise<TableSize[]>;
  /** `ALTER USER ?@? ACCOUNT LOCK` / `UNLOCK`. */
  setLocked(user: string, host: string, locked: boolean): Promise<void>;
  /** Every account's write-brake privileges, global and per schema (brake.ts). */
  brakePrivileges(flavour: Flavour): Promise<HeldPrivileges[]>;
  /** `REVOKE privs ON level FROM user@host`. */
  revoke(...change: PrivilegeChange): Promise<void>;
  /** `GRANT privs ON level TO user@host`, never creating the account. */
  grant(flavour: Flavour, ...change: PrivilegeChange): Promise<void>;
  /** Open sessions whose user name is byte for byte `user`, except the monitor's own. */
  sessions(user: string): Promise<Session[]>;
  /** Ends session `id`; false when it was already gone. */
  kill(id: number): Promise<boolean>;
}

/** The connection settings of a configured server (the monitor's side of the db/ edge). */
export function connectOptionsOf(server: ServerConfig): ConnectOptions {
  return {
    id: server.id,
    socket: server.socket,
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    connectTimeoutSec: server.connectTimeoutSec,
    queryTimeoutSec: server.queryTimeoutSec,
    connectRetries: server.connectRetries,
    tls: server.tls,
    serverPublicKey: server.serverPublicKey,
    secureHint: server.secureHint,
  };
}

/** The real {@link Server}: statements over one mysql2 connection. */
export class MysqlServer implements Server {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  async version(): Promise<string> {
    const [{ v }] = await this.#db.query<{ v: string }>("SELECT VERSION() AS v");
    return String(v);
  }

  accounts(flavour: Flavour): Promise<AccountTable> {
    return listAccounts(this.#db, flavour);
  }

  growthGrants(): Promise<GrowthGrant[]> {
    return readGrowthGrants(this.#db);
  }

  roleGrants(flavour: Flavour): Promise<RoleGrant[]> {
    return readRoleGrants(this.#db, flavour);
  }

  schemas(): Promise<string[]> {
    return listSchemas(this.#db);
  }

  usageOfEverySchema(): Promise<Usage> {
    return usageOfEverySchema(this.#db);
  }

  usageOf(schemas: readonly string[], total: number): Promise<Usage> {
    return usageFromInformationSchema(this.#db, schemas, total);
  }

  datadir(): Promise<string> {
    return serverDatadir(this.#db);
  }

  largestTables(schemas: readonly string[], limit: number): Promise<TableSize[]> {
    return largestTablesOf(this.#db, schemas, limit);
  }

  setLocked(user: string, host: string, locked: boolean): Promise<void> {
    return setAccountLocked(this.#db, user, host, locked);
  }

  brakePrivileges(flavour: Flavour): Promise<HeldPrivileges[]> {
    return readBrakePrivileges(this.#db, flavour);
  }

  revoke(...change: PrivilegeChange): Promise<void> {
    return revokePrivileges(this.#db, ...change);
  }

  grant(flavour: Flavour, ...change: PrivilegeChange): Promise<void> {
    return grantPrivileges(this.#db, flavour, ...change);
  }

  sessions(user: string): Promise<Session[]> {
    return listSessions(this.#db, user);
  }

  kill(id: number): Promise<boolean> {
    return killSession(this.#db, id);
  }
}
