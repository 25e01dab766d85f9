import { describe, expect, it } from 'vitest';
import { buildFleet } from './fleet.js';
import { DAY_MS, HOUR_MS, localMidnightMs, MINUTE_MS } from './local-time.js';
import type { Program } from './model.js';
import { Physiology } from './physiology.js';
import { Rng } from './rng.js';
import { patient } from './test-fixtures.js';

const ANCHOR = Date.parse('2026-03-10T17:00:00Z');
const OFFSET = -300; // the fixture patients' zone, US Eastern (standard time)


/** Local clock time `hour` on local day `dayOffset` days from the anchor's day. */
const at = (hour: number, dayOffset = 0): number => localMidnightMs(Math.floor((ANCHOR + OFFSET * MINUTE_MS) / DAY_MS) + dayOffset, OFFSET) + hour * HOUR_MS;

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('physiology: daily rhythms', () => {
  const body = new Physiology(patient(['general', 'hypertension']), Rng.seeded(1).fork('p'));
  const days = Array.from({ length: 14 }, (_, i) => i - 14);

  it('blood pressure dips at night and surges in the morning', () => {
    const night = mean(days.map((d) => body.at(at(3, d)).systolic));
    const morning = mean(days.map((d) => body.at(at(9, d)).systolic));
    expect(morning - night).toBeGreaterThan(10);
    expect(mean(days.map((d) => body.at(at(9, d)).diastolic)) - mean(days.map((d) => body.at(at(3, d)).diastolic))).toBeGreaterThan(5);
  });

  it('temperature peaks in the late afternoon and is lowest before dawn', () => {
    expect(body.at(at(17.5)).temperatureC - body.at(at(5.5)).temperatureC).toBeGreaterThan(0.5);
  });

  it('weight is lowest in the morning and a few hundred grams up by the evening', () => {
    const gain = mean(days.map((d) => body.at(at(20, d)).weightKg - body.at(at(7, d)).weightKg));
    expect(gain).toBeGreaterThan(0.3);
    expect(gain).toBeLessThan(1);
  });

  it('varies from day to day, not only by the clock', () => {
    const mornings = days.map((d) => body.at(at(7, d)).systolic);
    expect(Math.max(...mornings) - Math.min(...mornings)).toBeGreaterThan(5);
  });
});

describe('physiology: meal-related glucose', () => {
  it('rises after meals and returns toward fasting; more and longer in diabetes', () => {
    for (const programs of [['general'], ['general', 'diabetes']] as Program[][]) {
      const body = new Physiology(patient(programs), Rng.seeded(2).fork('p'));
      const fasting = mean(Array.from({ length: 10 }, (_, d) => body.at(at(4.5, -d)).glucose));
      const twoHoursAfterBreakfast = mean(Array.from({ length: 10 }, (_, d) => body.at(at(8.75, -d)).glucose));
      const lateNight = mean(Array.from({ length: 10 }, (_, d) => body.at(at(2.5, -d)).glucose));
      expect(twoHoursAfterBreakfast).toBeGreaterThan(fasting + 10);
      expect(Math.abs(lateNight - fasting)).toBeLessThan(programs.includes('diabetes') ? 25 : 10);
    }
    const plain = new Physiology(patient(['general']), Rng.seeded(3).fork('p'));
    const diabetic = new Physiology(patient(['general', 'diabetes']), Rng.seeded(3).fork('p'));
    const excursion = (b: Physiology): number => b.at(at(8.5)).glucose - b.at(at(4.5)).glucose;
    expect(excursion(diabetic)).toBeGreaterThan(excursion(plain));
  });
});

describe('physiology: plausible ranges across a population', () => {
  it('keeps two weeks of 200 generated patients within physiological bounds', () => {
    const fleet = buildFleet({ seed: 'ranges', patients: 200, anchorMs: ANCHOR, episodes: 'mixed' });
    const root = Rng.seeded(fleet.seed);
    const lo = { systolic: 1e9, diastolic: 1e9, pulsePressure: 1e9, heartRate: 1e9, spo2: 1e9, weightKg: 1e9, temperatureC: 1e9, glucose: 1e9 };
    const hi = { systolic: -1e9, diastolic: -1e9, pulsePressure: -1e9, heartRate: -1e9, spo2: -1e9, weightKg: -1e9, temperatureC: -1e9, glucose: -1e9 };
    for (const p of fleet.patients) {
      const body = new Physiology(p, root.fork(p.id));
      for (let t = ANCHOR - 14 * DAY_MS; t < ANCHOR + DAY_MS; t += 97 * MINUTE_MS) {
        const v = body.at(t);
        const sample = { ...v, pulsePressure: v.systolic - v.diastolic };
        for (const k of Object.keys(lo) as (keyof typeof lo)[]) {
          lo[k] = Math.min(lo[k], sample[k]);
          hi[k] = Math.max(hi[k], sample[k]);
        }
      }
    }
    expect(lo.systolic).toBeGreaterThan(85);
    expect(hi.systolic).toBeLessThan(240);
    expect(hi.systolic).toBeGreaterThan(180); // severe-hypertension episodes happen
    expect(lo.diastolic).toBeGreaterThan(45);
    expect(lo.pulsePressure).toBeGreaterThan(20);
    expect(lo.heartRate).toBeGreaterThan(40);
    expect(hi.heartRate).toBeLessThan(150);
    expect(lo.spo2).toBeGreaterThan(80);
    expect(hi.spo2).toBeLessThanOrEqual(100);
    expect(lo.weightKg).toBeGreaterThan(30);
    expect(hi.weightKg).toBeLessThan(200);
    expect(lo.temperatureC).toBeGreaterThan(35.5);
    expect(hi.temperatureC).toBeGreaterThan(38.5); // fevers happen
    expect(hi.temperatureC).toBeLessThan(40.5);
    expect(lo.glucose).toBeGreaterThan(35);
    expect(lo.glucose).toBeLessThan(70); // hypoglycemias happen
    expect(hi.glucose).toBeLessThan(450);
  });

});
