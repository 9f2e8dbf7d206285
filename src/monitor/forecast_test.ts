import assert from "node:assert/strict";
import { forecast, FORECAST_WINDOW_MS, fullIn, growthRate } from "./forecast.ts";

const H = 3600_000;
const T0 = Date.UTC(2026, 10, 30);

Deno.test("forecast: the least-squares slope of a straight line is its rate, in bytes per hour", () => {
  const line = [0, 1, 2, 3, 4].map((h) => ({ at: T0 + h * H, bytes: 1000 + 250 * h }));
  assert.equal(growthRate(line), 250);
  // Order does not matter; a shrinking user has a negative rate.
  assert.equal(growthRate([...line].reverse()), 250);
  assert.equal(growthRate(line.map((s) => ({ ...s, bytes: 5000 - s.bytes }))), -250);
});

Deno.test("forecast: one outlier moves the least-squares slope less than the first-to-last one", () => {
  // Steady +100/h for 10 h, with the last point a spike of +5000.
  const samples = Array.from({ length: 11 }, (_, h) => ({ at: T0 + h * H, bytes: 100 * h }));
  samples[10] = { at: T0 + 10 * H, bytes: 1000 + 5000 };
  const firstToLast = (samples[10].bytes - samples[0].bytes) / 10;
  const slope = growthRate(samples)!;
  assert.ok(slope > 100 && slope < firstToLast, `slope ${slope}`);
  // The exact value: the spike adds 5000 * (10 - 5) / sum((h - 5)^2) = 25000 / 110.
  assert.ok(Math.abs(slope - (100 + 25000 / 110)) < 1e-9);
});

Deno.test("forecast: no rate from fewer than two samples or from one instant", () => {
  assert.equal(growthRate([]), undefined);
  assert.equal(growthRate([{ at: T0, bytes: 1 }]), undefined);
  assert.equal(growthRate([{ at: T0, bytes: 1 }, { at: T0, bytes: 9 }]), undefined);
  assert.equal(forecast([], { at: T0, bytes: 5 }, 10), undefined);
});

Deno.test("forecast: only the last 24 h count; seconds to the hard limit from the current usage", () => {
  const now = { at: T0 + 48 * H, bytes: 2000 };
  const history = [
    { at: now.at - FORECAST_WINDOW_MS - 1, bytes: 0 }, // too old: ignored
    { at: now.at - 10 * H, bytes: 1000 },
    { at: now.at + H, bytes: 99999 }, // not before now (a clock set back): ignored
  ];
  const f = forecast(history, now, 3000)!;
  assert.equal(f.samples, 2);
  assert.equal(f.growthBytesPerHour, 100);
  assert.equal(f.secondsToHardLimit, 10 * 3600);
  assert.equal(fullIn(f), "full in ~10 h");
  // Over the hard limit already, or shrinking: no time to it.
  assert.equal(forecast(history, { ...now, bytes: 3001 }, 3000)!.secondsToHardLimit, undefined);
  const shrinking = forecast([{ at: now.at - H, bytes: 2500 }], now, 3000)!;
  assert.equal(shrinking.growthBytesPerHour, -500);
  assert.equal(shrinking.secondsToHardLimit, undefined);
  assert.equal(fullIn(shrinking), undefined);
});

Deno.test("forecast: 'full in ~N days' only within 7 days", () => {
  const days = (d: number) =>
    fullIn({ growthBytesPerHour: 1, samples: 2, secondsToHardLimit: d * 86400 });
  assert.equal(days(2.5), "full in ~2.5 days");
  assert.equal(days(7), "full in ~7 days");
  assert.equal(days(7.01), undefined);
  assert.equal(fullIn(undefined), undefined);
});
