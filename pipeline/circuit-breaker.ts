export type CircuitState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failed exchanges that open the circuit. */
  readonly threshold: number;
  /** How long an open circuit refuses attempts before one probe is let through. */
  readonly cooldownMs: number;
}

/**
 * A circuit breaker for one destination. Closed: every exchange is attempted. After `threshold`
 * consecutive failures it opens: nothing is sent (deliveries wait in the outbox, their attempt
 * counts untouched) until the cooldown has passed. Then it is half-open: one probe exchange is
 * let through; success closes it, failure opens it for another cooldown.
 * Pure: time is passed in, so tests drive it without sleeping.
 */
export class CircuitBreaker {
  private stateValue: CircuitState = 'closed';
  private failures = 0;
  private openUntilMs = 0;
  private probing = false;

  constructor(private readonly options: BreakerOptions) {}

  get state(): CircuitState {
    return this.stateValue;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  /** When an open circuit lets its probe through. */
  get reopensAtMs(): number | undefined {
    return this.stateValue === 'closed' ? undefined : this.openUntilMs;
  }

  /** 'all': send freely; 'probe': send one exchange; 'none': send nothing now. */
  permit(nowMs: number): 'all' | 'probe' | 'none' {
    if (this.stateValue === 'closed') return 'all';
    if (this.stateValue === 'open' && nowMs >= this.openUntilMs) this.stateValue = 'half-open';
    if (this.stateValue === 'half-open' && !this.probing) {
      this.probing = true;
      return 'probe';
    }
    return 'none';
  }

  /** The server answered. Returns true when this closed an open circuit (the server is back). */
  success(): boolean {
    const recovered = this.stateValue !== 'closed';
    this.stateValue = 'closed';
    this.failures = 0;
    this.probing = false;
    return recovered;
  }

  failure(nowMs: number): void {
    this.failures += 1;
    this.probing = false;
    if (this.stateValue === 'half-open' || this.failures >= this.options.threshold) {
      this.stateValue = 'open';
      this.openUntilMs = nowMs + this.options.cooldownMs;
    }
  }

  /** A probe ended without an answer either way (cancelled at shutdown). */
  release(): void {
    this.probing = false;
  }
}

/**
 * Delay before the next attempt after `attempts` failed ones: exponential (base·2^(n-1)),
 * capped, with "equal jitter": half the delay is fixed and half random, so retries of many
 * deliveries spread out without any of them coming back almost at once. `random` ∈ [0, 1).
 */
export function retryDelayMs(attempts: number, baseMs: number, maxMs: number, random: number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 40));
  return Math.round(exp / 2 + (random * exp) / 2);
}
