/**
 * Cooperative time slicing for long loops: the monitor shares its event loop with timers,
 * signals and the systemd watchdog, so no stretch of synchronous work may run long. A loop calls
 * {@link TimeSlicer.pause} for each item; every {@link TimeSlicer.budgetMs} of work it yields
 * to the event loop once.
 * @module
 */
import { setImmediate } from "node:timers";

/**
 * Lets other work (timers, signals, I/O, the watchdog) run. setImmediate, not setTimeout(0):
 * nested zero timeouts are clamped to 4 ms, which would make a sliced loop idle half the time.
 */
export function yieldNow(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Yields to the event loop whenever `budgetMs` of synchronous work has passed since the last. */
export class TimeSlicer {
  #since = performance.now();
  #count = 0;

  /** `budgetMs`: longest stretch of work between two yields (default 10 ms). */
  constructor(readonly budgetMs = 10) {}

  /** Resolves at once, or after one macrotask when the budget is spent. */
  pause(): Promise<void> | undefined {
    // Reading the clock costs more than most loop bodies: look every 16 items.
    if ((++this.#count & 15) !== 0) return undefined;
    if (performance.now() - this.#since < this.budgetMs) return undefined;
    return yieldNow().then(() => {
      this.#since = performance.now();
    });
  }
}
