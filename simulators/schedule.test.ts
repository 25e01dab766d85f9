import { describe, expect, it } from 'vitest';
import { DAY_MS, localHour, MINUTE_MS } from './local-time.js';
import { patient } from './test-fixtures.js';
import { Rng } from './rng.js';
import { CGM_INTERVAL_MS, measurementTimes } from './schedule.js';

const FROM = Date.parse('2026-03-01T05:00:00Z'); // local midnight at -05:00
const TO = FROM + 7 * DAY_MS;

describe('measurement schedules', () => {
  it('BP: morning and evening sessions of two readings about a minute apart', () => {
    const times = measurementTimes('bp-cuff', patient(['general', 'hypertension']), Rng.seeded(1), FROM, TO);
    expect(times).toHaveLength(7 * 4);
    for (let i = 0; i < times.length; i += 2) {
      const gap = (times[i + 1]?.atMs ?? 0) - (times[i]?.atMs ?? 0);
      expect(gap).toBeGreaterThanOrEqual(55_000);
      expect(gap).toBeLessThanOrEqual(100_000);
    }
    const hours = times.map((m) => localHour(m.atMs, -300));
    expect(hours.filter((h) => h > 5 && h < 9.5)).toHaveLength(14);
    expect(hours.filter((h) => h > 17 && h < 22.5)).toHaveLength(14);
  });

  it('glucometer: fasting, before meals and bedtime for diabetes, with meal context', () => {
    const times = measurementTimes('glucometer', patient(['general', 'diabetes']), Rng.seeded(2), FROM, TO);
    expect(times).toHaveLength(7 * 4);
    expect(times.filter((m) => m.mealContext === 'fasting')).toHaveLength(7);
    expect(times.filter((m) => m.mealContext === 'bedtime')).toHaveLength(7);
    for (const m of times.filter((x) => x.mealContext === 'fasting')) expect(localHour(m.atMs, -300)).toBeLessThan(7.5);
  });

  it('CGM: a value every five minutes, 288 a day', () => {
    const times = measurementTimes('cgm', patient(['general', 'diabetes']), Rng.seeded(3), FROM, FROM + DAY_MS);
    expect(times).toHaveLength(288);
    for (let i = 1; i < times.length; i++) expect((times[i]?.atMs ?? 0) - (times[i - 1]?.atMs ?? 0)).toBe(CGM_INTERVAL_MS);
  });

  it('adherence: patients skip sessions', () => {
    const p = patient(['general', 'heart-failure']);
    const lax = { ...p, profile: { ...p.profile, adherence: 0.5 } };
    const n = measurementTimes('scale', lax, Rng.seeded(4), FROM, FROM + 200 * DAY_MS).length;
    expect(n).toBeGreaterThan(70);
    expect(n).toBeLessThan(130);
  });

  it('a window yields the same times however it is cut', () => {
    const p = patient(['general', 'copd']);
    const whole = measurementTimes('pulse-oximeter', p, Rng.seeded(5), FROM, TO);
    const mid = FROM + 3.3 * DAY_MS;
    const cut = [...measurementTimes('pulse-oximeter', p, Rng.seeded(5), FROM, mid), ...measurementTimes('pulse-oximeter', p, Rng.seeded(5), mid, TO)];
    expect(cut).toEqual(whole);
    expect(whole).toHaveLength(7 * 3); // COPD: three checks a day
  });

  it('spot checks add one measurement per window from the given start', () => {
    const p = patient(['general']);
    const start = FROM + 12 * 60 * MINUTE_MS + 7;
    const base = measurementTimes('thermometer', p, Rng.seeded(6), start, start + 60 * MINUTE_MS);
    const spots = measurementTimes('thermometer', p, Rng.seeded(6), start, start + 60 * MINUTE_MS, { spotCheckEveryMs: 5 * MINUTE_MS, spotFromMs: start });
    expect(spots.length - base.length).toBeGreaterThanOrEqual(11);
    expect(spots.length - base.length).toBeLessThanOrEqual(12);
  });
});
