import type { Clock } from '../../core/ports/clock.js';

/** A clock tests move by hand, so that expiry is tested without sleeping. */
export class ManualClock implements Clock {
  constructor(private ms: number = Date.now()) {}

  now(): number {
    return this.ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }

  set(ms: number): void {
    this.ms = ms;
  }
}
