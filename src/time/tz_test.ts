import assert from "node:assert/strict";
import { isUtcLike, machineZone, parseStoredTime, Zone } from "./tz.ts";

Deno.test("tz: wall times to instants across DST, formatted with the offset", () => {
  const z = new Zone("Europe/Zurich");
  const summer = z.toInstant(Date.UTC(2024, 9, 14, 13, 22, 57));
  assert.equal(z.format(summer), "2024-10-14 13:22:57+02:00");
  // 02:30 happens twice on 2024-10-27; log order picks the right one.
  const first = z.toInstant(Date.UTC(2024, 9, 27, 2, 30));
  assert.equal(z.format(first), "2024-10-27 02:30:00+02:00");
  const later = z.toInstant(Date.UTC(2024, 9, 27, 2, 10), first);
  assert.equal(z.format(later), "2024-10-27 02:10:00+01:00");
  assert.ok(later > first, "02:10 CET comes after 02:30 CEST");
  // 02:30 does not exist on 2024-03-31.
  assert.equal(z.format(z.toInstant(Date.UTC(2024, 2, 31, 2, 30))), "2024-03-31 03:30:00+02:00");
  assert.throws(() => new Zone("Mars/Olympus"), RangeError);
});

Deno.test("tz: stored last_seen values are read back as instants (ours and the Go tool's)", () => {
  assert.equal(parseStoredTime("2024-10-27 02:30:00+02:00"), Date.UTC(2024, 9, 27, 0, 30));
  assert.equal(parseStoredTime("2024-10-27 02:10:00+01:00 CET"), Date.UTC(2024, 9, 27, 1, 10));
  assert.equal(parseStoredTime("garbage"), undefined);
});

Deno.test("tz: the machine's zone from TZ or the /etc/localtime link, and whether it is UTC", () => {
  const zurich = machineZone(() => ":Europe/Zurich");
  assert.equal(zurich?.name, "Europe/Zurich");
  assert.equal(isUtcLike(zurich!.offsetAt), false);
  assert.equal(isUtcLike(machineZone(() => "Etc/UTC")!.offsetAt), true);
  assert.equal(isUtcLike(machineZone(() => "GMT0BST,M3.5.0/1,M10.5.0")!.offsetAt), false);
  assert.equal(machineZone(() => "Nowhere/Special"), undefined);
  const dir = Deno.makeTempDirSync();
  try {
    Deno.symlinkSync("/usr/share/zoneinfo/America/New_York", `${dir}/localtime`);
    const ny = machineZone(() => undefined, `${dir}/localtime`);
    assert.equal(ny?.name, "America/New_York");
    assert.equal(ny!.offsetAt(Date.UTC(2024, 0, 1)), -5 * 3_600_000);
    Deno.copyFileSync("/usr/share/zoneinfo/Etc/UTC", `${dir}/copy`);
    const copy = machineZone(() => undefined, `${dir}/copy`);
    assert.equal(copy?.name, `${dir}/copy`);
    assert.equal(isUtcLike(copy!.offsetAt), true);
    assert.equal(machineZone(() => undefined, `${dir}/missing`), undefined);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  // UTC and its aliases need no zone file; the name is kept as given.
  assert.equal(new Zone("Etc/UTC").format(0), "1970-01-01 00:00:00+00:00");
});

Deno.test("tz: format gives what the Date fields give, for any instant and zone", () => {
  const reference = (z: Zone, instant: number) => {
    const offset = z.offsetAt(instant);
    const d = new Date(instant + offset);
    const p = (n: number) => String(n).padStart(2, "0");
    const abs = Math.abs(offset) / 60_000;
    return `${String(d.getUTCFullYear()).padStart(4, "0")}-${p(d.getUTCMonth() + 1)}-${
      p(d.getUTCDate())
    } ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}${
      offset < 0 ? "-" : "+"
    }${p(Math.floor(abs / 60))}:${p(abs % 60)}`;
  };
  let seed = 7;
  const rand = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  for (const name of ["UTC", "Europe/Zurich", "America/St_Johns", "Asia/Kathmandu"]) {
    const z = new Zone(name);
    for (let i = 0; i < 3000; i++) {
      const instant = Math.floor(Date.UTC(1950, 0, 1) + rand() * 120 * 365 * 86_400_000);
      assert.equal(z.format(instant), reference(z, instant), `${name} ${instant}`);
    }
    assert.equal(z.format(-1), reference(z, -1));
  }
});
