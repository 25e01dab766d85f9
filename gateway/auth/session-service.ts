import { StoredSessionLiveness } from '../../pipeline/worklist/timer-guard.js';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { Staff, StaffSession } from '../../core/model/staff.js';
import type { Clock } from '../../core/ports/clock.js';
import type { FailedLogins, StaffStore } from '../../core/ports/staff-store.js';
import { FairQueue } from './fair-queue.js';
import { LoginThrottle } from './login-throttle.js';
import type { SecondFactorInput, SecondFactorUsed } from './mfa-service.js';
import { dummyPasswordHash, hashPassword, verifyPassword } from './password.js';
import { issueSessionToken, looksLikeSessionToken, sessionTokenSha256 } from './session-token.js';
import { sourceKey } from './source-address.js';

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
  /** Password checks running at once; more wait in a fair queue (fair-queue.ts). */
  readonly maxConcurrentChecks?: number;
  /** Per-account progressive delay after wrong passwords (login-throttle.ts). */
  readonly loginDelay?: { readonly freeFailures: number; readonly baseDelayMs: number; readonly maxDelayMs: number };
  /** An address the account signed in from within this long skips the per-account delay. */
  readonly knownSourceMs?: number;
}

export type LoginFailure = 'unknown-email' | 'wrong-password' | 'disabled' | 'mfa-required' | 'mfa-invalid' | 'sso-required';

/** The second factor as the login sees it (MfaService). */
export interface SecondFactorCheck {
  enrolled(staffId: string): Promise<boolean>;
  /** Uses up what it accepts (a TOTP step, a recovery code). */
  verify(staff: Staff, input: SecondFactorInput): Promise<SecondFactorUsed | undefined>;
  /** The organization requires a second factor and the account has none yet. */
  enrollmentRequired(staff: Staff): Promise<boolean>;
  /** The organization signs in through its identity provider only. */
  ssoOnly(staff: Staff): Promise<boolean>;
}

export interface SessionExtras {
  readonly secondFactor?: SecondFactorCheck;
  /** Where a changed password goes (StaffSecurityStore). */
  readonly passwords?: { setPasswordHash(staffId: string, passwordHash: string, atMs: number): Promise<boolean> };
}

export interface LoginAttempt extends SecondFactorInput {
  readonly email: string;
  readonly password: string;
  readonly organizationId?: string | undefined;
  /** The client address (for the fair queue, the known-source check and the throttle). */
  readonly source: string;
}

export type LoginOutcome =
  | {
      readonly ok: true;
      readonly token: string;
      readonly session: StaffSession;
      readonly staff: Staff;
      /** Wrong passwords for this account since its previous sign-in (shown to its owner). */
      readonly failedSinceLastLogin: FailedLogins;
      /** The second factor this login used, if the account has one. */
      readonly secondFactor: SecondFactorUsed | null;
      /** The organization requires a second factor the account does not have yet: the session may only enrol one. */
      readonly mfaEnrollmentRequired: boolean;
    }
  | {
      readonly ok: false;
      readonly reason: LoginFailure;
      readonly staffId: string | null;
      /** This failure started the account's progressive delay (tell its owner, once). */
      readonly delayStarted: boolean;
    };

export type SessionEndReason = 'logged-out' | 'account-disabled' | 'password-changed' | 'idle' | 'expired';

export type SessionEnd =
  | { readonly kind: 'session'; readonly tokenSha256: string; readonly staffId: string | null; readonly atMs: number; readonly reason: SessionEndReason }
  | { readonly kind: 'account'; readonly staffId: string; readonly atMs: number; readonly reason: SessionEndReason };

export interface AuthenticatedSession {
  readonly staff: Staff;
  readonly tokenSha256: string;
  readonly expiresAtMs: number;
  /** When the session ends if nothing else happens (never after expiresAtMs). */
  readonly idleExpiresAtMs: number;
  /** The organization requires a second factor the account does not have yet: only enrolment is open to this session. */
  readonly mfaEnrollmentRequired: boolean;
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
  private readonly checks: FairQueue;
  private readonly throttle: LoginThrottle;
  private readonly knownSourceMs: number;
  private readonly endedListeners = new Set<(ended: SessionEnd) => void>();
  private lastPruneMs = 0;

  constructor(
    private readonly store: StaffStore,
    private readonly clock: Clock,
    private readonly options: SessionOptions,
    private readonly extras: SessionExtras = {},
  ) {
    this.touchEveryMs = options.touchEveryMs ?? 30_000;
    const concurrency = options.maxConcurrentChecks ?? 4;
    this.checks = new FairQueue({ concurrency, maxWaitingPerSource: 32, maxWaiting: 4096 });
    const delay = options.loginDelay ?? { freeFailures: 5, baseDelayMs: 1000, maxDelayMs: 60_000 };
    this.throttle = new LoginThrottle({ ...delay, memoryMs: 3_600_000 });
    this.knownSourceMs = options.knownSourceMs ?? 30 * 86_400_000;
    this.dummyHash = dummyPasswordHash();
    // Awaited by the first login for an unknown email; keep a failure from going unhandled meanwhile.
    this.dummyHash.catch(() => undefined);
  }

