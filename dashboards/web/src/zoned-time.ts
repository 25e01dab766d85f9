/**
 * Wall times in a named time zone (the clinic's, from the display settings), not the browser's:
 * a nurse working from home in another zone still reads and enters clinic times. Only Intl, no
 * time-zone library: the browser already carries the IANA database.
 */

const partsFormatters = new Map<string, Intl.DateTimeFormat>();

function partsFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = partsFormatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    partsFormatters.set(timeZone, f);
  }
  return f;
}

interface WallParts {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

function wallParts(ms: number, timeZone: string): WallParts {
  const get: Record<string, number> = {};
  for (const p of partsFormatter(timeZone).formatToParts(new Date(ms))) if (p.type !== 'literal') get[p.type] = Number(p.value);
  return { year: get.year ?? 1970, month: get.month ?? 1, day: get.day ?? 1, hour: (get.hour ?? 0) % 24, minute: get.minute ?? 0, second: get.second ?? 0 };
}

/** The zone's offset from UTC at an instant, in minutes (New York in winter: -300). */
export function offsetMinutes(ms: number, timeZone: string): number {
  const w = wallParts(ms, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60_000);
}

const pad = (n: number, width = 2): string => String(Math.abs(n)).padStart(width, '0');

/** "2026-12-07T16:20" in the zone: the value of an `<input type="datetime-local">`. */
export function wallTimeInput(ms: number, timeZone: string): string {
  const w = wallParts(ms, timeZone);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}`;
}

/** A calendar-day key in the zone, to tell "today" from other days. */
export function dayKey(ms: number, timeZone: string): string {
  return wallTimeInput(ms, timeZone).slice(0, 10);
}

/**
 * A wall time in the zone ("2026-12-07T16:20", as a datetime-local input gives it) as ISO 8601
 * with that zone's offset ("2026-12-07T16:20:00-05:00"), or null when it is not a valid time.
 * Around a DST change, like Temporal's "compatible": a repeated wall time is the earlier
 * instant; a skipped one is read with the offset from before the change (02:30 → 03:30 EDT).
 */
export function zonedIso(wall: string, timeZone: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(wall);
  if (m === null) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map((x) => Number(x ?? 0)) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return null;
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  if (Number.isNaN(asUtc) || new Date(asUtc).getUTCDate() !== day) return null;
  // The offsets in force a day either side; the ones under which this wall time exists.
  const before = offsetMinutes(asUtc - DAY_MS, timeZone);
  const after = offsetMinutes(asUtc + DAY_MS, timeZone);
  const valid = [...new Set([before, after])].filter((o) => offsetMinutes(asUtc - o * 60_000, timeZone) === o);
  const offset = valid.length === 0 ? before : Math.max(...valid);
  const sign = offset < 0 ? '-' : '+';
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}:${pad(second)}${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`;
}

const DAY_MS = 86_400_000;
