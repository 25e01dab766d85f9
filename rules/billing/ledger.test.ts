import { describe, expect, it } from 'vitest';
import { addDays, localDate, startOfLocalDay } from './calendar.js';
import { devicePeriods, managementMonth, periodIndexOn, type BillingEpisode, type ReadingFact, type TimeFact } from './ledger.js';
import { billingSchedule, scheduleOn } from './schedule.js';
import { BILLING_SCHEDULES } from './schedules/index.js';
import { CY2026 } from './schedules/cy2026.js';

// Hand-computed patient-months. The patient lives in New York (EDT, UTC-4, from 2026-03-08);
// monitoring started on 2026-03-10, so period 0 is 03-10 … 04-08 and period 1 is 04-09 … 05-08.
const TZ = 'America/New_York';
const episode: BillingEpisode = { patientId: 'p-1', startDate: '2026-03-10', endDate: null, timeZone: TZ, billingPractitionerId: 'dr-1' };
const LATER = '2026-06-30';

let seq = 0;
/** A reading at a local wall time in New York (EDT). */
function reading(localIso: string, over: Partial<ReadingFact> = {}): ReadingFact {
  return { readingId: `r${++seq}`, deviceId: 'cuff-1', measuredAtMs: Date.parse(`${localIso}-04:00`), entryMethod: 'device', flags: [], simulatedDevice: false, ...over };
}
/** One reading at 08:00 on each of `n` consecutive days from `from`. */
function daily(from: string, n: number, over: Partial<ReadingFact> = {}): ReadingFact[] {
  return Array.from({ length: n }, (_, i) => reading(`${addDays(from, i)}T08:00:00`, over));
}
const codes = (l: { codes: readonly { code: string; units: number }[] }): string[] => l.codes.map((c) => (c.units > 1 ? `${c.code}x${c.units}` : c.code));

