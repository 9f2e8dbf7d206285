/**
 * Wall-clock times of the audit log (server local time, no zone) to instants and back.
 *
 * server_audit writes `YYYYMMDD HH:MM:SS` in the server's zone without an offset. Around a DST
 * change a wall time can mean two instants (autumn) or none (spring); {@link Zone.toInstant}
 * picks the one that keeps the log in time order. Offsets come from the system's zone files
 * (tzif.ts) and are cached per UTC hour, so converting many times costs a map lookup.
 * @module
 */

/** Wall-clock fields packed as a UTC epoch in milliseconds, i.e. `Date.UTC(y, m-1, d, h, mi, s)`. */
export type WallTime = number;

import { readEnv } from "../util/env.ts";
import { loadZone, type OffsetFn, parsePosixTz, parseTzif, unreadable } from "./tzif.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** "00" to "59". */
const TWO = Array.from({ length: 60 }, (_, i) => (i < 10 ? "0" : "") + i);

/** Names of UTC itself (no offset file needed). */
const UTC_NAMES = new Set([
  "UTC",
  "Etc/UTC",
  "UCT",
  "Etc/UCT",
  "Universal",
  "Etc/Universal",
  "Zulu",
  "Etc/Zulu",
  "GMT",
  "Etc/GMT",
  "GMT0",
  "Etc/GMT0",
  "GMT+0",
  "Etc/GMT+0",
  "GMT-0",
  "Etc/GMT-0",
  "Greenwich",
  "Etc/Greenwich",
]);

/**
 * Time zone arithmetic for one IANA zone. Offsets come from the system's zone files (like the
 * server's own clock), and from `Intl` only for a name that has no readable file there.
 */
export class Zone {
  /** The IANA name, e.g. `Europe/Zurich`. */
  readonly name: string;
  #offsetOf: OffsetFn;
  #offsets = new Map<number, number>();
  #dates = new Map<number, string>();
  #offsetTexts = new Map<number, string>();

