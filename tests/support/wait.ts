/**
 * Waiting on events (a file, a log line, a server state) instead of on the clock. The time
 * limits here are hang guards, generous on a loaded machine: a test never passes or fails
 * because something took 2 s instead of 1.
 * @module
 */

/** Default hang guard: a minute. */
export const HANG_MS = 60_000;

/**
 * Polls `check` every 100 ms until it returns a true value, which it returns; gives up after
 * `ms`. An error thrown by `check` fails at once: a check that may legitimately not be ready
 * yet says so by returning a false value.
 */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  ms = HANG_MS,
): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await check();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
}

/** `promise`'s value, or an error naming `what` when it has not settled after `ms`. */
export async function within<T>(what: string, promise: Promise<T>, ms = HANG_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, guard]);
  } finally {
    clearTimeout(timer);
  }
}

/** True once nothing exists at `path`; other errors than NotFound are thrown. */
export async function gone(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return false;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return true;
    throw err;
  }
}
