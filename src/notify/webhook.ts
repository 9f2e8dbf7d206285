/**
 * Webhook notifications: one JSON POST per state change of a monitored user, sent in the
 * background so that a scan never waits for a receiver.
 *
 * What the monitor uses (one {@link WebhookNotifier} per configured receiver, see
 * {@link WebhookNotifiers} for one per server's `notify_url`):
 * - {@link WebhookNotifier.enqueue} takes a {@link NotifyEvent} and returns at once. Events wait
 *   in a bounded queue (default 1000); when it is full the oldest waiting event is dropped and
 *   counted.
 * - Events are posted one at a time, in order. A network error, a timeout (default 10 s per
 *   request), a 5xx, 408 or 429 answer is retried with exponential backoff and jitter (1 s, 2 s,
 *   4 s … at most 5 min, each between half and all of that) up to 6 attempts; any other answer
 *   outside 2xx (4xx, a redirect, which is never followed) fails the event at once, and so does
 *   an untrusted TLS certificate.
 * - {@link WebhookNotifier.counters} gives `sent`, `failed` (given up) and `dropped` (pushed out
 *   of a full queue, enqueued after stop, or still waiting at stop's deadline): the values of
 *   `mysql_monitor_notifications_total{result=…}` ({@link notificationFamily}).
 * - {@link WebhookNotifier.stop} delivers what is queued until a deadline, then abandons the rest.
 *
 * The body (`Content-Type: application/json`) is {@link NotifyBody}. Headers:
 * `X-MySQL-Monitor-Event` (the event), `X-MySQL-Monitor-Delivery` (the body's `id`, the same for
 * every attempt: a receiver can drop repeats), `X-MySQL-Monitor-Timestamp` (Unix seconds of this
 * attempt) and, with a secret, `X-MySQL-Monitor-Signature: sha256=<hex>`: HMAC-SHA256 with the
 * secret as key over `<timestamp>.<body>` (the timestamp header's value, a dot, the body bytes).
 * A receiver recomputes it, compares in constant time, and refuses a timestamp more than a few
 * minutes from its clock: a captured request cannot be replayed later, and within the window
 * the delivery id tells a repeat ({@link verifySignature} does the first two).
 *
 * HTTPS checks the certificate chain and that the certificate names the URL's host, always
 * (against Deno's root certificates plus `caCerts`, when given); the secret itself never leaves
 * the process, only the MAC does.
 * @module
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";
import type { Family } from "../metrics/exposition.ts";
import { PROGRAM, VERSION } from "../version.ts";

/** The state changes a notification is sent for. */
export const NOTIFY_EVENTS = [
  "soft_exceeded",
  "soft_cleared",
  "hard_exceeded",
  "locked",
  "readonly",
  "released",
  "action_failed",
] as const;

/** One of {@link NOTIFY_EVENTS}. */
export type NotifyEventKind = typeof NOTIFY_EVENTS[number];

/** What the monitor reports about one state change. */
export interface NotifyEvent {
  event: NotifyEventKind;
  /** Server id (`db_id`). */
  server: string;
  /** Account user name. */
  user: string;
  /** Account host when the limit names one account (`user@host` in search_user). */
  host?: string;
  usageBytes: number;
  /** Soft limit in bytes; undefined when the line has none. */
  softBytes?: number;
  hardBytes: number;
  /** The hard action configured for this user (`lock` or `readonly`). */
  action: "lock" | "readonly";
  /** When the change was seen, in ms since the epoch (default: when enqueued). */
  time?: number;
}

/** The JSON body of a notification (snake_case, as receivers expect). */
export interface NotifyBody {
  /** Unique per event, the same on every attempt (also in `X-MySQL-Monitor-Delivery`). */
  id: string;
  event: NotifyEventKind;
  server: string;
  user: string;
  host: string | null;
  usage_bytes: number;
  soft_bytes: number | null;
  hard_bytes: number;
  action: "lock" | "readonly";
  /** RFC 3339 in UTC, e.g. `2026-11-30T06:00:00.000Z`. */
  time: string;
}

