/**
 * The webhook notifier against real HTTP(S) receivers on 127.0.0.1 (Deno.serve, port 0). The
 * backoff goes through an injected sleep that records the waits and returns at once, and the
 * clock is fixed: no assertion depends on how long anything takes.
 */
import assert from "node:assert/strict";
import { makeCerts } from "../../tests/support/certs.ts";
import { renderExposition } from "../metrics/exposition.ts";
import {
  notificationFamily,
  type NotifyEvent,
  type NotifyOutcome,
  signBody,
  verifySignature,
  WebhookNotifier,
  WebhookNotifiers,
  type WebhookOptions,
} from "./webhook.ts";

const NOW = Date.UTC(2026, 10, 30, 6, 0, 0);
const SECRET = "0123456789abcdef-signing-key";

interface Received {
  headers: Headers;
  body: string;
}

/** A receiver answering each request with `answer(n)` (n from 0); `hold` delays answers. */
function receiver(
  answer: (n: number) => number = () => 200,
  tls?: { cert: string; key: string },
) {
  const got: Received[] = [];
  let release!: () => void;
  let held = Promise.resolve();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {}, ...(tls ?? {}) },
    async (req) => {
      const n = got.length;
      got.push({ headers: req.headers, body: await req.text() });
      await held;
      const status = answer(n);
      return new Response(status >= 300 && status < 400 ? null : `answer ${status}`, {
        status,
        headers: status >= 300 && status < 400 ? { Location: "/elsewhere" } : {},
      });
    },
  );
  const scheme = tls ? "https" : "http";
  return {
    url: `${scheme}://127.0.0.1:${server.addr.port}/hook`,
    port: server.addr.port,
    got,
    /** From now on, answers wait until {@link open} is called. */
    hold() {
      held = new Promise((resolve) => release = resolve);
    },
    open() {
      release?.();
      held = Promise.resolve();
    },
    async close() {
      release?.();
      await server.shutdown();
    },
  };
}

/** The URL of a receiver that was just shut down: nothing listens there. */
async function closedUrl(): Promise<string> {
  const gone = receiver();
  await gone.close();
  return gone.url;
}

/** Options with a fixed clock, a sleep that records and returns at once, and outcomes kept. */
function seams(extra: Partial<WebhookOptions> = {}) {
  const waits: number[] = [];
  const outcomes: NotifyOutcome[] = [];
  const options = {
    now: () => NOW,
    sleep: (ms: number) => {
      waits.push(ms);
      return Promise.resolve();
    },
    random: () => 0.5,
    onOutcome: (o: NotifyOutcome) => outcomes.push(o),
    ...extra,
  };
  return { options, waits, outcomes };
}

function event(user = "alice", extra: Partial<NotifyEvent> = {}): NotifyEvent {
  return {
    event: "locked",
    server: "db1",
    user,
    usageBytes: 3_500_000_000,
    softBytes: 2 * 1024 ** 3,
    hardBytes: 3 * 1024 ** 3,
    action: "lock",
    time: NOW - 5000,
    ...extra,
  };
}

