import { describe, expect, it } from 'vitest';
import { resolveUnit, toCanonical } from './units.js';

describe('unit resolution and UCUM conversion', () => {
  it.each([
    ['pressure', 'mmHg', 'mm[Hg]'],
    ['pressure', 'mm[Hg]', 'mm[Hg]'],
    ['pressure', 'kPa', 'kPa'],
    ['pressure', 'MMHG', 'mm[Hg]'],
    ['rate', 'bpm', '/min'],
    ['rate', '{beats}/min', '/min'],
    ['rate', '/min', '/min'],
    ['percent', '%', '%'],
    ['mass', 'lb', '[lb_av]'],
    ['mass', 'lbs', '[lb_av]'],
    ['mass', 'g', 'g'],
    ['temperature', '°F', '[degF]'],
    ['temperature', 'Cel', 'Cel'],
    ['glucose', 'mmol/L', 'mmol/L'],
  ] as const)('resolves %s unit %s to UCUM %s', (quantity, unit, ucum) => {
    expect(resolveUnit(quantity, unit)).toBe(ucum);
  });

  it('refuses units of the wrong quantity or unknown spellings', () => {
    expect(resolveUnit('mass', 'mmHg')).toBeUndefined();
    expect(resolveUnit('temperature', 'K')).toBeUndefined();
    expect(resolveUnit('percent', 'ratio')).toBeUndefined();
  });

  it.each([
    ['pressure', 'kPa', 16, 120.0102],
    ['pressure', 'mm[Hg]', 120, 120],
    ['mass', '[lb_av]', 180, 81.6466],
    ['mass', 'g', 69_800, 69.8],
    ['temperature', '[degF]', 98.6, 37],
    ['temperature', '[degF]', 32, 0],
    ['temperature', 'Cel', 38.2, 38.2],
    ['glucose', 'mmol/L', 5.5, 99.0858],
    ['glucose', 'mg/dL', 104, 104],
    ['rate', '/min', 72, 72],
  ] as const)('converts %s %d %s to the canonical unit', (quantity, from, value, expected) => {
    expect(toCanonical(quantity, from, value)).toBeCloseTo(expected, 4);
  });

  it('gives the same answer on the cached path as on the first call', () => {
    const first = toCanonical('temperature', '[degF]', 101.3);
    const again = toCanonical('temperature', '[degF]', 101.3);
    expect(again).toBe(first);
    expect(first).toBeCloseTo(38.5, 4);
  });
});