describe('device periods (30 days from monitoring start, patient local days)', () => {
  it('anchors 30-day periods at the monitoring start', () => {
    const lines = devicePeriods(episode, [], BILLING_SCHEDULES, '2026-05-01');
    expect(lines.map((l) => [l.start, l.end, l.status])).toEqual([
      ['2026-03-10', '2026-04-08', 'complete'],
      ['2026-04-09', '2026-05-08', 'in-progress'],
    ]);
    expect(periodIndexOn(episode, '2026-04-08', 30)).toBe(0);
    expect(periodIndexOn(episode, '2026-04-09', 30)).toBe(1);
    expect(periodIndexOn(episode, '2026-03-09', 30)).toBeUndefined();
  });

  it.each([
    [0, [], '0 days'],
    [1, [], '1 day: nothing'],
    [2, ['99453', '99445'], '2 days: set-up and 99445'],
    [15, ['99453', '99445'], '15 days: still 99445'],
    [16, ['99453', '99454'], '16 days: 99454, never with 99445'],
    [30, ['99453', '99454'], '30 days'],
  ])('%i days → %j (%s)', (n, expected) => {
    const [p0] = devicePeriods(episode, daily('2026-03-10', n), BILLING_SCHEDULES, LATER);
    expect(p0?.days).toHaveLength(n);
    expect(codes(p0!)).toEqual(expected);
  });

  it('counts distinct days, not readings: three readings a day for 15 days is 15 days', () => {
    const rs = [...daily('2026-03-10', 15), ...daily('2026-03-10', 15).map((r) => ({ ...r, measuredAtMs: r.measuredAtMs + 3_600_000 })), ...daily('2026-03-10', 15).map((r) => ({ ...r, measuredAtMs: r.measuredAtMs + 7_200_000 }))];
    const [p0] = devicePeriods(episode, rs, BILLING_SCHEDULES, LATER);
    expect(p0?.counted).toBe(45);
    expect(codes(p0!)).toEqual(['99453', '99445']);
  });

  it('bills 99453 once per episode: in the first period that reaches its threshold', () => {
    const rs = [...daily('2026-03-10', 1), ...daily('2026-04-09', 20), ...daily('2026-05-09', 20)];
    const [p0, p1, p2] = devicePeriods(episode, rs, BILLING_SCHEDULES, LATER);
    expect(codes(p0!)).toEqual([]);
    expect(codes(p1!)).toEqual(['99453', '99454']);
    expect(codes(p2!)).toEqual(['99454']);
  });

  it('a device swapped mid-period: both devices count toward one period, one 99454, no second 99453', () => {
    const rs = [...daily('2026-03-10', 8, { deviceId: 'cuff-1' }), ...daily('2026-03-18', 8, { deviceId: 'cuff-2' }), ...daily('2026-04-09', 16, { deviceId: 'cuff-2' })];
    const [p0, p1] = devicePeriods(episode, rs, BILLING_SCHEDULES, LATER);
    expect(p0?.days).toHaveLength(16);
    expect(p0?.devices).toEqual(['cuff-1', 'cuff-2']);
    expect(codes(p0!)).toEqual(['99453', '99454']);
    expect(p0?.notes.join(' ')).toContain('one device-supply code however many devices');
    expect(codes(p1!)).toEqual(['99454']);
  });

  it('manual readings only: nothing, and the line says why', () => {
    const [p0] = devicePeriods(episode, daily('2026-03-10', 20, { entryMethod: 'manual', deviceId: 'manual:p-1' }), BILLING_SCHEDULES, LATER);
    expect(p0?.days).toEqual([]);
    expect(codes(p0!)).toEqual([]);
    expect(p0?.excluded.manual).toBe(20);
    expect(p0?.notes.join(' ')).toContain('20 manual readings not counted');
  });

  it('manual readings never lift a period over a threshold: 15 device days + 1 manual day stays 99445', () => {
    const rs = [...daily('2026-03-10', 15), reading('2026-03-30T09:00:00', { entryMethod: 'manual', deviceId: 'manual:p-1' })];
    const [p0] = devicePeriods(episode, rs, BILLING_SCHEDULES, LATER);
    expect(p0?.days).toHaveLength(15);
    expect(codes(p0!)).toEqual(['99453', '99445']);
  });

  it('simulated devices and readings not known to be the patient\'s do not count', () => {
    const rs = [...daily('2026-03-10', 10, { simulatedDevice: true }), ...daily('2026-03-20', 10, { flags: ['user-unconfirmed'] }), reading('2026-03-31T08:00:00')];
    const [p0] = devicePeriods(episode, rs, BILLING_SCHEDULES, LATER);
    expect(p0?.days).toEqual(['2026-03-31']);
    expect(p0?.excluded).toEqual({ manual: 0, simulated: 10, flagged: 10 });
    expect(codes(p0!)).toEqual([]);
  });

  it('days are the patient\'s local days across midnight, not UTC days', () => {
    // 22:00 EDT on 03-11 is 02:00Z on 03-12; 01:00 EDT on 03-12 is 05:00Z on 03-12: one UTC day, two local days.
    const late = reading('2026-03-11T22:00:00');
    const early = reading('2026-03-12T01:00:00');
    expect(new Date(late.measuredAtMs).toISOString().slice(0, 10)).toBe(new Date(early.measuredAtMs).toISOString().slice(0, 10));
    const [p0] = devicePeriods(episode, [late, early], BILLING_SCHEDULES, LATER);
    expect(p0?.days).toEqual(['2026-03-11', '2026-03-12']);
    expect(codes(p0!)).toEqual(['99453', '99445']);
    // 23:59 and 00:01 around local midnight at the period's end: the second falls in period 1.
    const rs = [...daily('2026-03-10', 14), reading('2026-04-08T23:59:00'), reading('2026-04-09T00:01:00')];
    const [q0, q1] = devicePeriods(episode, rs, BILLING_SCHEDULES, LATER);
    expect(q0?.days).toHaveLength(15);
    expect(codes(q0!)).toEqual(['99453', '99445']);
    expect(q1?.days).toEqual(['2026-04-09']);
  });

  it('a reading before the monitoring start is not in any period', () => {
    const [p0] = devicePeriods(episode, [reading('2026-03-09T23:59:00'), ...daily('2026-03-10', 1)], BILLING_SCHEDULES, LATER);
    expect(p0?.days).toEqual(['2026-03-10']);
  });

  it('an in-progress period says how many days are still needed and how many are left', () => {
    const lines = devicePeriods(episode, daily('2026-03-10', 9), BILLING_SCHEDULES, '2026-03-25');
    expect(lines).toHaveLength(1);
    // 9 days so far; 16 − 9 = 7 needed; 03-25 … 04-08 is 15 days left, today included.
    expect(lines[0]?.status).toBe('in-progress');
    expect(lines[0]?.progress).toEqual({ daysToTopTier: 7, daysLeft: 15 });
  });

  it('stops at the episode\'s end', () => {
    const ended: BillingEpisode = { ...episode, endDate: '2026-03-20' };
    const lines = devicePeriods(ended, daily('2026-03-10', 30), BILLING_SCHEDULES, LATER);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.days).toHaveLength(11);
    expect(lines[0]?.status).toBe('complete');
  });
});

