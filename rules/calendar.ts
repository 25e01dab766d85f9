import type { AvailabilityException, StaffAvailability, WeeklyHours } from '../core/model/scheduling.js';

/**
 * Calendar math for scheduling, pure: working hours in a staff member's own time zone (with
 * daylight-saving changes), exceptions, overlap, free slots, reminder times. Only Intl: the
 * runtime carries the IANA time-zone database.
 */

export interface Interval {
  readonly startMs: number;
  readonly endMs: number;
}

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', weekday: 'short' });
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
  /** ISO weekday 1 (Monday) … 7 (Sunday). */
  readonly weekday: number;
}

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

export function wallOf(ms: number, timeZone: string): Wall {
  const get: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) if (p.type !== 'literal') get[p.type] = p.value;
  return {
    year: Number(get.year),
    month: Number(get.month),
    day: Number(get.day),
    hour: Number(get.hour) % 24,
    minute: Number(get.minute),
    second: Number(get.second),
    weekday: WEEKDAYS[get.weekday ?? 'Mon'] ?? 1,
  };
}

/** The zone's offset from UTC at an instant, in minutes (New York in winter: -300). */
export function offsetMinutes(ms: number, timeZone: string): number {
  const w = wallOf(ms, timeZone);
  return Math.round((Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(ms / 1000) * 1000) / 60_000);
}

/** `YYYY-MM-DD` of the instant in the zone. */
export function dateIn(ms: number, timeZone: string): string {
  const w = wallOf(ms, timeZone);
  return `${String(w.year).padStart(4, '0')}-${String(w.month).padStart(2, '0')}-${String(w.day).padStart(2, '0')}`;
}

/** `HH:MM` of the instant in the zone. */
export function timeIn(ms: number, timeZone: string): string {
  const w = wallOf(ms, timeZone);
  return `${String(w.hour).padStart(2, '0')}:${String(w.minute).padStart(2, '0')}`;
}

/**
 * The instant of a wall time (`date` YYYY-MM-DD, `time` HH:MM) in the zone. Around a DST change
 * like Temporal's "compatible": a repeated wall time is the earlier instant; a skipped one is
 * read with the offset from before the change (02:30 → 03:30 EDT).
 */
export function wallToUtc(date: string, time: string, timeZone: string): number {
  const [y, mo, d] = date.split('-').map(Number) as [number, number, number];
  const [h, mi] = time.split(':').map(Number) as [number, number];
  const asUtc = Date.UTC(y, mo - 1, d, h, mi);
  const before = offsetMinutes(asUtc - DAY_MS, timeZone);
  const after = offsetMinutes(asUtc + DAY_MS, timeZone);
  const valid = [...new Set([before, after])].filter((o) => offsetMinutes(asUtc - o * 60_000, timeZone) === o);
  const offset = valid.length === 0 ? before : Math.max(...valid);
  return asUtc - offset * 60_000;
}

/** The next calendar date (YYYY-MM-DD). */
export function nextDate(date: string, days = 1): string {
  const t = Date.parse(`${date}T00:00:00Z`) + days * DAY_MS;
  return new Date(t).toISOString().slice(0, 10);
}

function isoWeekday(date: string): number {
  const d = new Date(`${date}T00:00:00Z`).getUTCDay();
  return d === 0 ? 7 : d;
}

export const overlaps = (a: Interval, b: Interval): boolean => a.startMs < b.endMs && b.startMs < a.endMs;

/** Sorted, merged (touching intervals join). */
export function merge(intervals: readonly Interval[]): Interval[] {
  const sorted = [...intervals].filter((i) => i.endMs > i.startMs).sort((a, b) => a.startMs - b.startMs);
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out.at(-1);
    if (last !== undefined && i.startMs <= last.endMs) out[out.length - 1] = { startMs: last.startMs, endMs: Math.max(last.endMs, i.endMs) };
    else out.push(i);
  }
  return out;
}

