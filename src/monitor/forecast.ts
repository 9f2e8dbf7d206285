/**
 * The usage forecast, pure: from a user's usage samples, a linear growth rate and the time
 * until the hard limit at that rate.
 *
 * - The rate is the ordinary least-squares slope of bytes over time through every sample of the
 *   last {@link FORECAST_WINDOW_MS} (24 h), the current measurement included. Least squares over
 *   a day rather than first-to-last: one spike (a bulk load later deleted) moves it less, and a
 *   steady daily pattern averages out.
 * - At least two samples at two different times are needed; otherwise there is no rate.
 * - The time to the hard limit is `(hard − usage) / rate` from the current usage (not from the
 *   fitted line), and only when the rate is positive and the usage still under the hard limit:
 *   a user who shrinks or is already over has no such time.
 * @module
 */

/** One measurement: when (ms since the epoch) and how many bytes. */
export interface UsageSample {
  at: number;
  bytes: number;
}

/** How far back the regression looks, in ms (24 h). */
export const FORECAST_WINDOW_MS = 24 * 3600_000;

/** The horizon of "full in ~N days" in `--once`, in seconds (7 days). */
export const FULL_SOON_SEC = 7 * 86400;

/** What {@link forecast} found for one user. */
export interface Forecast {
  /** Growth in bytes per hour (negative when shrinking). */
  growthBytesPerHour: number;
  /** Seconds until usage reaches the hard limit at that rate; only when growing and under it. */
  secondsToHardLimit?: number;
  /** Samples the rate is computed from. */
  samples: number;
}

/**
 * The least-squares slope of `samples` in bytes per hour, or undefined with fewer than two
 * distinct times. Times are taken relative to their mean, so epoch milliseconds lose no
 * precision in the squares.
 */
export function growthRate(samples: readonly UsageSample[]): number | undefined {
  const n = samples.length;
  if (n < 2) return undefined;
  let meanT = 0;
  let meanB = 0;
  for (const s of samples) {
    meanT += s.at / n;
    meanB += s.bytes / n;
  }
  let sxx = 0;
  let sxy = 0;
  for (const s of samples) {
    const dt = (s.at - meanT) / 3600_000;
    sxx += dt * dt;
    sxy += dt * (s.bytes - meanB);
  }
  if (!(sxx > 0)) return undefined;
  return sxy / sxx;
}

/**
 * The forecast of one user from `history` (older samples, any order) and the current
 * measurement `now`; samples older than the window before `now.at`, or not before it, are
 * ignored. Undefined when there is no rate.
 */
export function forecast(
  history: readonly UsageSample[],
  now: UsageSample,
  hard: number,
): Forecast | undefined {
  const from = now.at - FORECAST_WINDOW_MS;
  const points = history.filter((s) => s.at >= from && s.at < now.at);
  points.push(now);
  const rate = growthRate(points);
  if (rate === undefined || !Number.isFinite(rate)) return undefined;
  const out: Forecast = { growthBytesPerHour: rate, samples: points.length };
  if (rate > 0 && now.bytes < hard) {
    out.secondsToHardLimit = ((hard - now.bytes) / rate) * 3600;
  }
  return out;
}

/**
 * "full in ~N days" when the forecast reaches the hard limit within {@link FULL_SOON_SEC};
 * otherwise undefined. Below one day it says hours.
 */
export function fullIn(f: Forecast | undefined): string | undefined {
  const sec = f?.secondsToHardLimit;
  if (sec === undefined || sec > FULL_SOON_SEC) return undefined;
  if (sec < 86400) return `full in ~${Math.max(1, Math.round(sec / 3600))} h`;
  const days = sec / 86400;
  return `full in ~${days < 10 ? Math.round(days * 10) / 10 : Math.round(days)} days`;
}
