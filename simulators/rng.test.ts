import { describe, expect, it } from 'vitest';
import { Rng } from './rng.js';

const take = (r: Rng, n: number): number[] => Array.from({ length: n }, () => r.next());

describe('Rng', () => {
  it('repeats the same stream for the same seed and label, and differs otherwise', () => {
    expect(take(Rng.seeded(42), 50)).toEqual(take(Rng.seeded(42), 50));
    expect(take(Rng.seeded(42), 50)).not.toEqual(take(Rng.seeded(43), 50));
    expect(take(Rng.seeded(42).fork('a'), 50)).not.toEqual(take(Rng.seeded(42).fork('b'), 50));
    // A seed given as a number or as its string is the same seed (CLI flags are strings).
    expect(take(Rng.seeded(7), 5)).toEqual(take(Rng.seeded('7'), 5));
  });

  it('forks independently of how much the parent was used', () => {
    const used = Rng.seeded(1);
    take(used, 1000);
    expect(take(used.fork('device:x'), 20)).toEqual(take(Rng.seeded(1).fork('device:x'), 20));
  });

  it('draws uniform values in [0, 1) and integers within bounds', () => {
    const r = Rng.seeded('u');
    const xs = take(r, 20_000);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.49);
    expect(mean).toBeLessThan(0.51);
    const ints = Array.from({ length: 5000 }, () => r.int(3, 7));
    expect(new Set(ints)).toEqual(new Set([3, 4, 5, 6, 7]));
  });

  it('draws normals with the asked mean and spread', () => {
    const r = Rng.seeded('n');
    const xs = Array.from({ length: 40_000 }, () => r.normal(120, 8));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
    expect(mean).toBeCloseTo(120, 0);
    expect(sd).toBeGreaterThan(7.8);
    expect(sd).toBeLessThan(8.2);
  });

  it('picks by weight in proportion', () => {
    const r = Rng.seeded('w');
    const counts = { a: 0, b: 0 };
    for (let i = 0; i < 20_000; i++) counts[r.weighted([['a', 3], ['b', 1]] as const)]++;
    expect(counts.a / counts.b).toBeGreaterThan(2.8);
    expect(counts.a / counts.b).toBeLessThan(3.2);
  });
});
