import { describe, expect, it } from 'vitest';
import { freeSlots, reminderTimes, wallToUtc, withinWorkingHours, workingWindows } from './calendar.js';

const iso = (ms: number): string => new Date(ms).toISOString();
const weekdays9to5 = [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: '09:00', end: '17:00' }));

describe('calendar math', () => {
  it('reads wall times in the zone across DST changes (repeated: earlier instant; skipped: offset from before)', () => {
    expect(iso(wallToUtc('2026-01-15', '09:00', 'America/New_York'))).toBe('2026-01-15T14:00:00.000Z');
    expect(iso(wallToUtc('2026-07-15', '09:00', 'America/New_York'))).toBe('2026-07-15T13:00:00.000Z');
    expect(iso(wallToUtc('2026-03-08', '02:30', 'America/New_York'))).toBe('2026-03-08T07:30:00.000Z');
    expect(iso(wallToUtc('2026-11-01', '01:30', 'America/New_York'))).toBe('2026-11-01T05:30:00.000Z');
    expect(iso(wallToUtc('2026-06-01', '09:00', 'Asia/Kolkata'))).toBe('2026-06-01T03:30:00.000Z');
  });

  it('builds working windows from weekly hours in the staff time zone, with days off, blocked hours and extra hours', () => {
    const a = {
      timeZone: 'America/Chicago',
      weekly: weekdays9to5,
      exceptions: [
        { date: '2026-12-08', available: false },
        { date: '2026-12-09', start: '12:00', end: '13:00', available: false },
        { date: '2026-12-12', start: '10:00', end: '12:00', available: true },
      ],
    };
    // Mon 7 Dec … Sun 13 Dec 2026, Chicago (UTC-6).
    const w = workingWindows(a, Date.parse('2026-12-07T00:00:00Z'), Date.parse('2026-12-14T12:00:00Z')).map((i) => [iso(i.startMs), iso(i.endMs)]);
    expect(w).toEqual([
      ['2026-12-07T15:00:00.000Z', '2026-12-07T23:00:00.000Z'],
      ['2026-12-09T15:00:00.000Z', '2026-12-09T18:00:00.000Z'],
      ['2026-12-09T19:00:00.000Z', '2026-12-09T23:00:00.000Z'],
      ['2026-12-10T15:00:00.000Z', '2026-12-10T23:00:00.000Z'],
      ['2026-12-11T15:00:00.000Z', '2026-12-11T23:00:00.000Z'],
      ['2026-12-12T16:00:00.000Z', '2026-12-12T18:00:00.000Z'],
    ]);
    expect(withinWorkingHours(a, { startMs: Date.parse('2026-12-07T22:40:00Z'), endMs: Date.parse('2026-12-07T23:00:00Z') })).toBe(true);
    expect(withinWorkingHours(a, { startMs: Date.parse('2026-12-07T22:50:00Z'), endMs: Date.parse('2026-12-07T23:10:00Z') })).toBe(false);
    expect(withinWorkingHours(a, { startMs: Date.parse('2026-12-08T16:00:00Z'), endMs: Date.parse('2026-12-08T16:20:00Z') })).toBe(false);
  });

  it('keeps working hours on local time across a DST change', () => {
    const a = { timeZone: 'America/New_York', weekly: [{ weekday: 5, start: '09:00', end: '10:00' }, { weekday: 1, start: '09:00', end: '10:00' }], exceptions: [] };
    const w = workingWindows(a, Date.parse('2026-10-30T00:00:00Z'), Date.parse('2026-11-03T00:00:00Z')).map((i) => iso(i.startMs));
    expect(w).toEqual(['2026-10-30T13:00:00.000Z', '2026-11-02T14:00:00.000Z']);
  });

  it('offers free slots on a grid outside busy times, and reminders still ahead', () => {
    const windows = [{ startMs: 0, endMs: 60 * 60_000 }];
    const busy = [{ startMs: 20 * 60_000, endMs: 40 * 60_000 }];
    expect(freeSlots(windows, busy, 20 * 60_000, 10 * 60_000, 0).map((s) => s.startMs / 60_000)).toEqual([0, 40]);
    expect(freeSlots(windows, [], 30 * 60_000, 15 * 60_000, 10 * 60_000).map((s) => s.startMs / 60_000)).toEqual([15, 30]);
    const start = Date.parse('2026-12-10T15:00:00Z');
    expect(reminderTimes(start, start - 48 * 3_600_000).map((r) => [r.kind, iso(r.dueAtMs)])).toEqual([
      ['24h', '2026-12-09T15:00:00.000Z'],
      ['15m', '2026-12-10T14:45:00.000Z'],
    ]);
    expect(reminderTimes(start, start - 3_600_000).map((r) => r.kind)).toEqual(['15m']);
    expect(reminderTimes(start, start - 60_000)).toEqual([]);
  });
});
