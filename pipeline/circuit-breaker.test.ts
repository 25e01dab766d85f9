import { describe, expect, it } from 'vitest';
import { CircuitBreaker, retryDelayMs } from './circuit-breaker.js';

describe('retry delay', () => {
  it('doubles from the base per failed attempt, caps at the maximum, and jitters the upper half', () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 1000, 60_000, 1))).toEqual([1000, 2000, 4000, 8000]);
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 1000, 60_000, 0))).toEqual([500, 1000, 2000, 4000]);
    expect(retryDelayMs(30, 1000, 60_000, 0.5)).toBe(45_000);
    expect(retryDelayMs(10_000, 1000, 60_000, 1)).toBe(60_000);
  });
});

describe('circuit breaker', () => {
  it('opens after the threshold of consecutive failures, lets one probe through after the cooldown, and closes on its success', () => {
    const b = new CircuitBreaker({ threshold: 3, cooldownMs: 1000 });
    expect(b.permit(0)).toBe('all');
    b.failure(0);
    b.failure(10);
    b.success();
    b.failure(20);
    b.failure(30);
    expect(b.state).toBe('closed');
    b.failure(40);
    expect(b.state).toBe('open');
    expect(b.reopensAtMs).toBe(1040);
    expect(b.permit(1039)).toBe('none');
    expect(b.permit(1040)).toBe('probe');
    // Only one probe at a time.
    expect(b.permit(1041)).toBe('none');
    expect(b.success()).toBe(true);
    expect(b.state).toBe('closed');
    expect(b.permit(1042)).toBe('all');
    expect(b.success()).toBe(false);
  });

  it('reopens for another cooldown when the probe fails, and frees the probe when it was cancelled', () => {
    const b = new CircuitBreaker({ threshold: 1, cooldownMs: 500 });
    b.failure(0);
    expect(b.permit(500)).toBe('probe');
    b.failure(600);
    expect(b.state).toBe('open');
    expect(b.permit(1099)).toBe('none');
    expect(b.permit(1100)).toBe('probe');
    b.release();
    expect(b.permit(1101)).toBe('probe');
  });
});
