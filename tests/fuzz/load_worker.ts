/**
 * Worker that runs one configuration loader per message, so that the fuzz runner can stop a
 * loader stuck in a loop (Worker.terminate) and go on with the next case.
 *
 * Message in: `{ id, kind: "monitor" | "ini", path }`. Message out: `{ id, code, stderr,
 * thrown, ms, projection }`, where `projection` is what the model check compares (users,
 * servers with their passwords; or the ini's values) when the load succeeded.
 * @module
 */
import { loadConfig } from "../../src/config/config.ts";
import { loadConntrackConfig } from "../../src/config/conntrack_ini.ts";
import { describeError } from "../../src/errors.ts";

/** A request to the worker. */
export interface LoadRequest {
  id: number;
  kind: "monitor" | "ini";
  path: string;
}

/** The worker's answer. */
export interface LoadReply {
  id: number;
  code: number;
  stderr: string;
  /** Name of the error class thrown, when one was. */
  thrown?: string;
  ms: number;
  projection?: unknown;
}

async function load(req: LoadRequest): Promise<unknown> {
  if (req.kind === "ini") return await loadConntrackConfig(req.path);
  const c = await loadConfig(req.path, { credentialsDirectory: "" });
  return {
    users: c.users.map((u) => [u.user, u.host, u.soft, u.hard]),
    servers: c.servers.map((s) => [s.id, s.user, s.password.reveal()]),
  };
}

const scope = globalThis as unknown as {
  onmessage: (e: MessageEvent<LoadRequest>) => void;
  postMessage: (m: LoadReply) => void;
};

scope.onmessage = async (e) => {
  const req = e.data;
  const start = performance.now();
  try {
    const projection = await load(req);
    scope.postMessage({
      id: req.id,
      code: 0,
      stderr: "",
      ms: performance.now() - start,
      projection,
    });
  } catch (err) {
    const ms = performance.now() - start;
    const { code, message } = describeError(err);
    scope.postMessage({
      id: req.id,
      code,
      stderr: `mysql_monitor_daemon: ${message}\n`,
      thrown: err instanceof Error ? err.name : typeof err,
      ms,
    });
  }
};