  /**
   * Checks the credentials. Unknown email, wrong password and disabled account all cost one
   * argon2id verification, so the caller can answer them identically in content and timing.
   *
   * Throws RPM_ERR_AUTH_LOGIN_DELAYED (429, with Retry-After) while wrong passwords keep the
   * account named in the attempt delayed (login-throttle.ts), unless the attempt comes from an
   * address the account signed in from recently; such attempts also go first in the queue.
   */
  async login(attempt: LoginAttempt): Promise<LoginOutcome> {
    const now = this.clock.now();
    const source = sourceKey(attempt.source);
    const key = LoginThrottle.key(attempt.email, attempt.organizationId);
    const found = await this.store.findLogin(attempt.email, attempt.organizationId);
    const known = found !== undefined && (await this.store.knownLoginSource(found.staff.id, source, now - this.knownSourceMs));
    if (!known) {
      const waitMs = this.throttle.waitMs(key, now);
      if (waitMs > 0) {
        throw new RpmError('RPM_ERR_AUTH_LOGIN_DELAYED', 'too many wrong passwords for this account; wait before trying again', {
          retryAfterSeconds: Math.ceil(waitMs / 1000),
        });
      }
    }
    const hash = found?.passwordHash ?? (await this.dummyHash);
    const matches = await this.checks.run(source, () => verifyPassword(hash, attempt.password), { priority: known });
    const after = this.clock.now();
    if (found === undefined || !matches) {
      const count = this.throttle.failed(key, after);
      if (found !== undefined) await this.store.recordLoginFailure(found.staff.id, after);
      return { ok: false, reason: found === undefined ? 'unknown-email' : 'wrong-password', staffId: found?.staff.id ?? null, delayStarted: this.throttle.startsDelay(count) };
    }
    if (found.staff.status !== 'active') return { ok: false, reason: 'disabled', staffId: found.staff.id, delayStarted: false };

    // The second factor, once the password is right. A wrong code counts like a wrong password
    // (the per-account delay), so a stolen password does not open a million guesses at the code.
    let secondFactor: SecondFactorUsed | null = null;
    const factors = this.extras.secondFactor;
    if (factors !== undefined && (await factors.ssoOnly(found.staff))) return { ok: false, reason: 'sso-required', staffId: found.staff.id, delayStarted: false };
    if (factors !== undefined && (await factors.enrolled(found.staff.id))) {
      if (attempt.otp === undefined && attempt.recoveryCode === undefined) return { ok: false, reason: 'mfa-required', staffId: found.staff.id, delayStarted: false };
      const used = await factors.verify(found.staff, attempt);
      if (used === undefined) {
        const count = this.throttle.failed(key, after);
        await this.store.recordLoginFailure(found.staff.id, after);
        return { ok: false, reason: 'mfa-invalid', staffId: found.staff.id, delayStarted: this.throttle.startsDelay(count) };
      }
      secondFactor = used;
    }

    // The person knows the password: wrong tries from elsewhere no longer delay this address's next try.
    if (!known) this.throttle.reset(key);
    await this.pruneNow(after);
    const failedSinceLastLogin = await this.store.recordLoginSuccess(found.staff.id, source, after, after - this.knownSourceMs);
    const { token, tokenSha256 } = issueSessionToken();
    const session = await this.store.createSession({ tokenSha256, staffId: found.staff.id, createdAtMs: after, expiresAtMs: after + this.options.maxMs });
    const mfaEnrollmentRequired = secondFactor === null && factors !== undefined && (await factors.enrollmentRequired(found.staff));
    return { ok: true, token, session, staff: found.staff, failedSinceLastLogin, secondFactor, mfaEnrollmentRequired };
  }

  /**
   * A session for an account someone else authenticated (the organization's identity provider,
   * single sign-on): recorded as a sign-in from `source`, like a password login.
   */
  async openSession(staff: Staff, source: string): Promise<Extract<LoginOutcome, { ok: true }>> {
    const now = this.clock.now();
    await this.pruneNow(now);
    const failedSinceLastLogin = await this.store.recordLoginSuccess(staff.id, sourceKey(source), now, now - this.knownSourceMs);
    const { token, tokenSha256 } = issueSessionToken();
    const session = await this.store.createSession({ tokenSha256, staffId: staff.id, createdAtMs: now, expiresAtMs: now + this.options.maxMs });
    return { ok: true, token, session, staff, failedSinceLastLogin, secondFactor: null, mfaEnrollmentRequired: false };
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
    const mfaEnrollmentRequired = (await this.extras.secondFactor?.enrollmentRequired(staff)) ?? false;
    return { staff, tokenSha256, expiresAtMs: session.expiresAtMs, idleExpiresAtMs: Math.min(lastActiveAtMs + this.options.idleMs, session.expiresAtMs), mfaEnrollmentRequired };
  }

