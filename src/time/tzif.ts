/**
 * UTC offsets from the system's time zone database (TZif files, RFC 8536, under
 * /usr/share/zoneinfo): the same data the MariaDB server and the Go tool read, without the
 * 30–50 ms that setting up ICU for `Intl.DateTimeFormat` costs at start-up.
 *
 * A file lists transitions up to some year; after the last one its footer (a POSIX TZ string
 * such as `CET-1CEST,M3.5.0,M10.5.0/3`) gives the rule for every later year.
 * @module
 */

/** Offset from UTC in milliseconds at an instant (ms since the epoch). */
export type OffsetFn = (instant: number) => number;

/** Where the zone files are. */
export const ZONEINFO = "/usr/share/zoneinfo";

/**
 * The offset function of zone `name` from `dir`/`name`, or undefined when the name is not a
 * plain zone name, there is no such file, or it is not a TZif file the reader understands.
 */
export function loadZone(name: string, dir = ZONEINFO): OffsetFn | undefined {
  if (!/^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/.test(name)) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(`${dir}/${name}`);
  } catch (err) {
    if (unreadable(err)) return undefined;
    throw err;
  }
  return parseTzif(bytes);
}

/**
 * True for the errors that mean "there is no zone file to read here": absent, not permitted,
 * or a directory (or a path through a plain file) instead of a file.
 */
export function unreadable(err: unknown): boolean {
  return err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied ||
    err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.IsADirectory ||
    err instanceof Deno.errors.NotADirectory;
}

/** The offset function of a TZif file's content, or undefined when it is not one. */
export function parseTzif(bytes: Uint8Array): OffsetFn | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = (at: number) => {
    if (bytes.length < at + 44 || view.getUint32(at) !== 0x545a6966) return undefined; // "TZif"
    const n = (k: number) => view.getUint32(at + 20 + 4 * k);
    return {
      version: bytes[at + 4],
      isut: n(0),
      isstd: n(1),
      leap: n(2),
      time: n(3),
      type: n(4),
      char: n(5),
    };
  };
  const h1 = header(0);
  if (!h1 || h1.type === 0) return undefined;
  const v1Size = h1.time * 5 + h1.type * 6 + h1.char + h1.leap * 8 + h1.isstd + h1.isut;
  // Version 2 and later repeat the data with 64-bit times, then add the footer.
  const wide = h1.version >= 0x32 ? header(44 + v1Size) : undefined;
  const h = wide ?? h1;
  const timeBytes = wide ? 8 : 4;
  let at = wide ? 44 + v1Size + 44 : 44;
  const dataSize = h.time * (timeBytes + 1) + h.type * 6 + h.char + h.leap * (timeBytes + 4) +
    h.isstd + h.isut;
  if (h.type === 0 || bytes.length < at + dataSize) return undefined;
  const times = new Float64Array(h.time);
  for (let i = 0; i < h.time; i++) {
    times[i] = 1000 *
      (wide ? Number(view.getBigInt64(at + 8 * i)) : view.getInt32(at + 4 * i));
  }
  at += h.time * timeBytes;
  const index = bytes.slice(at, at + h.time);
  at += h.time;
  const offsets = new Float64Array(h.type);
  for (let i = 0; i < h.type; i++) offsets[i] = 1000 * view.getInt32(at + 6 * i);
  for (let i = 0; i < h.time; i++) if (index[i] >= h.type) return undefined;
  at += dataSize - h.time * (timeBytes + 1);
  let rule: OffsetFn | undefined;
  if (wide) {
    const text = new TextDecoder().decode(bytes.subarray(at));
    const m = /^\n([^\n]*)\n/.exec(text);
    if (m && m[1] !== "") {
      rule = parsePosixTz(m[1]);
      if (!rule) return undefined;
    }
  }
  const last = h.time - 1;
  return (instant) => {
    if (h.time === 0 || instant < times[0]) {
      return h.time === 0 && rule ? rule(instant) : offsets[0];
    }
    if (instant >= times[last]) return rule ? rule(instant) : offsets[index[last]];
    let lo = 0;
    let hi = last; // times[lo] <= instant < times[hi]
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (times[mid] <= instant) lo = mid;
      else hi = mid;
    }
    return offsets[index[lo]];
  };
}

