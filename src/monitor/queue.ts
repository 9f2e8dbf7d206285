/**
 * A bounded task queue: at most `concurrency` tasks run at once, the rest wait in order.
 * A slow task holds one slot only, so the others keep moving.
 * @module
 */

/** Runs async tasks with bounded concurrency. */
export class TaskQueue {
  #running = 0;
  #waiting: (() => void)[] = [];
  #idle: (() => void)[] = [];

  constructor(readonly concurrency: number) {}

  /** Tasks running right now. */
  get running(): number {
    return this.#running;
  }

  /** Queues `task`; resolves with its result once it has run. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.concurrency) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    this.#running++;
    try {
      return await task();
    } finally {
      this.#running--;
      const next = this.#waiting.shift();
      if (next) next();
      else if (this.#running === 0) { for (const done of this.#idle.splice(0)) done(); }
    }
  }

  /** Resolves when nothing runs or waits. */
  idle(): Promise<void> {
    if (this.#running === 0 && this.#waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
