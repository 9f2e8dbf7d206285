/**
 * Web Worker entry: scans the files posted to it with {@link scanFile} and posts the results
 * back, one message per job (`{ ok, result }` or `{ ok: false, error }`).
 * @module
 */
import { scanFile, type ScanJob } from "./scan.ts";

interface WorkerScope {
  onmessage: ((e: MessageEvent<ScanJob>) => void) | null;
  postMessage(message: unknown): void;
}

const scope = globalThis as unknown as WorkerScope;
scope.onmessage = (e) => {
  try {
    scope.postMessage({ ok: true, result: scanFile(e.data) });
  } catch (err) {
    scope.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) });
  }
};
