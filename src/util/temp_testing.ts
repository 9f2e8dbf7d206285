/**
 * Helper for tests (nothing in production imports this): a fresh temporary directory for the
 * length of one callback.
 * @module
 */

/** The callback of {@link inTempDir}: gets the directory's path. */
export type InTempDir<T> = (dir: string) => Promise<T>;

/**
 * Runs `fn` in a new temporary directory (made with `options`, when given) and removes the
 * directory with everything in it afterwards, whether `fn` succeeded or threw.
 */
export async function inTempDir<T>(
  ...args: [fn: InTempDir<T>] | [options: Deno.MakeTempOptions, fn: InTempDir<T>]
): Promise<T> {
  const [options, fn] = args.length === 1 ? [undefined, args[0]] : args;
  const dir = await Deno.makeTempDir(options);
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