async function hmacHex(key: string, message: string): Promise<string> {
  const k = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(message));
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("webhook: one JSON POST per event, signed over timestamp and body", async () => {
  const r = receiver();
  const { options, outcomes } = seams();
  const n = new WebhookNotifier({ ...options, url: r.url, secret: { reveal: () => SECRET } });
  try {
    n.enqueue(event("alice", { host: "10.0.0.%" }));
    n.enqueue(event("bob", { event: "soft_exceeded", softBytes: undefined, action: "readonly" }));
    await n.idle();
    assert.equal(r.got.length, 2);
    const [first, second] = r.got;
    const body = JSON.parse(first.body);
    assert.deepEqual({ ...body, id: "?" }, {
      id: "?",
      event: "locked",
      server: "db1",
      user: "alice",
      host: "10.0.0.%",
      usage_bytes: 3_500_000_000,
      soft_bytes: 2 * 1024 ** 3,
      hard_bytes: 3 * 1024 ** 3,
      action: "lock",
      time: "2026-11-30T05:59:55.000Z",
    });
    assert.match(body.id, /^[0-9a-f-]{36}$/);
    assert.equal(first.headers.get("content-type"), "application/json");
    assert.equal(first.headers.get("x-mysql-monitor-event"), "locked");
    assert.equal(first.headers.get("x-mysql-monitor-delivery"), body.id);
    const ts = first.headers.get("x-mysql-monitor-timestamp")!;
    assert.equal(ts, String(NOW / 1000));
    const signature = first.headers.get("x-mysql-monitor-signature")!;
    // Computed independently (WebCrypto), as a receiver would.
    assert.equal(signature, `sha256=${await hmacHex(SECRET, `${ts}.${first.body}`)}`);
    assert.equal(signature, signBody(SECRET, Number(ts), first.body));
    assert.ok(verifySignature(SECRET, ts, first.body, signature, NOW / 1000 + 60));
    // Tampered body, other secret, a replay ten minutes later, another timestamp: refused.
    assert.ok(
      !verifySignature(SECRET, ts, first.body.replace("alice", "mallory"), signature, NOW / 1000),
    );
    assert.ok(!verifySignature("another-secret-key", ts, first.body, signature, NOW / 1000));
    assert.ok(!verifySignature(SECRET, ts, first.body, signature, NOW / 1000 + 600));
    assert.ok(!verifySignature(SECRET, String(Number(ts) + 1), first.body, signature, NOW / 1000));
    const bob = JSON.parse(second.body);
    assert.deepEqual([bob.user, bob.event, bob.host, bob.soft_bytes, bob.action], [
      "bob",
      "soft_exceeded",
      null,
      null,
      "readonly",
    ]);
    assert.deepEqual(n.counters, { sent: 2, failed: 0, dropped: 0, retries: 0 });
    assert.deepEqual(outcomes.map((o) => [o.result, o.attempts]), [["sent", 1], ["sent", 1]]);
    // An impossible time never makes enqueue throw: the clock's time is sent instead.
    assert.equal(n.enqueue(event("carol", { time: 1e20 }))?.time, new Date(NOW).toISOString());
    assert.equal(n.enqueue(event("carol", { time: NaN }))?.time, new Date(NOW).toISOString());
    await n.idle();
  } finally {
    await n.stop(1000);
    await r.close();
  }
});

Deno.test("webhook: without a secret nothing is signed", async () => {
  const r = receiver();
  const { options } = seams();
  const n = new WebhookNotifier({ ...options, url: r.url });
  try {
    n.enqueue(event());
    await n.idle();
    assert.equal(r.got.length, 1);
    assert.equal(r.got[0].headers.get("x-mysql-monitor-signature"), null);
    assert.equal(n.counters.sent, 1);
  } finally {
    await n.stop(1000);
    await r.close();
  }
});

Deno.test("webhook: a 5xx, 408 or 429 is retried with exponential backoff and jitter, then succeeds", async () => {
  const statuses = [500, 503, 429, 408, 200];
  const r = receiver((i) => statuses[i]);
  const { options, waits, outcomes } = seams({ random: () => 0.5 });
  const n = new WebhookNotifier({ ...options, url: r.url, secret: { reveal: () => SECRET } });
  try {
    n.enqueue(event());
    await n.idle();
    assert.equal(r.got.length, 5);
    // The same delivery on every attempt: a receiver can tell repeats.
    assert.equal(new Set(r.got.map((g) => g.body)).size, 1);
    assert.equal(new Set(r.got.map((g) => g.headers.get("x-mysql-monitor-delivery"))).size, 1);
    // 1 s, 2 s, 4 s, 8 s doubled; with random 0.5, three quarters of each.
    assert.deepEqual(waits, [750, 1500, 3000, 6000]);
    assert.deepEqual(n.counters, { sent: 1, failed: 0, dropped: 0, retries: 4 });
    assert.deepEqual(outcomes.map((o) => [o.result, o.attempts]), [["sent", 5]]);
  } finally {
    await n.stop(1000);
    await r.close();
  }
});

Deno.test("webhook: backoff doubles up to its cap, jitter between half and all of it", () => {
  const make = (random: number) =>
    new WebhookNotifier({ url: "http://127.0.0.1:9/", random: () => random, retryMaxMs: 10_000 });
  assert.deepEqual([1, 2, 3, 4, 5, 6, 60].map((a) => make(0).backoffMs(a)), [
    500,
    1000,
    2000,
    4000,
    5000,
    5000,
    5000,
  ]);
  assert.deepEqual([1, 2, 5].map((a) => make(0.999999).backoffMs(a)), [1000, 2000, 10_000]);
});

Deno.test("webhook: a 4xx or a redirect fails the event at once, without a retry", async () => {
  for (const status of [400, 401, 404, 410, 302]) {
    const r = receiver(() => status);
    const { options, waits, outcomes } = seams();
    const n = new WebhookNotifier({ ...options, url: r.url });
    try {
      n.enqueue(event());
      n.enqueue(event("bob"));
      await n.idle();
      assert.equal(r.got.length, 2, `${status}: one request per event`);
      assert.deepEqual(waits, [], `${status}: no backoff`);
      assert.deepEqual(n.counters, { sent: 0, failed: 2, dropped: 0, retries: 0 });
      assert.match(outcomes[0].reason!, new RegExp(`^HTTP ${status}`));
    } finally {
      await n.stop(1000);
      await r.close();
    }
  }
});

