/**
 * Web Worker entry: receives the shared job list and counter, scans jobs with
 * {@link scanQueue} until none is left, posting each file's result, then what it found.
 * @module
 */
import { Findings, type ScanJob, scanQueue, type WorkerReply } from "./scan.ts";

interface WorkerScope {
  onmessage: ((e: MessageEvent<{ jobs: ScanJob[]; next: Int32Array }>) => void) | null;
  postMessage(message: WorkerReply): void;
}

const scope = globalThis as unknown as WorkerScope;
scope.onmessage = (e) => {
  try {
    const found = new Findings();
    scanQueue(
      e.data.jobs,
      e.data.next,
      found,
      (index, result) => scope.postMessage({ index, result }),
    );
    scope.postMessage({ findings: found.toMessage() });
  } catch (err) {
    scope.postMessage({ error: err instanceof Error ? err.message : String(err) });
  }
};
