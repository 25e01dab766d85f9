import { describe, expect, it } from 'vitest';
import { parseMeasurementTime } from './measurement-time.js';

describe('parseMeasurementTime', () => {
  it('keeps the offset and computes the instant', () => {
    expect(parseMeasurementTime('2026-12-01T07:02:00-05:00')).toEqual({ instantMs: Date.parse('2026-12-01T12:02:00Z'), utcOffsetMinutes: -300 });
    expect(parseMeasurementTime('2026-12-01T12:02:00Z')).toEqual({ instantMs: Date.parse('2026-12-01T12:02:00Z'), utcOffsetMinutes: 0 });
    expect(parseMeasurementTime('2026-12-01T17:32:00.250+0530')).toEqual({ instantMs: Date.parse('2026-12-01T12:02:00.250Z'), utcOffsetMinutes: 330 });
    expect(parseMeasurementTime('2026-12-01T12:02Z')?.instantMs).toBe(Date.parse('2026-12-01T12:02:00Z'));
  });

  it('refuses times without an offset and impossible dates', () => {
    for (const bad of ['2026-12-01T07:02:00', '2026-12-01', '2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '2026-12-01T24:00:00Z', '2026-12-01T10:00:00+15:00', 'yesterday', '1764590520000']) {
      expect(parseMeasurementTime(bad), bad).toBeUndefined();
    }
  });

  it('accepts a leap day', () => {
    expect(parseMeasurementTime('2028-02-29T08:00:00+01:00')?.instantMs).toBe(Date.parse('2028-02-29T07:00:00Z'));
  });
});
