import { describe, expect, it } from 'vitest';
import { PassSize } from './pass-size.js';

describe('PassSize', () => {
  it('halves after a slow pass down to the minimum, and grows back after fast full passes', () => {
    const size = new PassSize(2000, 50, 50);
    expect(size.current).toBe(2000);
    size.record(2000, 400);
    expect(size.current).toBe(1000);
    for (let i = 0; i < 10; i++) size.record(size.current, 400);
    expect(size.current).toBe(50);
    // A slow pass of few readings (a backlog's tail, a slow disk) says nothing about size.
    size.record(50, 400);
    expect(size.current).toBe(50);
    size.record(50, 5);
    expect(size.current).toBe(100);
    // A short pass because the log had little to give does not grow it.
    size.record(10, 1);
    expect(size.current).toBe(100);
    for (let i = 0; i < 10; i++) size.record(size.current, 1);
    expect(size.current).toBe(2000);
  });
});
