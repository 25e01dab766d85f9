/**
 * Wall-clock helpers in a patient's own time zone, given as a fixed UTC offset in minutes
 * (daylight saving is left out: a simulated week never crosses a change that matters here).
 * Daily rhythms and measurement habits follow local time; the wire format carries the offset.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** Hours since local midnight, fractional (0 ≤ h < 24). */
export function localHour(atMs: number, utcOffsetMin: number): number {
  const localMs = atMs + utcOffsetMin * MINUTE_MS;
  return (((localMs % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS;
}

/** Local calendar day number (days since 1970-01-01 in local time). */
export function localDay(atMs: number, utcOffsetMin: number): number {
  return Math.floor((atMs + utcOffsetMin * MINUTE_MS) / DAY_MS);
}

/** The UTC instant of local midnight starting local day `day`. */
export function localMidnightMs(day: number, utcOffsetMin: number): number {
  return day * DAY_MS - utcOffsetMin * MINUTE_MS;
}

/** ISO 8601 with the local offset, as home devices report it: 2026-12-01T07:02:13-05:00. */
export function isoWithOffset(atMs: number, utcOffsetMin: number, withMillis = false): string {
  const local = new Date(atMs + utcOffsetMin * MINUTE_MS).toISOString().slice(0, withMillis ? 23 : 19);
  if (utcOffsetMin === 0) return `${local}Z`;
  const sign = utcOffsetMin < 0 ? '-' : '+';
  const abs = Math.abs(utcOffsetMin);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${local}${sign}${hh}:${mm}`;
}

/**
 * A smooth 24-hour rhythm: +amplitude at `peakHour`, −amplitude twelve hours later.
 * Blood pressure, heart rate and temperature all follow one (with different peaks).
 */
export function circadian(hour: number, peakHour: number, amplitude: number): number {
  return amplitude * Math.cos((2 * Math.PI * (hour - peakHour)) / 24);
}