Deno.test("webhook: every attempt failing gives up after maxAttempts and counts a failure", async () => {
  const r = receiver(() => 502);
  const { options, waits, outcomes } = seams({ maxAttempts: 3 });
  const n = new WebhookNotifier({ ...options, url: r.url });
  try {
    n.enqueue(event());
    await n.idle();
    assert.equal(r.got.length, 3);
    assert.equal(waits.length, 2);
    assert.deepEqual(n.counters, { sent: 0, failed: 1, dropped: 0, retries: 2 });
    assert.deepEqual([outcomes[0].result, outcomes[0].reason], ["failed", "HTTP 502"]);
  } finally {
    await n.stop(1000);
    await r.close();
  }
});

Deno.test("webhook: a full queue drops the oldest waiting events and counts them", async () => {
  const r = receiver();
  r.hold();
  const { options, outcomes } = seams({ queueLimit: 3 });
  const n = new WebhookNotifier({ ...options, url: r.url });
  try {
    n.enqueue(event("u0"));
    // u0 is in flight (held by the receiver) once the request arrives.
    while (r.got.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    for (let i = 1; i <= 7; i++) n.enqueue(event(`u${i}`));
    assert.equal(n.pending, 3);
    assert.equal(n.counters.dropped, 4);
    r.open();
    await n.idle();
    assert.deepEqual(r.got.map((g) => JSON.parse(g.body).user), ["u0", "u5", "u6", "u7"]);
    assert.deepEqual(n.counters, { sent: 4, failed: 0, dropped: 4, retries: 0 });
    assert.deepEqual(
      outcomes.filter((o) => o.result === "dropped").map((o) => o.body.user),
      ["u1", "u2", "u3", "u4"],
    );
  } finally {
    await n.stop(1000);
    await r.close();
  }
});

Deno.test("webhook: a receiver that is down or hangs never blocks enqueue", async () => {
  const url = await closedUrl();
  const down = seams({ maxAttempts: 3 });
  const n = new WebhookNotifier({ ...down.options, url });
  // Hanging: answers only when released; each request times out after 50 ms.
  const r = receiver();
  r.hold();
  const hung = seams({ maxAttempts: 2, timeoutMs: 50 });
  const h = new WebhookNotifier({ ...hung.options, url: r.url, queueLimit: 100 });
  try {
    for (let i = 0; i < 1000; i++) {
      assert.ok(n.enqueue(event(`u${i}`)), "enqueue returns the queued body");
      assert.ok(h.enqueue(event(`u${i}`)));
    }
    // Both returned before any attempt could finish: nothing is counted yet.
    assert.deepEqual(n.counters, { sent: 0, failed: 0, dropped: 0, retries: 0 });
    assert.equal(h.counters.dropped, 899, "the bound holds while the receiver hangs");
    await h.stop(0);
    assert.equal(h.counters.sent, 0);
    assert.equal(h.counters.sent + h.counters.failed + h.counters.dropped, 1000);
    assert.ok(
      hung.outcomes.every((o) => o.result === "dropped" || /timeout after 50 ms/.test(o.reason!)),
    );
    await n.stop(0);
    assert.equal(n.counters.sent, 0);
    assert.equal(n.counters.failed + n.counters.dropped, 1000);
    const first = down.outcomes.find((o) => o.result === "failed");
    if (first) assert.equal(first.attempts, 3, "a network error is retried");
  } finally {
    await h.stop(0);
    await n.stop(0);
    await r.close();
  }
});

Deno.test("webhook: a network error is retried, then counted failed with its reason", async () => {
  const url = await closedUrl();
  const { options, waits, outcomes } = seams({ maxAttempts: 3 });
  const n = new WebhookNotifier({ ...options, url });
  try {
    n.enqueue(event());
    await n.idle();
    assert.deepEqual(n.counters, { sent: 0, failed: 1, dropped: 0, retries: 2 });
    assert.equal(waits.length, 2);
    assert.equal(outcomes[0].attempts, 3);
    assert.match(outcomes[0].reason!, /refused|connect/i);
    assert.doesNotMatch(outcomes[0].reason!, /\n/);
  } finally {
    await n.stop(0);
  }
});

Deno.test("webhook: stop delivers what is queued, then refuses new events", async () => {
  const r = receiver();
  const { options } = seams();
  const n = new WebhookNotifier({ ...options, url: r.url });
  try {
    for (let i = 0; i < 5; i++) n.enqueue(event(`u${i}`));
    const final = await n.stop(60_000);
    assert.deepEqual(final, { sent: 5, failed: 0, dropped: 0, retries: 0 });
    assert.equal(r.got.length, 5);
    assert.equal(n.enqueue(event("late")), undefined);
    assert.equal(n.counters.dropped, 1);
    assert.equal(r.got.length, 5);
  } finally {
    await r.close();
  }
});

Deno.test("webhook: stop's deadline abandons the request in flight and the queue", async () => {
  const r = receiver();
  r.hold();
  const { options, outcomes } = seams();
  const n = new WebhookNotifier({ ...options, url: r.url });
  try {
    for (let i = 0; i < 3; i++) n.enqueue(event(`u${i}`));
    while (r.got.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const final = await n.stop(20);
    assert.deepEqual(final, { sent: 0, failed: 0, dropped: 3, retries: 0 });
    assert.deepEqual(outcomes.map((o) => o.body.user), ["u0", "u1", "u2"]);
  } finally {
    await r.close();
  }
});

Deno.test("webhook: HTTPS checks the chain and the host name; a bad certificate is not retried", async () => {
  const good = await makeCerts("IP:127.0.0.1");
  const wrong = await makeCerts("DNS:wrong.example.org");
  const read = (p: string) => Deno.readTextFileSync(p);
  const servers = [good, wrong].map((c) =>
    receiver(() => 200, { cert: read(c.serverCert), key: read(c.serverKey) })
  );
  const [ok, misnamed] = servers;
  try {
    const cases: [string, string[] | undefined, number][] = [
      [ok.url, [read(good.ca)], 1], // trusted CA, right name: delivered
      [ok.url, undefined, 0], // a CA nobody trusts
      [ok.url, [read(good.otherCa)], 0], // another CA
      [misnamed.url, [read(wrong.ca)], 0], // trusted, but names another host
    ];
    for (const [url, caCerts, sent] of cases) {
      const { options, waits, outcomes } = seams();
      const n = new WebhookNotifier({ ...options, url, caCerts });
      n.enqueue(event());
      await n.idle();
      await n.stop(0);
      assert.equal(n.counters.sent, sent, `${url} ${caCerts ? "with" : "without"} CA`);
      if (sent === 0) {
        assert.equal(outcomes[0].attempts, 1, "a certificate failure is final");
        assert.deepEqual(waits, []);
        assert.match(outcomes[0].reason!, /certificate|issuer|name/i);
      }
    }
    // Only the trusted, correctly named delivery reached a handler.
    assert.equal(ok.got.length, 1);
    assert.equal(misnamed.got.length, 0);
  } finally {
    for (const s of servers) await s.close();
    for (const c of [good, wrong]) await Deno.remove(c.dir, { recursive: true });
  }
});

Deno.test("webhook: one notifier per receiver across reloads; counters never go down", async () => {
  const a = receiver();
  const b = receiver();
  const { options } = seams();
  const set = new WebhookNotifiers(options);
  try {
    set.update([
      { id: "db1", notify: { url: a.url } },
      { id: "db2", notify: { url: a.url } },
      { id: "db3" },
    ]);
    assert.ok(set.has("db1") && set.has("db2") && !set.has("db3"));
    set.enqueue(event("alice", { server: "db1" }));
    set.enqueue(event("bob", { server: "db2" }));
    set.enqueue(event("carol", { server: "db3" }));
    await set.idle();
    assert.deepEqual(a.got.map((g) => JSON.parse(g.body).server), ["db1", "db2"]);
    // Reload: db2 moves to receiver b, db1 loses its receiver.
    set.update([{ id: "db1" }, { id: "db2", notify: { url: b.url } }]);
    set.enqueue(event("dave", { server: "db1" }));
    set.enqueue(event("erin", { server: "db2" }));
    await set.idle();
    assert.equal(a.got.length, 2);
    assert.deepEqual(b.got.map((g) => JSON.parse(g.body).user), ["erin"]);
    assert.equal(set.counters.sent, 3, "the retired notifier's sends still count");
    const final = await set.stop(1000);
    assert.deepEqual(final, { sent: 3, failed: 0, dropped: 0, retries: 0 });
    const text = renderExposition([notificationFamily(final)]);
    assert.match(text, /^# TYPE mysql_monitor_notifications_total counter$/m);
    assert.match(text, /^mysql_monitor_notifications_total\{result="sent"\} 3$/m);
    assert.match(text, /^mysql_monitor_notifications_total\{result="failed"\} 0$/m);
    assert.match(text, /^mysql_monitor_notifications_total\{result="dropped"\} 0$/m);
  } finally {
    await set.stop(0);
    await a.close();
    await b.close();
  }
});