  /** Throws RangeError for an unknown zone name. */
  constructor(name: string) {
    if (UTC_NAMES.has(name)) {
      this.name = name;
      this.#offsetOf = () => 0;
      return;
    }
    const fromFile = loadZone(name);
    if (fromFile) {
      this.name = name;
      this.#offsetOf = fromFile;
      return;
    }
    const format = new Intl.DateTimeFormat("en-US", {
      timeZone: name,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    this.name = format.resolvedOptions().timeZone;
    this.#offsetOf = (instant) => intlOffset(format, instant);
  }

  /** Offset from UTC in milliseconds at `instant` (positive east of Greenwich). */
  offsetAt(instant: number): number {
    const hour = Math.floor(instant / HOUR);
    let offset = this.#offsets.get(hour);
    if (offset === undefined) {
      offset = this.#offsetOf(hour * HOUR);
      this.#offsets.set(hour, offset);
    }
    return offset;
  }

  /**
   * The instant a wall-clock time stands for. Of the candidate offsets (one, or two in the
   * repeated autumn hour) it takes the earliest instant that is not before `notBefore` minus
   * a minute; a time skipped in spring is read with the offset in force just before the gap.
   */
  toInstant(wall: WallTime, notBefore = -Infinity): number {
    const a = wall - this.offsetAt(wall - 14 * HOUR);
    const b = wall - this.offsetAt(wall + 14 * HOUR);
    // The same offset 14 hours before and after: no change in between, one answer.
    if (a === b) return a;
    const candidates: number[] = [];
    for (const c of a <= b ? [a, b] : [b, a]) {
      if (c + this.offsetAt(c) === wall && !candidates.includes(c)) candidates.push(c);
    }
    if (candidates.length === 0) return a; // skipped by a spring-forward change
    for (const c of candidates) if (c >= notBefore - 60_000) return c;
    return candidates[candidates.length - 1];
  }

  /** Formats `instant` as `YYYY-MM-DD HH:MM:SS+HH:MM` in this zone (the Go tool's layout). */
  format(instant: number): string {
    const offset = this.offsetAt(instant);
    const local = instant + offset;
    const day = Math.floor(local / DAY);
    // The date and the offset are built once per day and per offset: a run formats thousands
    // of times that fall on a few days.
    let date = this.#dates.get(day);
    if (date === undefined) {
      if (this.#dates.size > 4096) this.#dates.clear();
      const d = new Date(day * DAY);
      date = `${d.getUTCFullYear().toString().padStart(4, "0")}-${pad(d.getUTCMonth() + 1)}-${
        pad(d.getUTCDate())
      } `;
      this.#dates.set(day, date);
    }
    let zone = this.#offsetTexts.get(offset);
    if (zone === undefined) {
      const abs = Math.abs(offset) / 60_000;
      zone = `${offset < 0 ? "-" : "+"}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
      this.#offsetTexts.set(offset, zone);
    }
    const secs = Math.floor((local - day * DAY) / 1000);
    return date + TWO[Math.floor(secs / 3600)] + ":" + TWO[Math.floor(secs / 60) % 60] + ":" +
      TWO[secs % 60] + zone;
  }
}

/** The offset `format`'s zone has at `instant`, read back from its wall-clock fields. */
function intlOffset(format: Intl.DateTimeFormat, instant: number): number {
  const parts: Record<string, number> = {};
  for (const p of format.formatToParts(new Date(instant))) {
    if (p.type !== "literal") parts[p.type] = Number(p.value);
  }
  const wall = Date.UTC(
    parts.year,
    parts.month - 1,
    parts.day,
    parts.hour,
    parts.minute,
    parts.second,
  );
  return wall - instant;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * The machine's own zone as the C library (and so a MariaDB server started without TZ) sees
 * it: `$TZ` (a zone name or a POSIX rule), else /etc/localtime; the name is what the link
 * points to. Undefined when neither can be read.
 */
export function machineZone(
  env = () => readEnv("TZ"),
  localtime = "/etc/localtime",
): { name: string; offsetAt: OffsetFn } | undefined {
  const tz = env()?.replace(/^:/, "");
  if (tz) {
    if (UTC_NAMES.has(tz)) return { name: tz, offsetAt: () => 0 };
    const offsetAt = loadZone(tz) ?? parsePosixTz(tz);
    return offsetAt ? { name: tz, offsetAt } : undefined;
  }
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(localtime);
  } catch (err) {
    if (unreadable(err)) return undefined;
    throw err;
  }
  const offsetAt = parseTzif(bytes);
  if (!offsetAt) return undefined;
  let name = localtime;
  try {
    name = Deno.readLinkSync(localtime).replace(/^.*\/zoneinfo\//, "");
  } catch (err) {
    // EINVAL: a copy of a zone file, not a link to one; it keeps its path as its name.
    if (!(err instanceof TypeError && (err as { code?: string }).code === "EINVAL")) throw err;
  }
  return { name, offsetAt };
}

/** True when `offsetAt` is UTC's (no offset now, half a year ago or in half a year). */
export function isUtcLike(offsetAt: OffsetFn, now = Date.now()): boolean {
  const half = 183 * 24 * HOUR;
  return offsetAt(now) === 0 && offsetAt(now - half) === 0 && offsetAt(now + half) === 0;
}

const STORED =
  /^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:([+-])(\d\d):?(\d\d)|Z)?(?: [A-Za-z0-9+-]+)?$/;

/**
 * Reads a `last_seen` value back as an instant: this program's `2024-10-14 13:22:57+02:00`,
 * and the Go tool's `2024-10-14 13:22:57+02:00 CEST`. Returns undefined when it is neither.
 */
export function parseStoredTime(text: string): number | undefined {
  const m = STORED.exec(text.trim());
  if (!m) return undefined;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  if (m[7] === undefined) return wall;
  const offset = (+m[8] * 60 + +m[9]) * 60_000;
  return m[7] === "+" ? wall - offset : wall + offset;
}