/** Counters of one notifier (or the sum of several). */
export interface NotifyCounters {
  /** Events the receiver accepted (2xx). */
  sent: number;
  /** Events given up on: a final refusal, or every attempt failed. */
  failed: number;
  /** Events never tried to the end: pushed out of a full queue, or left at stop. */
  dropped: number;
  /** Attempts repeated after a retryable failure (not events). */
  retries: number;
}

/** The outcome of one event, for logs ({@link WebhookOptions.onOutcome}). */
export interface NotifyOutcome {
  body: NotifyBody;
  result: "sent" | "failed" | "dropped";
  attempts: number;
  /** Why it failed: `HTTP 404`, `timeout after 10000 ms`, a network error's message. */
  reason?: string;
}

/** Settings of a {@link WebhookNotifier}; only `url` is required. */
export interface WebhookOptions {
  /** `http://` or `https://` URL, already checked (config/enforcement.ts parseNotifyUrl). */
  url: string;
  /** HMAC-SHA256 key; anything with `reveal()` (config.ts Secret). Undefined = unsigned. */
  secret?: { reveal(): string };
  /** PEM certificates trusted in addition to the built-in roots, for HTTPS. */
  caCerts?: string[];
  /** Most events waiting; more push out the oldest (default 1000). */
  queueLimit?: number;
  /** Per-request timeout in ms (default 10,000). */
  timeoutMs?: number;
  /** Attempts per event, the first included (default 6). */
  maxAttempts?: number;
  /** Backoff before the 2nd attempt, in ms, doubled each time (default 1000). */
  retryBaseMs?: number;
  /** Longest backoff, in ms (default 300,000). */
  retryMaxMs?: number;
  /** Clock in ms since the epoch (default Date.now); used for `time` and the timestamp header. */
  now?: () => number;
  /** Waits `ms` or until `signal` aborts (default a timer); the backoff goes through it. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Uniform in [0, 1) for the jitter (default Math.random). */
  random?: () => number;
  /** Called once per event with its outcome (never throws into the notifier). */
  onOutcome?: (outcome: NotifyOutcome) => void;
}

/** Statuses retried besides 5xx: request timeout and too many requests. */
const RETRY_STATUSES = new Set([408, 429]);

/** The `sha256=<hex>` signature of `body` sent at `timestamp` (Unix seconds). */
export function signBody(secret: string, timestamp: number, body: string): string {
  return "sha256=" + createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
}

/**
 * What a receiver does: whether `signature` is the right one for `body` and `timestamp`
 * (compared in constant time) and the timestamp is within `toleranceSec` of `nowSec`.
 */