/** A time entry at local wall times (EDT) lasting `minutes` (+ seconds). */
let entrySeq = 0;
function entry(localStart: string, minutes: number, over: Partial<TimeFact> = {}, seconds = 0): TimeFact {
  const startedAtMs = Date.parse(`${localStart}-04:00`);
  return { entryId: `t${++entrySeq}`, staffId: 'nurse-1', staffRole: 'nurse', startedAtMs, endedAtMs: startedAtMs + minutes * 60_000 + seconds * 1000, interactive: false, ...over };
}
const call = (localStart: string, minutes: number, over: Partial<TimeFact> = {}): TimeFact => entry(localStart, minutes, { interactive: true, modality: 'audio', ...over });

describe('management time (calendar month, patient local time)', () => {
  const month = (entries: TimeFact[], m = '2026-04') => managementMonth(episode, m, entries, BILLING_SCHEDULES, LATER);

  it.each([
    [9, []],
    [10, ['99470']],
    [19, ['99470']],
    [20, ['99457']],
    [39, ['99457']],
    [40, ['99457', '99458']],
    [59, ['99457', '99458']],
    [60, ['99457', '99458x2']],
  ])('%i min with an interactive call → %j', (minutes, expected) => {
    // A 5-minute call and the rest as data review on another day.
    const line = month([call('2026-04-03T10:00:00', Math.min(5, minutes)), entry('2026-04-10T14:00:00', minutes - Math.min(5, minutes))]);
    expect(line.minutes).toBe(minutes);
    expect(codes(line)).toEqual(expected);
  });

  it('whole minutes: 9 min 59 s is 9 min', () => {
    const line = month([call('2026-04-03T10:00:00', 9, {}), entry('2026-04-04T10:00:00', 0, {}, 59)]);
    expect(line.minutes).toBe(9);
    expect(codes(line)).toEqual([]);
  });

  it('no interactive contact: 45 minutes of review bill nothing, and the line says why', () => {
    const line = month([entry('2026-04-03T10:00:00', 45)]);
    expect(line.minutes).toBe(45);
    expect(line.interactiveContacts).toBe(0);
    expect(codes(line)).toEqual([]);
    expect(line.notes.join(' ')).toContain('no real-time interactive audio/video contact');
  });

  it('secure messaging is not an interactive contact', () => {
    const line = month([entry('2026-04-03T10:00:00', 25, { interactive: true, modality: 'secure-message' })]);
    expect(line.interactiveContacts).toBe(0);
    expect(codes(line)).toEqual([]);
  });

  it('a video call (a video visit records its minutes so) is the interactive contact', () => {
    const line = month([entry('2026-04-03T10:00:00', 25, { interactive: true, modality: 'video' })]);
    expect(line.interactiveContacts).toBe(1);
    expect(codes(line)).toEqual(['99457']);
  });

  it('no minute counted twice across staff: overlapping entries count once', () => {
    // Nurse 10:00–10:12 and physician 10:05–10:15 on the same call: 15 minutes, not 22.
    const line = month([call('2026-04-03T10:00:00', 12), call('2026-04-03T10:05:00', 10, { staffId: 'dr-1', staffRole: 'physician' })]);
    expect(line.minutes).toBe(15);
    expect(codes(line)).toEqual(['99470']);
    expect(line.entries.map((e) => e.countedMs / 60_000)).toEqual([12, 3]);
    expect(line.entries[1]?.note).toContain('each minute once');
    // An entry inside another counts nothing.
    const inside = month([call('2026-04-03T10:00:00', 30), entry('2026-04-03T10:10:00', 5, { staffId: 'nurse-2' })]);
    expect(inside.minutes).toBe(30);
  });

  it('an entry across local midnight at the month\'s end is split between the months', () => {
    const across = call('2026-04-30T23:50:00', 20);
    expect(month([across], '2026-04').minutes).toBe(10);
    expect(month([across], '2026-05').minutes).toBe(10);
    expect(month([across], '2026-04').entries[0]?.note).toBe('partly in another month');
  });

  it('the month is the patient\'s: 21:00 EDT on the last day is still that month although it is the next month in UTC', () => {
    const e = call('2026-04-30T21:00:00', 20);
    expect(new Date(e.startedAtMs).toISOString().slice(0, 7)).toBe('2026-05');
    expect(month([e], '2026-04').minutes).toBe(20);
    expect(month([e], '2026-05').minutes).toBe(0);
  });

  it('running timers and an administrator\'s time are not counted', () => {
    const running = { ...call('2026-04-03T10:00:00', 0), endedAtMs: null };
    const admin = entry('2026-04-04T10:00:00', 30, { staffRole: 'admin', staffId: 'admin-1' });
    const line = month([running, admin, call('2026-04-05T10:00:00', 12)]);
    expect(line.minutes).toBe(12);
    expect(codes(line)).toEqual(['99470']);
    expect(line.notes.join(' ')).toContain('1 timer still running');
  });

  it('status: the current month is in progress, a past one complete', () => {
    expect(managementMonth(episode, '2026-04', [], BILLING_SCHEDULES, '2026-04-30').status).toBe('in-progress');
    expect(managementMonth(episode, '2026-04', [], BILLING_SCHEDULES, '2026-05-01').status).toBe('complete');
  });
});

