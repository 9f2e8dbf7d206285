/**
 * Conditions some tests need (root, several CPUs). Off CI a test whose condition is missing is
 * skipped with the reason printed; on CI (`CI` set, which runs as root on 2 cores) it always
 * runs, so a broken runner fails instead of silently testing less.
 * @module
 */

/** True on a CI runner, where no test may be skipped. */
export const ON_CI = !!Deno.env.get("CI");

function skip(test: string, reason: string): boolean {
  if (ON_CI) return false;
  console.log(`skipped: ${test}: ${reason}`);
  return true;
}

/** `ignore` value for a test that needs root: true (reason printed) when not root, off CI. */
export function unlessRoot(test: string): boolean {
  return Deno.uid() !== 0 && skip(test, "needs root (scripts/test.sh runs as root on CI)");
}

/** `ignore` value for a test that needs `n` CPUs: true (reason printed) when fewer, off CI. */
export function unlessCpus(n: number, test: string): boolean {
  const have = navigator.hardwareConcurrency;
  return have < n && skip(test, `needs ${n} CPUs, this machine has ${have}`);
}
