import assert from "node:assert/strict";
import { loadZone, parsePosixTz, parseTzif } from "./tzif.ts";

const formats = new Map<string, Intl.DateTimeFormat>();

/** The offset Intl (ICU's own copy of the zone database) gives at `instant`. */
function intlOffset(zone: string, instant: number): number {
  let f = formats.get(zone);
  if (!f) {
    formats.set(
      zone,
      f = new Intl.DateTimeFormat("en-US", {
        timeZone: zone,
        hourCycle: "h23",
        year: "numeric",
        month: "numeric",
        day: "numeric",
        hour: "numeric",
        minute: "numeric",
        second: "numeric",
      }),
    );
  }
  const p = Object.fromEntries(
    f.formatToParts(new Date(instant)).map((x) => [x.type, Number(x.value)]),
  );
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - instant;
}

const ZONES = [
  "Europe/Zurich",
  "America/New_York",
  "Australia/Sydney", // southern hemisphere: DST over the new year
  "Europe/Dublin", // negative DST in the rule (IST-1GMT0)
  "Asia/Kolkata",
  "Pacific/Chatham", // 45-minute offsets
  "America/St_Johns", // half hours, DST
  "America/Sao_Paulo", // DST abolished in 2019
];

Deno.test("tzif: the system's zone files give the same offsets as Intl, 1990 to 2060", () => {
  for (const zone of ZONES) {
    const offsetAt = loadZone(zone);
    assert.ok(offsetAt, `${zone} not readable`);
    // Weekly, and on both sides of every change the file has (Intl is slow to ask; changes
    // fall on quarter hours in UTC and last longer than an hour).
    const check = (t: number) => {
      const want = intlOffset(zone, t);
      if (offsetAt(t) !== want) {
        assert.fail(`${zone} at ${new Date(t).toISOString()}: ${offsetAt(t)} != Intl ${want}`);
      }
    };
    const hour = 3_600_000;
    for (let t = Date.UTC(1990, 0, 1); t < Date.UTC(2060, 0, 1); t += 7 * 24 * hour) check(t);
    for (let t = Date.UTC(1990, 0, 1); t < Date.UTC(2060, 0, 1); t += hour) {
      if (offsetAt(t) !== offsetAt(t + hour)) {
        let lo = t;
        let hi = t + hour;
        while (hi - lo > 1000) {
          const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
          if (offsetAt(mid) === offsetAt(lo)) lo = mid;
          else hi = mid;
        }
        check(lo);
        check(hi);
      }
    }
  }
});

Deno.test("tzif: the footer rule alone (what slim zone files rely on after their last year)", () => {
  const zurich = parsePosixTz("CET-1CEST,M3.5.0,M10.5.0/3")!;
  const h = 3_600_000;
  // 2031-03-30 01:00 UTC: DST starts; 2031-10-26 01:00 UTC: it ends.
  assert.equal(zurich(Date.UTC(2031, 2, 30, 0, 59, 59)), h);
  assert.equal(zurich(Date.UTC(2031, 2, 30, 1)), 2 * h);
  assert.equal(zurich(Date.UTC(2031, 9, 26, 0, 59, 59)), 2 * h);
  assert.equal(zurich(Date.UTC(2031, 9, 26, 1)), h);
  const sydney = parsePosixTz("AEST-10AEDT,M10.1.0,M4.1.0/3")!;
  assert.equal(sydney(Date.UTC(2031, 0, 15)), 11 * h);
  assert.equal(sydney(Date.UTC(2031, 6, 15)), 10 * h);
  assert.equal(parsePosixTz("<+0530>-5:30")!(0), 5.5 * h);
  assert.equal(parsePosixTz("EST5")!(0), -5 * h);
  // Julian days: J60 is March 1st, leap year or not; 59 counts February 29.
  const julian = parsePosixTz("XST0XDT,J60/0,300/0")!;
  assert.equal(julian(Date.UTC(2032, 1, 29, 12)), 0);
  assert.equal(julian(Date.UTC(2032, 2, 1, 0, 0, 1)), h);
  for (const bad of ["", "CET", "CET-1CEST", "CET-1CEST,M13.5.0,M10.5.0", "C-1", "CET-1CEST,x,y"]) {
    assert.equal(parsePosixTz(bad), undefined, bad);
  }
});

Deno.test("tzif: names outside the zone directory and files that are not TZif are refused", () => {
  assert.equal(loadZone("../../etc/passwd"), undefined);
  assert.equal(loadZone("/etc/localtime"), undefined);
  assert.equal(loadZone("Mars/Olympus"), undefined);
  assert.equal(parseTzif(new TextEncoder().encode("TZif2 but truncated")), undefined);
  assert.equal(parseTzif(new Uint8Array(100)), undefined);
  // A version 1 file (32-bit data only, no footer) is read too.
  const v1 = Deno.readFileSync("/usr/share/zoneinfo/Europe/Zurich");
  const counts = new DataView(v1.buffer, 20, 24);
  const n = (k: number) => counts.getUint32(4 * k);
  const v1Size = 44 + n(3) * 5 + n(4) * 6 + n(5) + n(2) * 8 + n(1) + n(0);
  const old = v1.slice(0, v1Size);
  old[4] = 0; // version 1
  const offsetAt = parseTzif(old)!;
  assert.equal(offsetAt(Date.UTC(2020, 6, 1)), 2 * 3_600_000);
  assert.equal(offsetAt(Date.UTC(2020, 0, 1)), 3_600_000);
});