/** `from` minus every interval of `cut`. */
export function subtract(from: readonly Interval[], cut: readonly Interval[]): Interval[] {
  let out = merge(from);
  for (const c of merge(cut)) {
    const next: Interval[] = [];
    for (const i of out) {
      if (!overlaps(i, c)) {
        next.push(i);
        continue;
      }
      if (i.startMs < c.startMs) next.push({ startMs: i.startMs, endMs: c.startMs });
      if (c.endMs < i.endMs) next.push({ startMs: c.endMs, endMs: i.endMs });
    }
    out = next;
  }
  return out;
}

/** One day's working intervals: weekly hours of its weekday, then that date's exceptions. */
function dayWindows(date: string, weekly: readonly WeeklyHours[], exceptions: readonly AvailabilityException[], timeZone: string): Interval[] {
  const weekday = isoWeekday(date);
  const span = (start: string, end: string): Interval => ({ startMs: wallToUtc(date, start, timeZone), endMs: wallToUtc(date, end, timeZone) });
  let windows = weekly.filter((w) => w.weekday === weekday).map((w) => span(w.start, w.end));
  const today = exceptions.filter((e) => e.date === date);
  windows = merge([...windows, ...today.filter((e) => e.available && e.start !== undefined && e.end !== undefined).map((e) => span(e.start as string, e.end as string))]);
  for (const off of today.filter((e) => !e.available)) {
    if (off.start === undefined || off.end === undefined) return [];
    windows = subtract(windows, [span(off.start, off.end)]);
  }
  return windows;
}

/** The staff member's working intervals that meet [fromMs, toMs), clipped to it, merged. */
export function workingWindows(availability: Pick<StaffAvailability, 'timeZone' | 'weekly' | 'exceptions'>, fromMs: number, toMs: number): Interval[] {
  const out: Interval[] = [];
  const last = dateIn(toMs, availability.timeZone);
  for (let date = dateIn(fromMs - DAY_MS, availability.timeZone); date <= last; date = nextDate(date)) {
    for (const w of dayWindows(date, availability.weekly, availability.exceptions, availability.timeZone)) {
      const startMs = Math.max(w.startMs, fromMs);
      const endMs = Math.min(w.endMs, toMs);
      if (endMs > startMs) out.push({ startMs, endMs });
    }
  }
  return merge(out);
}

/** Whether [startMs, endMs) lies wholly inside the working hours. */
export function withinWorkingHours(availability: Pick<StaffAvailability, 'timeZone' | 'weekly' | 'exceptions'>, slot: Interval): boolean {
  return workingWindows(availability, slot.startMs, slot.endMs).some((w) => w.startMs <= slot.startMs && w.endMs >= slot.endMs);
}

/**
 * Start times of free slots of `durationMs` inside the working windows, outside `busy`, on a grid
 * of `stepMs` from each window's start, not before `notBeforeMs`.
 */
export function freeSlots(windows: readonly Interval[], busy: readonly Interval[], durationMs: number, stepMs: number, notBeforeMs: number): Interval[] {
  const free = subtract(windows, busy);
  const out: Interval[] = [];
  for (const f of free) {
    for (let s = f.startMs; s + durationMs <= f.endMs; s += stepMs) {
      if (s >= notBeforeMs) out.push({ startMs: s, endMs: s + durationMs });
    }
  }
  return out;
}

/** SMS reminders before a visit: 24 hours and 15 minutes before, those still ahead when booked. */
export const REMINDER_LEADS = [
  { kind: '24h', leadMs: 24 * 3_600_000 },
  { kind: '15m', leadMs: 15 * 60_000 },
] as const;
export type ReminderKind = (typeof REMINDER_LEADS)[number]['kind'];

export function reminderTimes(startMs: number, nowMs: number): { kind: ReminderKind; dueAtMs: number }[] {
  return REMINDER_LEADS.map((r) => ({ kind: r.kind, dueAtMs: startMs - r.leadMs })).filter((r) => r.dueAtMs > nowMs);
}
