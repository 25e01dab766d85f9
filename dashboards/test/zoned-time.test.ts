import { afterEach, describe, expect, it } from 'vitest';
import { dateAndTime, setTimeZone, when, zoneName } from '../web/src/format.js';
import { dayKey, offsetMinutes, wallTimeInput, zonedIso } from '../web/src/zoned-time.js';

describe('Clinic wall times (the observation form and every time shown)', () => {
  afterEach(() => setTimeZone('UTC'));

  it('knows a zone’s offset at an instant, across DST', () => {
    expect(offsetMinutes(Date.parse('2026-01-15T12:00:00Z'), 'America/New_York')).toBe(-300);
    expect(offsetMinutes(Date.parse('2026-07-15T12:00:00Z'), 'America/New_York')).toBe(-240);
    expect(offsetMinutes(Date.parse('2026-07-15T12:00:00Z'), 'Asia/Kolkata')).toBe(330);
    expect(offsetMinutes(Date.parse('2026-07-15T12:00:00Z'), 'UTC')).toBe(0);
  });

  it('turns a wall time in the clinic’s zone into ISO 8601 with that zone’s offset', () => {
    expect(zonedIso('2026-12-07T16:20', 'America/New_York')).toBe('2026-12-07T16:20:00-05:00');
    expect(zonedIso('2026-07-07T16:20', 'America/New_York')).toBe('2026-07-07T16:20:00-04:00');
    expect(zonedIso('2026-07-07T16:20', 'America/St_Johns')).toBe('2026-07-07T16:20:00-02:30');
    expect(zonedIso('2026-07-07T16:20', 'Asia/Kolkata')).toBe('2026-07-07T16:20:00+05:30');
    expect(zonedIso('2026-12-07T16:20', 'UTC')).toBe('2026-12-07T16:20:00+00:00');
  });

  it('reads DST changes like Temporal’s "compatible": a repeated hour is the earlier instant, a skipped one moves forward', () => {
    // New York falls back on 2026-11-01 at 02:00 EDT: 01:30 happens twice.
    expect(zonedIso('2026-11-01T01:30', 'America/New_York')).toBe('2026-11-01T01:30:00-04:00');
    // It springs forward on 2026-03-08 at 02:00 EST: 02:30 never happens; read with the offset before the change.
    const skipped = zonedIso('2026-03-08T02:30', 'America/New_York');
    expect(skipped).toBe('2026-03-08T02:30:00-05:00');
    expect(new Date(skipped ?? '').toISOString()).toBe('2026-03-08T07:30:00.000Z');
    expect(zonedIso('2026-03-08T03:30', 'America/New_York')).toBe('2026-03-08T03:30:00-04:00');
    // Berlin springs forward on 2026-03-29 at 02:00 CET.
    expect(zonedIso('2026-03-29T02:30', 'Europe/Berlin')).toBe('2026-03-29T02:30:00+01:00');
  });

  it('refuses what is not a wall time', () => {
    expect(zonedIso('', 'UTC')).toBeNull();
    expect(zonedIso('2026-02-30T10:00', 'UTC')).toBeNull();
    expect(zonedIso('2026-12-07T24:10', 'UTC')).toBeNull();
    expect(zonedIso('7 Dec 2026 10:00', 'UTC')).toBeNull();
  });

  it('gives the datetime-local value and the calendar day in the zone, not the machine’s', () => {
    const ms = Date.parse('2026-12-08T03:10:00Z');
    expect(wallTimeInput(ms, 'America/Chicago')).toBe('2026-12-07T21:10');
    expect(dayKey(ms, 'America/Chicago')).toBe('2026-12-07');
    expect(dayKey(ms, 'UTC')).toBe('2026-12-08');
    expect(zonedIso(wallTimeInput(ms, 'America/Chicago'), 'America/Chicago')).toBe('2026-12-07T21:10:00-06:00');
  });

  it('shows times in the chosen zone with its name, with the date when not today there', () => {
    setTimeZone('America/New_York');
    const now = Date.parse('2026-12-07T23:00:00Z'); // 18:00 EST
    expect(when('2026-12-07T21:20:00Z', now)).toBe('16:20 EST');
    // 02:30 UTC on the 8th is still the 7th in New York.
    expect(when('2026-12-08T02:30:00Z', now)).toBe('21:30 EST');
    expect(when('2026-12-06T21:20:00Z', now)).toBe('Dec 6, 16:20 EST');
    expect(dateAndTime('2026-07-04T16:00:00Z')).toBe('Jul 4, 12:00 EDT');
    expect(zoneName(now)).toBe('EST');
    setTimeZone('UTC');
    expect(when('2026-12-08T02:30:00Z', now)).toBe('Dec 8, 02:30 UTC');
  });
});
