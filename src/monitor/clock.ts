/**
 * The monitor's clock for the grace period (`hard_grace`): unix time in seconds. A test can set
 * it with `MYSQL_MONITOR_TEST_CLOCK=<unix seconds>` to run a real monitor at a chosen time
 * instead of sleeping through a grace; like the fault hook (fault.ts), the variable is only read
 * when the process was given access to it, which the binary's permission set never does.
 * @module
 */
import { readTestHook } from "../util/env.ts";

/** The environment variable that sets the clock in tests. */
export const CLOCK_ENV = "MYSQL_MONITOR_TEST_CLOCK";

function fixed(): number | undefined {
  const text = readTestHook(CLOCK_ENV);
  return text !== undefined && /^\d{1,12}$/.test(text) ? Number(text) : undefined;
}

const testTime = fixed();

/** Unix time in whole seconds (the test clock when one is set). */
export function nowSeconds(): number {
  return testTime ?? Math.floor(Date.now() / 1000);
}