  /** Password checks waiting for a turn. */
  get queuedChecks(): number {
    return this.checks.queued;
  }

  /** Ends the session at once. */
  async logout(tokenSha256: string): Promise<void> {
    const now = this.clock.now();
    const session = await this.store.findSession(tokenSha256);
    await this.store.revokeSession(tokenSha256, now);
    this.ended({ kind: 'session', tokenSha256, staffId: session?.staffId ?? null, atMs: now, reason: 'logged-out' });
  }

  /**
   * The owner changes her password: the current one is checked like a login (argon2id, in the
   * fair queue; a wrong one counts toward the account's delay), the new one stored, and every
   * session of the account ends, this one included (HIPAA §164.312(a)(2)(iii)).
   */
  async changePassword(staff: Staff, currentPassword: string, newPassword: string, source: string): Promise<number> {
    const passwords = this.extras.passwords;
    if (passwords === undefined) throw new RpmError('RPM_ERR_AUTH_FORBIDDEN', 'password changes are not available');
    const found = await this.store.findLogin(staff.email, staff.organizationId);
    if (found === undefined || found.staff.id !== staff.id) throw new RpmError('RPM_ERR_AUTH_INVALID');
    const key = LoginThrottle.key(staff.email, staff.organizationId);
    const now = this.clock.now();
    const waitMs = this.throttle.waitMs(key, now);
    if (waitMs > 0) throw new RpmError('RPM_ERR_AUTH_LOGIN_DELAYED', 'too many wrong passwords for this account; wait before trying again', { retryAfterSeconds: Math.ceil(waitMs / 1000) });
    if (!(await this.checks.run(sourceKey(source), () => verifyPassword(found.passwordHash, currentPassword), { priority: true }))) {
      this.throttle.failed(key, this.clock.now());
      await this.store.recordLoginFailure(staff.id, this.clock.now());
      throw new RpmError('RPM_ERR_AUTH_INVALID', 'the current password is wrong');
    }
    await passwords.setPasswordHash(staff.id, await hashPassword(newPassword), this.clock.now());
    return this.revokeAll(staff.id, 'password-changed');
  }

  /** Ends every session of the account (disabled, password changed). */
  async revokeAll(staffId: string, reason: SessionEndReason = 'account-disabled'): Promise<number> {
    const now = this.clock.now();
    const n = await this.store.revokeSessionsOf(staffId, now);
    this.ended({ kind: 'account', staffId, atMs: now, reason });
    return n;
  }

  /**
   * Told when sessions end by logout or by an account change, so whatever holds a session open
   * (a worklist stream, a running timer) stops at once. Expiry is not announced: holders check
   * `status` (a stream) or `liveness` (the timer sweep).
   */
  onSessionEnded(listener: (end: SessionEnd) => void): () => void {
    this.endedListeners.add(listener);
    return () => this.endedListeners.delete(listener);
  }

  /** Sessions ended in another process of the cluster (a logout there): what holds them here stops too. */
  remoteSessionEnded(end: SessionEnd): void {
    this.ended(end);
  }

  /**
   * Whether a session still stands, without counting as activity (a stream open in a forgotten
   * tab must not keep a session alive): the same rules as `authenticate`.
   */
  async status(tokenSha256: string): Promise<{ readonly live: true; readonly endsAtMs: number } | { readonly live: false; readonly reason: SessionEndReason }> {
    const session = await this.store.findSession(tokenSha256);
    if (session === undefined || session.revokedAtMs !== null) return { live: false, reason: 'logged-out' };
    const now = this.clock.now();
    if (now >= session.expiresAtMs) return { live: false, reason: 'expired' };
    const idleEndsAtMs = session.lastActiveAtMs + this.options.idleMs;
    if (now >= idleEndsAtMs) return { live: false, reason: 'idle' };
    const staff = await this.store.getStaff(session.staffId);
    if (staff === undefined || staff.status !== 'active') return { live: false, reason: 'account-disabled' };
    return { live: true, endsAtMs: Math.min(idleEndsAtMs, session.expiresAtMs) };
  }

  /**
   * Whether the staff member has a live session now, and her latest recorded activity (idle and
   * absolute expiry are judged here, as `authenticate` judges them).
   */
  async liveness(staffId: string): Promise<{ readonly live: boolean; readonly lastActiveAtMs: number | null }> {
    return new StoredSessionLiveness(this.store, this.clock, this.options.idleMs).liveness(staffId);
  }

  private ended(end: SessionEnd): void {
    for (const l of [...this.endedListeners]) l(end);
  }

  /** Ended sessions are useless; drop them now and then, on the login path, which is rare. */
  private async pruneNow(now: number): Promise<void> {
    if (now - this.lastPruneMs < PRUNE_EVERY_MS) return;
    this.lastPruneMs = now;
    await this.store.pruneSessions(now);
  }
}
