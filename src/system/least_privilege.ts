/**
 * Least privilege per mode: once a mode has loaded its configuration (and dropped root), it
 * revokes the Deno permissions it no longer needs, so that a bug or a hostile input later on
 * cannot use them.
 *
 * Always revoked: FFI (libc is sealed first, see libc.ts), `run`, `env` and `sys` (except the
 * process's own uid and gid, which password-file checks compare against). Revoked on
 * request: the network (conntrack without a fleet store). Write access is narrowed to the
 * configured paths as far as Deno can express it: every entry of the binary's permission set
 * (`app` in deno.json) that covers none of the paths the mode writes is revoked; an entry that
 * covers one stays whole (Deno cannot revoke part of a granted directory). Read entries that
 * belong to the other mode are revoked the same way.
 * @module
 */
import denoJson from "../../deno.json" with { type: "json" };
import { sealLibc } from "./libc.ts";

/** The binary's permission set, as compiled in. */
const APP = denoJson.permissions.app;

/** The sys kinds revoked; "uid" and "gid" stay. */
const SYS_REVOKED = [
  "hostname",
  "osRelease",
  "osUptime",
  "loadavg",
  "networkInterfaces",
  "systemMemoryInfo",
  "cpus",
  "homedir",
  "statfs",
  "getPriority",
  "setPriority",
] as const;

/** What a mode keeps after start-up. */
export interface Keep {
  /** Files and directories the mode writes from now on. */
  write: readonly string[];
  /** Files and directories the mode reads from now on (for the read entries it may drop). */
  read: readonly string[];
  /** Read entries of the permission set that this mode may give up (the other mode's). */
  foreignRead: readonly string[];
  /** Whether the mode still opens network connections. */
  net: boolean;
}

/** Whether permission entry `entry` (a path) grants access to `path`. */
export function covers(entry: string, path: string): boolean {
  const e = entry.replace(/\/+$/, "") || "/";
  return e === "/" || path === e || path.startsWith(`${e}/`);
}

/** The app set's write entries that `keep` lets go. */
export function writeEntriesToRevoke(keep: Pick<Keep, "write">): string[] {
  return APP.write.filter((entry) => !keep.write.some((p) => covers(entry, p)));
}

/** The app set's read entries that `keep` lets go. */
export function readEntriesToRevoke(keep: Pick<Keep, "read" | "foreignRead">): string[] {
  return APP.read.filter((entry) =>
    keep.foreignRead.includes(entry) && !keep.read.some((p) => covers(entry, p))
  );
}

/**
 * Revokes everything `keep` does not name. Call it after the privilege drop and after every
 * environment variable the mode needs later was read.
 */
export async function revokeUnneeded(keep: Keep): Promise<void> {
  await sealLibc();
  await Deno.permissions.revoke({ name: "run" });
  await Deno.permissions.revoke({ name: "env" });
  // sys: everything but the process's own uid and gid (password-file ownership checks).
  for (const kind of SYS_REVOKED) await Deno.permissions.revoke({ name: "sys", kind });
  if (!keep.net) await Deno.permissions.revoke({ name: "net" });
  for (const path of writeEntriesToRevoke(keep)) {
    await Deno.permissions.revoke({ name: "write", path });
  }
  for (const path of readEntriesToRevoke(keep)) {
    await Deno.permissions.revoke({ name: "read", path });
  }
}

function outcome(attempt: () => void): "granted" | "denied" {
  try {
    attempt();
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      return "denied";
    }
  }
  return "granted";
}

/**
 * Tries one harmless operation per permission and says whether Deno let it through (for the
 * test-only `--probe-permissions` flag): loading libc, starting the installed binary, reading
 * an environment variable and the host name, a TCP connection to port 9 of 127.0.0.1, and
 * removing a random name that does not exist under each path of `writes` and each write
 * entry of the permission set, and looking one up under each of `reads`.
 */
export async function probePermissions(
  writes: readonly string[],
  reads: readonly string[],
): Promise<string[]> {
  const random = crypto.randomUUID();
  const lines = [
    `ffi ${outcome(() => Deno.dlopen("/lib/x86_64-linux-gnu/libc.so.6", {}).close())}`,
    `run ${outcome(() => new Deno.Command(APP.run[0], { args: ["version"] }).outputSync())}`,
    `env ${outcome(() => Deno.env.get("HOME"))}`,
    `sys ${outcome(() => Deno.hostname())}`,
  ];
  let net: "granted" | "denied" = "granted";
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port: 9 })).close();
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      net = "denied";
    }
  }
  lines.push(`net ${net}`);
  for (const path of new Set([...writes, ...APP.write])) {
    lines.push(`write ${path} ${outcome(() => Deno.removeSync(`${path}/.probe-${random}`))}`);
  }
  for (const path of new Set(reads)) {
    lines.push(`read ${path} ${outcome(() => Deno.lstatSync(`${path}/.probe-${random}`))}`);
  }
  return lines;
}
