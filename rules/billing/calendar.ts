/**
 * Calendar math in a named IANA time zone, for billing: local calendar days (device days) and
 * local calendar months (management time). Only Intl, no time-zone library. Dates are ISO
 * `YYYY-MM-DD` strings; arithmetic on them is done on UTC day numbers, so it never meets DST.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
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
    formatters.set(timeZone, f);
  }
  return f;
}

interface Wall {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

function wall(ms: number, timeZone: string): Wall {
  const get: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) if (p.type !== 'literal') get[p.type] = Number(p.value);
  return { year: get.year ?? 1970, month: get.month ?? 1, day: get.day ?? 1, hour: (get.hour ?? 0) % 24, minute: get.minute ?? 0, second: get.second ?? 0 };
}

/** Whether the runtime knows this IANA zone. */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** The local calendar date of an instant in the zone, `YYYY-MM-DD`. */
export function localDate(ms: number, timeZone: string): string {
  const w = wall(ms, timeZone);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
}

/** The local calendar month of an instant in the zone, `YYYY-MM`. */
export function localMonth(ms: number, timeZone: string): string {
  return localDate(ms, timeZone).slice(0, 7);
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MONTH = /^(\d{4})-(\d{2})$/;

export function isDate(s: string): boolean {
  const m = DATE.exec(s);
  if (m === null) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === s;
}

export function isMonth(s: string): boolean {
  const m = MONTH.exec(s);
  return m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 12;
}

/** Days since 1970-01-01 of a calendar date (no zone: a date is a date). */
export function dayNumber(date: string): number {
  const m = DATE.exec(date);
  if (m === null) throw new Error(`not a date: ${date}`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / 86_400_000;
}

export function dateOfDayNumber(n: number): string {
  return new Date(n * 86_400_000).toISOString().slice(0, 10);
}

export function addDays(date: string, days: number): string {
  return dateOfDayNumber(dayNumber(date) + days);
}

/** First and last date of a month, `YYYY-MM`. */
export function monthDates(month: string): { first: string; last: string } {
  const m = MONTH.exec(month);
  if (m === null) throw new Error(`not a month: ${month}`);
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const last = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return { first: `${month}-01`, last: `${month}-${pad(last)}` };
}

export function nextMonth(month: string): string {
  const { last } = monthDates(month);
  return addDays(last, 1).slice(0, 7);
}

/** The zone's offset from UTC at an instant, in minutes (New York in winter: -300). */
export function offsetMinutes(ms: number, timeZone: string): number {
  const w = wall(ms, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60_000);
}

/**
 * The instant local midnight starts `date` in the zone. Where midnight does not exist (a DST jump
 * at 00:00), the first instant of the day.
 */
export function startOfLocalDay(date: string, timeZone: string): number {
  const utcMidnight = dayNumber(date) * 86_400_000;
  // Two passes settle the offset across a DST change on that day.
  let guess = utcMidnight - offsetMinutes(utcMidnight, timeZone) * 60_000;
  guess = utcMidnight - offsetMinutes(guess, timeZone) * 60_000;
  if (localDate(guess, timeZone) !== date) {
    // Midnight skipped (e.g. America/Santiago): step forward to the first instant of the date.
    while (localDate(guess, timeZone) < date) guess += 15 * 60_000;
  }
  return guess;
}
