import { describe, expect, it } from 'vitest';
import { AdaptiveBatch } from './adaptive-batch.js';

describe('AdaptiveBatch: batches shrink when exchanges time out, and grow back when the server keeps up', () => {
  it('halves on each timeout down to single readings, saying why', () => {
    const b = new AdaptiveBatch(50, { growAfter: 3, rememberMs: 1000 });
    expect(b.status(0)).toEqual({ configured: 50, current: 50, reason: null });
    b.timedOut(50, 2000, 0);
    expect(b.size(0)).toBe(25);
    expect(b.status(0).reason).toBe('an exchange of 50 readings got no answer within 2000 ms: sending 25 per exchange until the server keeps up');
    // Two exchanges of the old size time out together: halved once, not twice.
    b.timedOut(25, 2000, 1);
    b.timedOut(25, 2000, 1);
    expect(b.size(1)).toBe(12);
    for (const sent of [12, 6, 3]) b.timedOut(sent, 2000, 2);
    expect(b.size(2)).toBe(1);
    b.timedOut(1, 2000, 3);
    expect(b.size(3)).toBe(1);
    expect(b.status(3).reason).toBe('single readings get no answer within 2000 ms: the server is slow or RPM_FHIR_TIMEOUT_MS too short');
  });

  it('doubles after a run of answered exchanges, never past a size that timed out while that is remembered', () => {
    const b = new AdaptiveBatch(50, { growAfter: 3, rememberMs: 1000 });
    b.timedOut(50, 2000, 0);
    b.timedOut(25, 2000, 0);
    expect(b.size(0)).toBe(12);
    const answer = (n: number, at: number): void => {
      for (let i = 0; i < n; i++) b.answeredExchange(at);
    };
    answer(2, 10);
    expect(b.size(10)).toBe(12);
    answer(1, 10);
    expect(b.size(10)).toBe(24);
    // 25 timed out a moment ago: not yet.
    answer(3, 20);
    expect(b.size(20)).toBe(24);
    // Forgotten after a while: back up to the configured size, and the reason goes.
    answer(3, 1000);
    expect(b.size(1000)).toBe(48);
    answer(3, 1001);
    expect(b.status(1001)).toEqual({ configured: 50, current: 50, reason: null });
    answer(1, 1002);
    expect(b.status(1002).reason).toBeNull();
  });

  it('starts again from a new configured size', () => {
    const b = new AdaptiveBatch(50);
    b.timedOut(50, 2000, 0);
    b.configure(10);
    expect(b.status(0)).toEqual({ configured: 10, current: 10, reason: null });
  });
});
