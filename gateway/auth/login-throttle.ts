import { normalizeEmail } from '../../core/model/staff.js';

export interface LoginThrottleOptions {
  /** Wrong passwords for one account (within `memoryMs`) before each further try must wait. */
  readonly freeFailures: number;
  /** The wait after the first failure past the free ones; it doubles with each further failure. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Failures older than this no longer count. */
  readonly memoryMs: number;
  /** Accounts tracked at most (oldest forgotten first). */
  readonly maxAccounts?: number;
}

interface AccountFailures {
  count: number;
  firstAtMs: number;
  lastAtMs: number;
}

/**
 * Per-account login throttling with a progressive delay. The key is the account as named in the
 * login (email, and organization when given), whether or not it exists, so the throttle answers
 * an unknown email exactly like a real one. After `freeFailures` wrong passwords, a try must wait
 * baseDelay·2^(n−free), at most maxDelay, after the last failure; earlier tries are refused
 * without a password check (no guess is spent, nothing is learnt). There is no lockout: a nurse
 * waits seconds at worst, and logins from an address the account signed in from before are not
 * delayed at all (SessionService), so a guesser elsewhere cannot keep her out of her shift.
 */
export class LoginThrottle {
  private readonly accounts = new Map<string, AccountFailures>();
  private readonly maxAccounts: number;

  constructor(private readonly options: LoginThrottleOptions) {
    this.maxAccounts = options.maxAccounts ?? 100_000;
  }

  static key(email: string, organizationId: string | undefined): string {
    return `${normalizeEmail(email)}\n${organizationId ?? ''}`;
  }

  /** Milliseconds until the next try at this account is allowed (0 = now). */
  waitMs(key: string, nowMs: number): number {
    const f = this.current(key, nowMs);
    if (f === undefined || f.count < this.options.freeFailures) return 0;
    const delay = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (f.count - this.options.freeFailures));
    return Math.max(0, f.lastAtMs + delay - nowMs);
  }

  /** Records a wrong password; returns the failures now counted for the account. */
  failed(key: string, nowMs: number): number {
    const f = this.current(key, nowMs) ?? { count: 0, firstAtMs: nowMs, lastAtMs: nowMs };
    f.count++;
    f.lastAtMs = nowMs;
    this.accounts.delete(key);
    if (this.accounts.size >= this.maxAccounts) this.accounts.delete(this.accounts.keys().next().value as string);
    this.accounts.set(key, f);
    return f.count;
  }

  /** Whether this failure count is the one at which the delay starts (notify once per episode). */
  startsDelay(count: number): boolean {
    return count === this.options.freeFailures;
  }

  /** A correct password from an address the account did not use before: the person knows it. */
  reset(key: string): void {
    this.accounts.delete(key);
  }

  private current(key: string, nowMs: number): AccountFailures | undefined {
    const f = this.accounts.get(key);
    if (f !== undefined && nowMs - f.lastAtMs > this.options.memoryMs) {
      this.accounts.delete(key);
      return undefined;
    }
    return f;
  }
}
