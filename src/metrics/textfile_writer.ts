/**
 * The one writer of a metrics textfile.
 *
 * Several servers finish their scans independently and each asks for the file to be
 * rewritten. Writes through here are serialised (never two at once, so never two temporary
 * files racing for the same name) and coalesced: requests that arrive while a write is running
 * are served together by the next write, which renders the state as it is when that write
 * starts. Each write replaces the file atomically (safe_fs.ts).
 * @module
 */
import { writeFileAtomic } from "../system/safe_fs.ts";

/** What a render gives: the text, a promise of it, or its pieces in order. */
export type Text = string | Promise<string> | AsyncIterable<string>;

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Serialised, coalescing writer of one file. */
export class TextfileWriter {
  /** The file this writer replaces. */
  readonly path: string;
  #mode: number;
  #render?: () => Text;
  #waiters: Waiter[] = [];
  #running = false;
  /** Number of writes started so far (tests and benchmarks read it). */
  writes = 0;

  constructor(path: string, mode = 0o644) {
    this.path = path;
    this.#mode = mode;
  }

  /**
   * Asks for the file to hold what `render` returns (or resolves to: a long rendering may yield
   * to the event loop; or the pieces it yields, written as they come). Resolves once a write
   * that started after this call has finished; rejects with that write's error.
   */
  write(render: () => Text): Promise<void> {
    this.#render = render;
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (!this.#running) {
      this.#running = true;
      void this.#drain();
    }
    return done;
  }

  async #drain(): Promise<void> {
    while (this.#render) {
      const render = this.#render;
      const waiters = this.#waiters;
      this.#render = undefined;
      this.#waiters = [];
      this.writes++;
      try {
        const text = render();
        await writeFileAtomic(this.path, text instanceof Promise ? await text : text, this.#mode);
        for (const w of waiters) w.resolve();
      } catch (err) {
        for (const w of waiters) w.reject(err);
      }
    }
    this.#running = false;
  }
}