export function verifySignature(
  secret: string,
  timestamp: string,
  body: string,
  signature: string,
  nowSec: number,
  toleranceSec = 300,
): boolean {
  if (!/^\d{1,12}$/.test(timestamp)) return false;
  const ts = Number(timestamp);
  if (Math.abs(nowSec - ts) > toleranceSec) return false;
  const expected = Buffer.from(signBody(secret, ts, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** The body of `event` as posted, with a new id. */
export function notifyBody(event: NotifyEvent, now: number): NotifyBody {
  return {
    id: randomUUID(),
    event: event.event,
    server: event.server,
    user: event.user,
    host: event.host ?? null,
    usage_bytes: event.usageBytes,
    soft_bytes: event.softBytes ?? null,
    hard_bytes: event.hardBytes,
    action: event.action,
    time: isoTime(event.time, now),
  };
}

/** `time` as RFC 3339 UTC; a missing or impossible time (NaN, out of range) is `now`'s. */
function isoTime(time: number | undefined, now: number): string {
  const date = new Date(time ?? now);
  return Number.isNaN(date.getTime()) ? new Date(now).toISOString() : date.toISOString();
}

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** What one attempt came to. */
type Attempt = { ok: true } | { ok: false; retry: boolean; reason: string };

/**
 * Posts notifications to one receiver in the background (see the module documentation).
 * Create it once, call {@link enqueue} from the scan, {@link stop} at shutdown.
 */
export class WebhookNotifier {
  readonly url: string;
  readonly #secret?: { reveal(): string };
  readonly #client?: Deno.HttpClient;
  readonly #queueLimit: number;
  readonly #timeoutMs: number;
  readonly #maxAttempts: number;
  readonly #retryBaseMs: number;
  readonly #retryMaxMs: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly #random: () => number;
  readonly #onOutcome?: (outcome: NotifyOutcome) => void;
  readonly #queue: NotifyBody[] = [];
  readonly #counters: NotifyCounters = { sent: 0, failed: 0, dropped: 0, retries: 0 };
  /** Aborted at stop's deadline: ends the request in flight and any backoff. */
  readonly #abort = new AbortController();
  #worker?: Promise<void>;
  #stopping = false;
  #idleWaiters: (() => void)[] = [];

  constructor(options: WebhookOptions) {
    this.url = options.url;
    this.#secret = options.secret;
    this.#client = options.caCerts?.length
      ? Deno.createHttpClient({ caCerts: options.caCerts })
      : undefined;
    this.#queueLimit = Math.max(1, options.queueLimit ?? 1000);
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 6);
    this.#retryBaseMs = options.retryBaseMs ?? 1000;
    this.#retryMaxMs = options.retryMaxMs ?? 300_000;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#random = options.random ?? Math.random;
    this.#onOutcome = options.onOutcome;
  }

  /**
   * Queues `event` and returns at once (never throws, never waits). Returns the body that will
   * be posted, or undefined when the notifier is stopping (the event is then counted dropped).
   */
  enqueue(event: NotifyEvent): NotifyBody | undefined {
    const body = notifyBody(event, this.#now());
    if (this.#stopping) {
      this.#finish(body, "dropped", 0, "the notifier is stopping");
      return undefined;
    }
    if (this.#queue.length >= this.#queueLimit) {
      const oldest = this.#queue.shift()!;
      this.#finish(oldest, "dropped", 0, `queue full (${this.#queueLimit} events)`);
    }
    this.#queue.push(body);
    // `finally` runs after the assignment even when the loop ends without waiting.
    this.#worker ??= this.#work().finally(() => {
      this.#worker = undefined;
      for (const wake of this.#idleWaiters.splice(0)) wake();
    });
    return body;
  }

  /** A copy of the counters. */
  get counters(): NotifyCounters {
    return { ...this.#counters };
  }

  /** Events waiting (not counting the one being posted). */
  get pending(): number {
    return this.#queue.length;
  }

  /** Resolves when nothing is queued or in flight (`--once` waits for it, with a deadline). */
  idle(): Promise<void> {
    if (!this.#worker) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Stops taking events and delivers those queued until `deadlineMs` from now; what is then
   * still in flight or queued is abandoned and counted dropped. Returns the final counters.
   * Also frees the HTTP client. Calling it again returns the same counters.
   */
  async stop(deadlineMs: number): Promise<NotifyCounters> {
    this.#stopping = true;
    if (this.#worker) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.max(0, deadlineMs));
      });
      await Promise.race([this.#worker, deadline]);
      clearTimeout(timer);
      this.#abort.abort();
      await this.#worker;
    }
    if (!this.#abort.signal.aborted) this.#abort.abort();
    try {
      this.#client?.close();
    } catch { /* already closed */ }
    return this.counters;
  }

  /** The background loop: one event at a time, in order, until the queue is empty. */
  async #work(): Promise<void> {
    for (let body = this.#queue.shift(); body; body = this.#queue.shift()) {
      if (this.#abort.signal.aborted) {
        this.#finish(body, "dropped", 0, "stopped before it was sent");
        continue;
      }
      await this.#deliver(body);
    }
  }

  /** Posts one event, retrying as the module documentation says. */
  async #deliver(body: NotifyBody): Promise<void> {
    const text = JSON.stringify(body);
    for (let attempt = 1;; attempt++) {
      const result = await this.#post(body, text);
      if (result.ok) return this.#finish(body, "sent", attempt);
      if (this.#abort.signal.aborted) {
        return this.#finish(body, "dropped", attempt, `stopped: ${result.reason}`);
      }
      if (!result.retry || attempt >= this.#maxAttempts) {
        return this.#finish(body, "failed", attempt, result.reason);
      }
      this.#counters.retries++;
      await this.#sleep(this.backoffMs(attempt), this.#abort.signal);
      if (this.#abort.signal.aborted) {
        return this.#finish(body, "dropped", attempt, `stopped: ${result.reason}`);
      }
    }
  }

  /**
   * The wait after failed attempt `attempt` (1-based): `retryBaseMs · 2^(attempt-1)`, capped
   * at `retryMaxMs`, then a random part of it between half and all ("equal jitter"), so that
   * many monitors whose receiver came back do not all retry at once.
   */
  backoffMs(attempt: number): number {
    const full = Math.min(this.#retryMaxMs, this.#retryBaseMs * 2 ** Math.min(attempt - 1, 30));
    return Math.round(full / 2 + this.#random() * (full / 2));
  }

  /** One POST with its own timeout. */
  async #post(body: NotifyBody, text: string): Promise<Attempt> {
    const timestamp = Math.floor(this.#now() / 1000);
    const headers: Record<string, string> = {
      "Content-Type": "application/json",
      "User-Agent": `${PROGRAM}/${VERSION}`,
      "X-MySQL-Monitor-Event": body.event,
      "X-MySQL-Monitor-Delivery": body.id,
      "X-MySQL-Monitor-Timestamp": String(timestamp),
    };
    if (this.#secret) {
      headers["X-MySQL-Monitor-Signature"] = signBody(this.#secret.reveal(), timestamp, text);
    }
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.#timeoutMs);
    const signal = AbortSignal.any([timeout.signal, this.#abort.signal]);
    try {
      const response = await fetch(this.url, {
        method: "POST",
        headers,
        body: text,
        redirect: "manual",
        signal,
        ...(this.#client ? { client: this.#client } : {}),
      });
      await response.body?.cancel().catch(() => {});
      if (response.status >= 200 && response.status < 300) return { ok: true };
      const retry = response.status >= 500 || RETRY_STATUSES.has(response.status);
      const reason = response.status >= 300 && response.status < 400
        ? `HTTP ${response.status} (redirects are not followed)`
        : `HTTP ${response.status}`;
      return { ok: false, retry, reason };
    } catch (err) {
      if (timeout.signal.aborted && !this.#abort.signal.aborted) {
        return { ok: false, retry: true, reason: `timeout after ${this.#timeoutMs} ms` };
      }
      const message = oneLineMessage(err);
      // A certificate the receiver cannot change by waiting: not worth retrying.
      const certificate = /certificate|UnknownIssuer|NotValidForName|CertNotValid/i.test(message);
      return { ok: false, retry: !certificate, reason: message };
    } finally {
      clearTimeout(timer);
    }
  }

  #finish(body: NotifyBody, result: NotifyOutcome["result"], attempts: number, reason?: string) {
    this.#counters[result]++;
    try {
      this.#onOutcome?.({ body, result, attempts, ...(reason ? { reason } : {}) });
    } catch { /* a logging hook must not break delivery */ }
  }
}

/**
 * An error's message with its causes (fetch says only "fetch failed"; the cause says why), on
 * one line, cut to 300 characters (it goes into logs).
 */
function oneLineMessage(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 4; depth++) {
    parts.push(e instanceof Error ? e.message : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  const text = parts.join(": ");
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** A receiver of some servers, as config.ts gives it (`ServerConfig.notify`). */
export interface NotifyTarget {
  url: string;
  secret?: { reveal(): string };
  /** PEM of CA certificates trusted besides the built-in roots (`notify_tls_ca`). */
  caCert?: string;
}

/**
 * One notifier per distinct receiver (URL and secret) of a configuration's servers, kept across
 * reloads: {@link update} with the new servers keeps the notifiers still in use (their queues
 * and counters), creates the new ones and stops those no longer configured (in the background,
 * with `stopDeadlineMs`). Counters of stopped notifiers stay in {@link counters}, so the metric
 * never goes down.
 */
export class WebhookNotifiers {
  readonly #byKey = new Map<string, WebhookNotifier>();
  readonly #byServer = new Map<string, WebhookNotifier>();
  readonly #retired: NotifyCounters = { sent: 0, failed: 0, dropped: 0, retries: 0 };
  /** Notifiers no longer configured, delivering what they hold until their deadline. */
  readonly #retiring = new Map<WebhookNotifier, Promise<void>>();

  constructor(
    readonly options: Omit<WebhookOptions, "url" | "secret"> & { stopDeadlineMs?: number } = {},
  ) {}

  /** Sets the receivers from the servers' `notify` settings (server id → target). */
  update(servers: readonly { id: string; notify?: NotifyTarget }[]): void {
    const keep = new Map<string, WebhookNotifier>();
    this.#byServer.clear();
    for (const { id, notify } of servers) {
      if (!notify) continue;
      const key = [notify.url, notify.secret?.reveal() ?? "", notify.caCert ?? ""].join("\u0000");
      let notifier = keep.get(key) ?? this.#byKey.get(key);
      if (!notifier) {
        notifier = new WebhookNotifier({
          ...this.options,
          url: notify.url,
          secret: notify.secret,
          ...(notify.caCert ? { caCerts: [notify.caCert] } : {}),
        });
      }
      keep.set(key, notifier);
      this.#byServer.set(id, notifier);
    }
    for (const [key, notifier] of this.#byKey) {
      if (!keep.has(key)) this.#retire(notifier);
    }
    this.#byKey.clear();
    for (const [key, notifier] of keep) this.#byKey.set(key, notifier);
  }

  /** Queues `event` for its server's receiver; does nothing for a server without one. */
  enqueue(event: NotifyEvent): void {
    this.#byServer.get(event.server)?.enqueue(event);
  }

  /** Whether `server` has a receiver. */
  has(server: string): boolean {
    return this.#byServer.has(server);
  }

  /** The sum of every notifier's counters, those retired included. */
  get counters(): NotifyCounters {
    const sum = { ...this.#retired };
    for (const n of [...this.#byKey.values(), ...this.#retiring.keys()]) add(sum, n.counters);
    return sum;
  }

  /** Resolves when every current notifier is idle. */
  async idle(): Promise<void> {
    await Promise.all([...this.#byKey.values()].map((n) => n.idle()));
  }

  /** Stops every notifier with the same deadline; returns the final sum. */
  async stop(deadlineMs: number): Promise<NotifyCounters> {
    const all = [...this.#byKey.values()];
    this.#byKey.clear();
    this.#byServer.clear();
    for (const counters of await Promise.all(all.map((n) => n.stop(deadlineMs)))) {
      add(this.#retired, counters);
    }
    await Promise.all(this.#retiring.values());
    return { ...this.#retired };
  }

  #retire(notifier: WebhookNotifier): void {
    const done = notifier.stop(this.options.stopDeadlineMs ?? 10_000).then((counters) => {
      add(this.#retired, counters);
      this.#retiring.delete(notifier);
    });
    this.#retiring.set(notifier, done);
  }
}

function add(sum: NotifyCounters, more: NotifyCounters): void {
  sum.sent += more.sent;
  sum.failed += more.failed;
  sum.dropped += more.dropped;
  sum.retries += more.retries;
}

/**
 * The metric family `mysql_monitor_notifications_total{result="sent|failed|dropped"}` of
 * `counters`, for the monitor's textfile (always all three samples, 0 included).
 */
export function notificationFamily(counters: NotifyCounters): Family {
  return {
    name: "mysql_monitor_notifications_total",
    help:
      "Webhook notifications by outcome: sent (2xx), failed (given up), dropped (queue full or " +
      "left at shutdown).",
    type: "counter",
    samples: (["sent", "failed", "dropped"] as const).map((result) => ({
      labels: { result },
      value: counters[result],
    })),
  };
}
