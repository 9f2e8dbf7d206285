/**
 * A test-only fault hook: with `MYSQL_MONITOR_TEST_FAULT=<step>[@<n>]` in the environment, the
 * monitor freezes the n-th time (default the first) it reaches the named step, after printing
 * `fault: frozen at <step>@<n>` on stderr, so a test can SIGKILL it at exactly that point.
 *
 * Inert in production: the binary's permission set does not allow reading this variable (the
 * hook stays off without asking); only a test that adds `--allow-env` for it can turn it on.
 *
 * Steps, in the order a cycle reaches them: `scanned` (usage measured, lock not yet taken),
 * `resolved` (leftover intents resolved), `intent` (an intent committed, its `ALTER USER` — or,
 * for the write-brake, its REVOKE or GRANT — not yet sent), `altered` (the server answered, not
 * yet confirmed), `confirmed` (an account's change recorded, the next one not yet started), `recorded` (the cycle recorded, not yet published).
 * @module
 */
import { readTestHook } from "../util/env.ts";

/** Names of the points where {@link faultPoint} can stop the process. */
export type FaultStep = "scanned" | "resolved" | "intent" | "altered" | "confirmed" | "recorded";

/** The environment variable that arms the hook. */
export const FAULT_ENV = "MYSQL_MONITOR_TEST_FAULT";

const reached = new Map<string, number>();

function arm(): { step: string; at: number } | null {
  const spec = readTestHook(FAULT_ENV);
  const m = spec ? /^([a-z]+)(?:@(\d+))?$/.exec(spec) : null;
  return m ? { step: m[1], at: Number(m[2] ?? 1) } : null;
}

const armed = arm();

/** Marks that the cycle reached `step`; freezes the process there when the hook says so. */
export function faultPoint(step: FaultStep): void {
  if (!armed || armed.step !== step) return;
  const n = (reached.get(step) ?? 0) + 1;
  reached.set(step, n);
  if (n !== armed.at) return;
  Deno.stderr.writeSync(new TextEncoder().encode(`fault: frozen at ${step}@${n}\n`));
  // Block the whole thread: nothing else of this process runs until it is killed.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}
