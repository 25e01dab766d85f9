import { describe, expect, it } from 'vitest';
import { FAULTS, FUTURE_TOLERANCE_MS, parseFaults, planFaults } from './faults.js';
import { buildFleet } from './fleet.js';
import { MINUTE_MS } from './local-time.js';
import { senders } from './model.js';
import { Rng } from './rng.js';

const ANCHOR = Date.parse('2026-03-10T15:00:00Z');
const fleet = buildFleet({ seed: 11, devices: 400, anchorMs: ANCHOR });
const plan = (faults: string, durationMs = 10 * MINUTE_MS) =>
  planFaults(parseFaults(faults), fleet, senders(fleet), Rng.seeded(11).fork('faults'), { startMs: ANCHOR, durationMs });

describe('fault plan', () => {
  it('is decided by the seed', () => {
    expect(plan('all')).toEqual(plan('all'));
    expect(plan('none')).toMatchObject({ duplicateRate: 0, malformedPayloadRate: 0, burstAtMs: null, storm: null });
    expect(plan('none').quirks.size).toBe(0);
    expect(parseFaults('all')).toEqual([...FAULTS]);
    expect(() => parseFaults('duplicates,meteor-strike')).toThrow(/unknown fault 'meteor-strike'/);
  });

  it('drifts some device clocks, never near the gateway’s tolerance', () => {
    const offsets = [...plan('clock-drift').quirks.values()].map((q) => q.clockOffsetMs).filter((o) => o !== 0);
    expect(offsets.length).toBeGreaterThan(40);
    expect(offsets.some((o) => o > FUTURE_TOLERANCE_MS)).toBe(true); // some far enough to be refused
    for (const o of offsets) expect(Math.abs(o) <= 150_000 || o >= FUTURE_TOLERANCE_MS * 4).toBe(true);
  });

  it('takes some senders offline inside the run, and times the burst and the storm', () => {
    const p = plan('offline,morning-burst,reconnect-storm');
    expect(p.offline.size).toBeGreaterThan(20);
    for (const w of p.offline.values()) {
      expect(w.fromMs).toBeGreaterThan(ANCHOR);
      expect(w.toMs).toBeLessThan(ANCHOR + 10 * MINUTE_MS);
      expect(w.toMs).toBeGreaterThan(w.fromMs);
    }
    expect(p.burstAtMs).toBe(ANCHOR + MINUTE_MS);
    expect(p.storm).toEqual({ atMs: ANCHOR + 5 * MINUTE_MS, windowMs: MINUTE_MS });
    // In a day-long run, devices go offline for hours.
    const long = plan('offline', 24 * 60 * MINUTE_MS);
    for (const w of long.offline.values()) expect(w.toMs - w.fromMs).toBeGreaterThanOrEqual(2 * 60 * MINUTE_MS);
  });
});
