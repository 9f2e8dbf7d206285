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