/**
 * The offset function of a POSIX TZ string as found in TZif footers:
 * `std offset [dst [offset] [,start[/time],end[/time]]]`, names alphabetic or `<…>`, offsets
 * west-positive (`CET-1` is UTC+1), rules `Mm.w.d`, `Jn` or `n`, times up to ±167 hours.
 * Returns undefined for anything else.
 */
export function parsePosixTz(tz: string): OffsetFn | undefined {
  let i = 0;
  const name = () => {
    if (tz[i] === "<") {
      const end = tz.indexOf(">", i);
      if (end < 0) return false;
      i = end + 1;
      return true;
    }
    const m = /^[A-Za-z]{3,}/.exec(tz.slice(i));
    if (!m) return false;
    i += m[0].length;
    return true;
  };
  /** `[+-]hh[:mm[:ss]]` in seconds, or undefined. */
  const clock = (): number | undefined => {
    const m = /^([+-]?)(\d{1,3})(?::(\d{1,2})(?::(\d{1,2}))?)?/.exec(tz.slice(i));
    if (!m) return undefined;
    i += m[0].length;
    const s = Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
    return m[1] === "-" ? -s : s;
  };
  if (!name()) return undefined;
  const stdWest = clock();
  if (stdWest === undefined) return undefined;
  const std = -stdWest * 1000 || 0; // never -0
  if (i === tz.length) return () => std;
  if (!name()) return undefined;
  let dst = std + 3_600_000;
  if (tz[i] !== "," && i < tz.length) {
    const west = clock();
    if (west === undefined) return undefined;
    dst = -west * 1000 || 0;
  }
  if (tz[i] !== ",") return undefined; // no rule: nothing to go by
  i++;
  const start = dateRule();
  if (!start || tz[i] !== ",") return undefined;
  i++;
  const end = dateRule();
  if (!end || i !== tz.length) return undefined;

  function dateRule(): ((year: number) => number) | undefined {
    let day: ((year: number) => number) | undefined;
    let m: RegExpExecArray | null;
    const rest = tz.slice(i);
    if ((m = /^M(\d{1,2})\.(\d)\.(\d)/.exec(rest))) {
      const [month, week, weekday] = [Number(m[1]), Number(m[2]), Number(m[3])];
      if (month < 1 || month > 12 || week < 1 || week > 5 || weekday > 6) return undefined;
      day = (year) => {
        const first = Date.UTC(year, month - 1, 1);
        const firstWeekday = new Date(first).getUTCDay();
        let d = 1 + ((weekday - firstWeekday + 7) % 7) + 7 * (week - 1);
        const length = new Date(Date.UTC(year, month, 0)).getUTCDate();
        while (d > length) d -= 7;
        return Date.UTC(year, month - 1, d);
      };
    } else if ((m = /^J(\d{1,3})/.exec(rest))) {
      const n = Number(m[1]); // 1..365, February 29 never counted
      if (n < 1 || n > 365) return undefined;
      day = (year) => {
        const leap = new Date(Date.UTC(year, 1, 29)).getUTCMonth() === 1;
        return Date.UTC(year, 0, n + (leap && n >= 60 ? 1 : 0));
      };
    } else if ((m = /^(\d{1,3})/.exec(rest))) {
      const n = Number(m[1]); // 0..365, February 29 counted
      if (n > 365) return undefined;
      day = (year) => Date.UTC(year, 0, 1 + n);
    } else return undefined;
    i += m[0].length;
    let time = 7200;
    if (tz[i] === "/") {
      i++;
      const t = clock();
      if (t === undefined) return undefined;
      time = t;
    }
    return (year) => day(year) + time * 1000;
  }

  // The start is given in standard time, the end in daylight time (both local wall clock).
  const years = new Map<number, [number, number]>();
  return (instant) => {
    const year = new Date(instant + std).getUTCFullYear();
    let change = years.get(year);
    if (!change) years.set(year, change = [start(year) - std, end(year) - dst]);
    const [on, off] = change;
    const inDst = on < off ? instant >= on && instant < off : !(instant >= off && instant < on);
    return inDst ? dst : std;
  };
}
