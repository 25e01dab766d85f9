import { describe, expect, it } from 'vitest';
import { missedAt } from './episodes.js';
import { DAY_MS, HOUR_MS, MINUTE_MS } from './local-time.js';
import { MEASURING_KINDS } from './model.js';
import { Physiology } from './physiology.js';
import { patient } from './test-fixtures.js';
import { Rng } from './rng.js';
import { measurementTimes } from './schedule.js';

const NOW = Date.parse('2026-03-10T12:00:00Z'); // 07:00 in the test patients' zone (-05:00)
const body = (p: ReturnType<typeof patient>): Physiology => new Physiology(p, Rng.seeded('ep').fork(p.id));

describe('scripted episodes produce their trajectories', () => {
  it('heart-failure fluid gain: weight climbs over days, fastest at the end, enough for the 2 lb/day and 5 lb/week rules', () => {
    const start = NOW - 4 * DAY_MS;
    const b = body(patient(['general', 'heart-failure'], [{ type: 'hf-fluid-gain', startMs: start, days: 4, totalKg: 3.4 }]));
    const calm = body(patient(['general', 'heart-failure']));
    // Morning weights (same clock time each day), relative to the same patient without the episode.
    const gain = (d: number): number => b.at(NOW - d * DAY_MS).weightKg - calm.at(NOW - d * DAY_MS).weightKg;
    const daily = [4, 3, 2, 1, 0].map(gain);
    for (let i = 1; i < daily.length; i++) expect(daily[i] as number).toBeGreaterThan(daily[i - 1] as number);
    expect(gain(0) - gain(1)).toBeGreaterThan(0.907); // > 2 lb in the last day
    expect(gain(0) - gain(7)).toBeGreaterThanOrEqual(2.27); // ≥ 5 lb in the week
    expect(gain(0)).toBeCloseTo(3.4, 1);
    // Congestion: saturation a little down, heart rate a little up.
    expect(b.at(NOW).spo2).toBeLessThan(calm.at(NOW).spo2 - 1.5);
    expect(b.at(NOW).heartRate).toBeGreaterThan(calm.at(NOW).heartRate + 6);
  });

  it('severe hypertension: systolic well above 180 during the episode, back to baseline after', () => {
    const e = { type: 'severe-hypertension' as const, startMs: NOW - 3 * HOUR_MS, endMs: NOW + 3 * HOUR_MS, systolicRise: 60, diastolicRise: 25 };
    const b = body(patient(['general', 'hypertension'], [e]));
    const calm = body(patient(['general', 'hypertension']));
    expect(b.at(NOW).systolic).toBeGreaterThanOrEqual(185);
    expect(b.at(NOW).diastolic).toBeGreaterThan(calm.at(NOW).diastolic + 20);
    // Onset takes about 45 minutes; recovery about two hours after the end.
    expect(b.at(e.startMs + 10 * MINUTE_MS).systolic - calm.at(e.startMs + 10 * MINUTE_MS).systolic).toBeLessThan(20);
    expect(b.at(e.endMs + 3 * HOUR_MS).systolic).toBeCloseTo(calm.at(e.endMs + 3 * HOUR_MS).systolic, 5);
  });

  it('hypoglycemia: glucose falls to the nadir, then recovers', () => {
    const start = NOW - 20 * MINUTE_MS;
    const b = body(patient(['general', 'diabetes'], [{ type: 'hypoglycemia', startMs: start, durationMin: 90, nadirMgDl: 50 }]));
    const calm = body(patient(['general', 'diabetes']));
    expect(b.at(start + 30 * MINUTE_MS).glucose).toBeCloseTo(50, 0);
    expect(b.at(start + 30 * MINUTE_MS).glucose).toBeLessThan(54); // level 2 hypoglycemia
    expect(b.at(start + 60 * MINUTE_MS).glucose).toBeGreaterThan(b.at(start + 30 * MINUTE_MS).glucose);
    expect(b.at(start + 95 * MINUTE_MS).glucose).toBeCloseTo(calm.at(start + 95 * MINUTE_MS).glucose, 5);
    expect(b.at(start - MINUTE_MS).glucose).toBeCloseTo(calm.at(start - MINUTE_MS).glucose, 5);
  });

  it('desaturation and fever reach their depth and height', () => {
    const b = body(
      patient(
        ['general', 'copd'],
        [
          { type: 'desaturation', startMs: NOW - 2 * HOUR_MS, endMs: NOW + HOUR_MS, depth: 7 },
          { type: 'fever', startMs: NOW - 6 * HOUR_MS, endMs: NOW + HOUR_MS, peakC: 39.2 },
        ],
        { spo2: 92 },
      ),
    );
    expect(b.at(NOW).spo2).toBeLessThan(86);
    expect(b.at(NOW).temperatureC).toBeGreaterThan(38.5);
    expect(b.at(NOW + 6 * HOUR_MS).spo2).toBeGreaterThan(90);
  });

  it('missed readings: the patient takes no measurement of any kind in the window', () => {
    const e = { type: 'missed-readings' as const, startMs: NOW - 3 * DAY_MS, endMs: NOW, kinds: 'all' as const };
    const p = patient(['general', 'diabetes', 'heart-failure', 'copd'], [e]);
    for (const kind of MEASURING_KINDS) {
      const times = measurementTimes(kind, p, Rng.seeded('m').fork(kind), NOW - 5 * DAY_MS, NOW + DAY_MS);
      expect(times.some((m) => m.atMs >= e.startMs && m.atMs < e.endMs)).toBe(false);
      expect(times.some((m) => m.atMs < e.startMs)).toBe(true);
      expect(times.some((m) => m.atMs >= e.endMs)).toBe(true);
      expect(missedAt([e], kind, NOW - DAY_MS)).toBe(true);
    }
  });
});
