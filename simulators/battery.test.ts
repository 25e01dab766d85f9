import { describe, expect, it } from 'vitest';
import { batteryModel, batteryPercentAt } from './battery.js';
import { Rng } from './rng.js';

const DAY_MS = 86_400_000;

describe('simulated device battery', () => {
  it('drains by whole percents between 1 and 100, then starts again from full', () => {
    const model = { lifeMs: 100 * DAY_MS, fullAtMs: 0 };
    expect(batteryPercentAt(model, 0)).toBe(100);
    expect(batteryPercentAt(model, 25 * DAY_MS)).toBe(75);
    expect(batteryPercentAt(model, 99.9 * DAY_MS)).toBe(1);
    expect(batteryPercentAt(model, 100 * DAY_MS)).toBe(100);
    expect(batteryPercentAt(model, -25 * DAY_MS)).toBe(25);
  });

  it('never rises between two readings of one life, and is the same for the same seed', () => {
    const a = batteryModel(Rng.seeded(7).fork('dev-1/battery'));
    expect(batteryModel(Rng.seeded(7).fork('dev-1/battery'))).toEqual(a);
    expect(a.lifeMs).toBeGreaterThanOrEqual(45 * DAY_MS);
    expect(a.lifeMs).toBeLessThan(150 * DAY_MS);
    const start = a.fullAtMs + a.lifeMs; // a full battery
    let last = 101;
    for (let t = start; t < start + a.lifeMs - DAY_MS; t += DAY_MS) {
      const p = batteryPercentAt(a, t);
      expect(p).toBeLessThanOrEqual(last);
      expect(p).toBeGreaterThanOrEqual(1);
      last = p;
    }
  });
});
