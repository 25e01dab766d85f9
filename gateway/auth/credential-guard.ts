import { RpmError } from '../../core/errors/rpm-error.js';
import type { Logger } from '../../core/logging.js';
import type { AuditLog } from '../../core/ports/audit-log.js';
import type { Clock } from '../../core/ports/clock.js';
import { sourceKey } from './source-address.js';

/**
 * The credentials the gateway checks; each is throttled on its own. Passwords are throttled per
 * account instead (login-throttle.ts); only their refusals are aggregated here.
 */
export type CredentialKind = 'admin-token' | 'session-token' | 'device-secret' | 'password' | 'visit-link';

const SUBJECT: Readonly<Record<CredentialKind, string>> = {
  'admin-token': 'admin-api',
  'session-token': 'staff-api',
  'device-secret': 'device-api',
  password: 'staff-login',
  // Patient visit links and the visit sessions they give.
  'visit-link': 'visit-join',
};

export interface CredentialGuardOptions {
  /** Wrong credentials of one kind from one source within `windowMs` before that source is refused. */
  readonly maxFailures: number;
  readonly windowMs: number;
  /** Sources tracked at most (oldest forgotten first), so a spray from many addresses cannot exhaust memory. */
  readonly maxSources?: number;
}

interface Window {
  startMs: number;
  failures: number;
}

interface Denials {
  readonly firstAtMs: number;
  lastAtMs: number;
  /** Denials after the first, not yet written. */
  repeated: number;
  /** Attempts refused unseen while the source was throttled, not yet written. */
  throttled: number;
  readonly action: string;
  readonly ip: string | null;
}

/**
 * Wrong admin tokens, session tokens and device secrets, by source address (source-address.ts):
 *
 * - Throttle: after `maxFailures` wrong credentials of one kind in a window, that source is
 *   refused (429 / CONNACK 3) for the rest of the window without the credential being looked at,
 *   so guessing stops and a flood costs nothing. Kinds are separate, so a device behind the same
 *   carrier NAT as a token guesser keeps working; callers let a credential already verified in
 *   memory through regardless (see DeviceAuthenticator.recognizes).
 * - Audit without flooding: the first denial of a kind from a source is written at once
 *   (`auth.denied`); the ones after it in the window are counted and written as one entry when
 *   the window ends (`auth.denied`, details.count, firstAt, lastAt). Thousands of wrong tokens
 *   become two entries a minute, so they cannot push real entries out of a reviewer's view.
 */
export class CredentialGuard {
  private readonly windows = new Map<string, Window>();
  private readonly denials = new Map<string, Denials>();
  private readonly maxSources: number;
  private readonly flushTimer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: CredentialGuardOptions,
  ) {
    this.maxSources = options.maxSources ?? 50_000;
    this.flushTimer = setInterval(() => void this.flush(false), Math.min(options.windowMs, 60_000));
    this.flushTimer.unref();
  }

  /**
   * Throws 429 RPM_ERR_RATE_LIMITED while `source` is refused for this kind of credential (the
   * refusal is counted into the source's aggregated audit entry).
   */
  check(kind: CredentialKind, source: string | null | undefined): void {
    const retryAfterS = this.retryAfterSeconds(kind, source);
    if (retryAfterS !== undefined) {
      const d = this.denials.get(`${kind}\n${sourceKey(source)}`);
      if (d !== undefined) d.throttled++;
      throw new RpmError('RPM_ERR_RATE_LIMITED', `too many wrong credentials from this address; retry in ${retryAfterS} s`, { retryAfterSeconds: retryAfterS });
    }
  }

  /** Seconds until `source` may try this kind of credential again, or undefined if it may now. */
  retryAfterSeconds(kind: CredentialKind, source: string | null | undefined): number | undefined {
    const w = this.windows.get(`${kind}\n${sourceKey(source)}`);
    const now = this.clock.now();
    if (w === undefined || now - w.startMs >= this.options.windowMs || w.failures < this.options.maxFailures) return undefined;
    return Math.max(1, Math.ceil((w.startMs + this.options.windowMs - now) / 1000));
  }

  /** A wrong credential of `kind` from `source`, on `action` (the route or `MQTT CONNECT`). Never rejects. */
  async denied(kind: CredentialKind, source: string | null | undefined, action: string, options: { throttle?: boolean } = {}): Promise<void> {
    const key = `${kind}\n${sourceKey(source)}`;
    const now = this.clock.now();
    let failures = 0;
    if (options.throttle !== false) {
      let w = this.windows.get(key);
      if (w === undefined || now - w.startMs >= this.options.windowMs) {
        w = { startMs: now, failures: 0 };
        this.windows.delete(key);
        if (this.windows.size >= this.maxSources) this.windows.delete(this.windows.keys().next().value as string);
      }
      failures = ++w.failures;
      this.windows.set(key, w);
    }

    const d = this.denials.get(key);
    if (d !== undefined) {
      d.repeated++;
      d.lastAtMs = now;
      return;
    }
    if (this.denials.size >= this.maxSources) await this.flush(true);
    this.denials.set(key, { firstAtMs: now, lastAtMs: now, repeated: 0, throttled: 0, action, ip: source ?? null });
    if (failures === this.options.maxFailures) this.log.warn({ credential: kind }, 'a source reached the wrong-credential limit and is refused for the rest of the window');
    // Never rejects: the caller is refusing a request either way, and the count above stands.
    await this.audit
      .record({ atMs: now, actor: 'unknown', action: 'auth.denied', subject: SUBJECT[kind], outcome: 'denied', sourceIp: source ?? null, details: { credential: kind, on: action, count: 1 } })
      .catch((err: unknown) => this.log.error({ err }, 'could not write a denial to the audit log'));
  }

  /** Writes the counted repeats (all of them with `all`, else those whose window ended). */
  flush(all: boolean): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const now = this.clock.now();
      for (const [key, d] of [...this.denials]) {
        if (!all && now - d.firstAtMs < this.options.windowMs) continue;
        this.denials.delete(key);
        if (d.repeated === 0 && d.throttled === 0) continue;
        const kind = key.slice(0, key.indexOf('\n')) as CredentialKind;
        await this.audit
          .record({
            atMs: now,
            actor: 'unknown',
            action: 'auth.denied',
            subject: SUBJECT[kind],
            outcome: 'denied',
            sourceIp: d.ip,
            details: { credential: kind, on: d.action, count: d.repeated, throttled: d.throttled, firstAt: new Date(d.firstAtMs).toISOString(), lastAt: new Date(d.lastAtMs).toISOString(), aggregated: true },
          })
          .catch((err: unknown) => this.log.error({ err }, 'could not write aggregated denials to the audit log'));
      }
      for (const [key, w] of this.windows) if (now - w.startMs >= this.options.windowMs) this.windows.delete(key);
    });
    return this.flushing;
  }

  /** Shutdown: write what is counted. */
  async stop(): Promise<void> {
    clearInterval(this.flushTimer);
    await this.flush(true);
  }
}
