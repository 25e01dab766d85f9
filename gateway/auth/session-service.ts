import { RpmError } from '../../core/errors/rpm-error.js';
import type { Staff, StaffSession } from '../../core/model/staff.js';
import type { Clock } from '../../core/ports/clock.js';
import type { StaffStore } from '../../core/ports/staff-store.js';
import { dummyPasswordHash, verifyPassword } from './password.js';
import { issueSessionToken, looksLikeSessionToken, sessionTokenSha256 } from './session-token.js';

export interface SessionOptions {
  /** Inactivity after which a session ends. */
  readonly idleMs: number;
  /** Absolute lifetime from login. */
  readonly maxMs: number;
  /**
   * Activity is written at most this often per session, so a burst of requests costs one
   * write. The idle clock therefore runs from the last *recorded* activity: a session may end
   * up to this much earlier than the exact idle time, never later.
   */
  readonly touchEveryMs?: number;
  /** Password checks running at once; more answer 503 so a login flood cannot exhaust the pool. */
  readonly maxConcurrentChecks?: number;
}

export type LoginFailure = 'unknown-email' | 'wrong-password' | 'disabled';

export type LoginOutcome =
  | { readonly ok: true; readonly token: string; readonly session: StaffSession; readonly staff: Staff }
  | { readonly ok: false; readonly reason: LoginFailure; readonly staffId: string | null };

export interface AuthenticatedSession {
  readonly staff: Staff;
  readonly tokenSha256: string;
  readonly expiresAtMs: number;
  /** When the session ends if nothing else happens (never after expiresAtMs). */
  readonly idleExpiresAtMs: number;
}

const PRUNE_EVERY_MS = 3_600_000;

/**
 * Staff logins and their sessions. Tokens are 256-bit random values; the store keeps only their
 * SHA-256. Every request reads the session and the account afresh (two indexed point reads), so
 * logout, disabling an account and a role change apply to the very next request.
 */
export class SessionService {
  private readonly dummyHash: Promise<string>;
  private readonly touchEveryMs: number;
  private readonly maxConcurrentChecks: number;
  private checking = 0;
  private lastPruneMs = 0;

  constructor(
    private readonly store: StaffStore,
    private readonly clock: Clock,
    private readonly options: SessionOptions,
  ) {
    this.touchEveryMs = options.touchEveryMs ?? 30_000;
    this.maxConcurrentChecks = options.maxConcurrentChecks ?? 16;
    this.dummyHash = dummyPasswordHash();
    // Awaited by the first login for an unknown email; keep a failure from going unhandled meanwhile.
    this.dummyHash.catch(() => undefined);
  }

  /**
   * Checks the credentials. Unknown email, wrong password and disabled account all cost one
   * argon2id verification, so the caller can answer them identically in content and timing.
   */
  async login(email: string, password: string, organizationId?: string): Promise<LoginOutcome> {
    if (this.checking >= this.maxConcurrentChecks) {
      throw new RpmError('RPM_ERR_OVERLOADED', 'too many logins in progress', { retryAfterSeconds: 1 });
    }
    this.checking++;
    let found: Awaited<ReturnType<StaffStore['findLogin']>>;
    let matches: boolean;
    try {
      found = await this.store.findLogin(email, organizationId);
      matches = await verifyPassword(found?.passwordHash ?? (await this.dummyHash), password);
    } finally {
      this.checking--;
    }
    if (found === undefined) return { ok: false, reason: 'unknown-email', staffId: null };
    if (!matches) return { ok: false, reason: 'wrong-password', staffId: found.staff.id };
    if (found.staff.status !== 'active') return { ok: false, reason: 'disabled', staffId: found.staff.id };

    const now = this.clock.now();
    await this.pruneNow(now);
    const { token, tokenSha256 } = issueSessionToken();
    const session = await this.store.createSession({ tokenSha256, staffId: found.staff.id, createdAtMs: now, expiresAtMs: now + this.options.maxMs });
    return { ok: true, token, session, staff: found.staff };
  }

  /**
   * The session and account behind a bearer token, sliding its idle expiry. Throws
   * RPM_ERR_AUTH_INVALID (unknown, logged out, account disabled) or RPM_ERR_AUTH_SESSION_EXPIRED.
   */
  async authenticate(token: string): Promise<AuthenticatedSession> {
    if (!looksLikeSessionToken(token)) throw new RpmError('RPM_ERR_AUTH_INVALID', 'invalid session token');
    const tokenSha256 = sessionTokenSha256(token);
    const session = await this.store.findSession(tokenSha256);
    if (session === undefined) throw new RpmError('RPM_ERR_AUTH_INVALID', 'invalid session token');
    if (session.revokedAtMs !== null) throw new RpmError('RPM_ERR_AUTH_INVALID', 'this session was logged out');
    const now = this.clock.now();
    if (now >= session.expiresAtMs) throw new RpmError('RPM_ERR_AUTH_SESSION_EXPIRED', 'the session reached its maximum lifetime; log in again');
    if (now >= session.lastActiveAtMs + this.options.idleMs) throw new RpmError('RPM_ERR_AUTH_SESSION_EXPIRED', 'the session expired after inactivity; log in again');
    const staff = await this.store.getStaff(session.staffId);
    if (staff === undefined || staff.status !== 'active') throw new RpmError('RPM_ERR_AUTH_INVALID', 'the account is not active');

    let lastActiveAtMs = session.lastActiveAtMs;
    if (now - lastActiveAtMs >= this.touchEveryMs) {
      await this.store.touchSession(tokenSha256, now);
      lastActiveAtMs = now;
    }
    return { staff, tokenSha256, expiresAtMs: session.expiresAtMs, idleExpiresAtMs: Math.min(lastActiveAtMs + this.options.idleMs, session.expiresAtMs) };
  }

  /** Ends the session at once. */
  async logout(tokenSha256: string): Promise<void> {
    await this.store.revokeSession(tokenSha256, this.clock.now());
  }

  /** Ends every session of the account (disabled, password changed). */
  revokeAll(staffId: string): Promise<number> {
    return this.store.revokeSessionsOf(staffId, this.clock.now());
  }

  /** Ended sessions are useless; drop them now and then, on the login path, which is rare. */
  private async pruneNow(now: number): Promise<void> {
    if (now - this.lastPruneMs < PRUNE_EVERY_MS) return;
    this.lastPruneMs = now;
    await this.store.pruneSessions(now);
  }
}
