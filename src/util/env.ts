/**
 * The one way this program reads an environment variable.
 * @module
 */

/**
 * The value of the environment variable `name`, or undefined when it is unset or when this
 * process may not read it (the permission set does not list it, or a mode revoked env access
 * after start-up). Any other failure is thrown.
 */
export function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
      return undefined;
    }
    throw err;
  }
}

/**
 * The value of a test hook's environment variable `name`, or undefined in production. The
 * permission is asked first (so nothing ever prompts for it) and only a granted one is read: the
 * binary's permission set never lists a hook, so there it is always undefined. Call it when a
 * module loads, before a mode revokes its environment access.
 */
export function readTestHook(name: string): string | undefined {
  const env = { name: "env", variable: name } as const;
  if (Deno.permissions.querySync(env).state !== "granted") return undefined;
  return Deno.env.get(name);
}