describe('schedules are data', () => {
  it('CY2026 is in force from 2026-01-01, nothing before', () => {
    expect(scheduleOn(BILLING_SCHEDULES, '2026-01-01')?.id).toBe('CY2026');
    expect(scheduleOn(BILLING_SCHEDULES, '2025-12-31')).toBeUndefined();
  });

  it('a CY2027 with other thresholds changes the codes by data alone', () => {
    const cy2027 = billingSchedule.parse({
      ...CY2026,
      id: 'CY2027',
      effectiveFrom: '2027-01-01',
      deviceSupply: { ...CY2026.deviceSupply, tiers: [{ code: '99445', minDays: 2, maxDays: 11, source: 'test' }, { code: '99454', minDays: 12, maxDays: 30, source: 'test' }] },
    });
    const ep: BillingEpisode = { ...episode, startDate: '2027-01-05', timeZone: TZ };
    const rs = Array.from({ length: 12 }, (_, i) => ({ ...reading('2027-01-05T08:00:00'), measuredAtMs: Date.parse(`${addDays('2027-01-05', i)}T08:00:00-05:00`) }));
    const [p0] = devicePeriods(ep, rs, [CY2026, cy2027], '2027-12-31');
    expect(p0?.scheduleId).toBe('CY2027');
    expect(codes(p0!)).toEqual(['99453', '99454']);
    const [q0] = devicePeriods(ep, rs, [CY2026], '2027-12-31');
    expect(codes(q0!)).toEqual(['99453', '99445']);
  });

  it('refuses overlapping tiers', () => {
    const bad = { ...CY2026, deviceSupply: { ...CY2026.deviceSupply, tiers: [{ code: '99445', minDays: 2, maxDays: 16, source: 's' }, { code: '99454', minDays: 16, maxDays: 30, source: 's' }] } };
    expect(billingSchedule.safeParse(bad).success).toBe(false);
  });
});

describe('calendar', () => {
  it('local midnight across DST', () => {
    expect(new Date(startOfLocalDay('2026-03-08', TZ)).toISOString()).toBe('2026-03-08T05:00:00.000Z');
    expect(new Date(startOfLocalDay('2026-03-09', TZ)).toISOString()).toBe('2026-03-09T04:00:00.000Z');
    expect(new Date(startOfLocalDay('2026-11-01', TZ)).toISOString()).toBe('2026-11-01T04:00:00.000Z');
    expect(localDate(Date.parse('2026-03-09T03:59:59Z'), TZ)).toBe('2026-03-08');
  });
});
