import type { Logger } from '../../core/logging.js';
import type { AlertStore, TimeStopReason } from '../../core/ports/alert-store.js';
import type { Clock } from '../../core/ports/clock.js';
import type { StaffStore } from '../../core/ports/staff-store.js';

/**
 * A nurse's running timer must not outlive her session: billable minutes count time she spent,
 * not a tab left open. Logout (or a disabled account) stops the timer at that moment; when every
 * session of hers has ended by idle or absolute expiry, it stops at her last recorded activity
 * (the entry says so, `stopReason`), found by a sweep on the clock.
 */
export interface SessionLiveness {
  /** Whether any session of the staff member is still active, and her last recorded activity. */
  liveness(staffId: string): Promise<{ readonly live: boolean; readonly lastActiveAtMs: number | null }>;
}

/** Where sessions end (the gateway that holds them); a worker has none and relies on the sweep. */
export interface SessionEnds {
  onSessionEnded(listener: (end: { readonly staffId: string | null; readonly atMs: number; readonly reason: string }) => void): void;
}

/**
 * Session liveness read from the staff store: a session is active until the earliest of its
 * absolute expiry, its idle limit after the last activity, and its revocation.
 */
export class StoredSessionLiveness implements SessionLiveness {
  constructor(
    private readonly store: Pick<StaffStore, 'sessionsOf'>,
    private readonly clock: Clock,
    private readonly idleMs: number,
  ) {}

  async liveness(staffId: string): Promise<{ readonly live: boolean; readonly lastActiveAtMs: number | null }> {
    const now = this.clock.now();
    let live = false;
    let last: number | null = null;
    for (const s of await this.store.sessionsOf(staffId)) {
      const activeUntil = Math.min(s.expiresAtMs, s.lastActiveAtMs + this.idleMs, s.revokedAtMs ?? Number.POSITIVE_INFINITY);
      if (now < activeUntil) live = true;
      last = Math.max(last ?? 0, Math.min(s.lastActiveAtMs, s.revokedAtMs ?? Number.POSITIVE_INFINITY));
    }
    return { live, lastActiveAtMs: last };
  }
}

export class TimerGuard {
  constructor(
    private readonly alerts: AlertStore,
    private readonly sessions: SessionLiveness,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Stops a staff member's timer the moment her session ends where sessions end (logout, disable). */
  watch(ends: SessionEnds): void {
    ends.onSessionEnded((end) => {
      if (end.staffId === null) return;
      this.stopFor(end.staffId, end.atMs, end.reason === 'logged-out' ? 'signed-out' : 'session-expired').catch((err: unknown) =>
        this.log.error({ err }, 'could not stop a running timer at the end of its session'),
      );
    });
  }

  /**
   * Signing out (in any tab) stops her timer at that moment: minutes that count for billing are
   * minutes she chose to log, and a second tab left open is not her working on the patient.
   */
  private async stopFor(staffId: string, atMs: number, reason: TimeStopReason): Promise<void> {
    for (const entry of await this.alerts.timeEntries({ staffId, running: true })) {
      await this.alerts.stopTime(entry.id, atMs, reason);
      this.log.info({ entry: entry.id, reason }, 'running timer stopped: the session ended');
    }
  }

  /** Stops the timers of staff whose every session has ended (idle or absolute expiry). */
  async sweep(): Promise<number> {
    let stopped = 0;
    const running = await this.alerts.timeEntries({ running: true });
    const checked = new Map<string, Awaited<ReturnType<SessionLiveness['liveness']>>>();
    for (const entry of running) {
      let state = checked.get(entry.staffId);
      if (state === undefined) checked.set(entry.staffId, (state = await this.sessions.liveness(entry.staffId)));
      if (state.live) continue;
      // Never later than now, never before the timer started (stopTime clamps that).
      await this.alerts.stopTime(entry.id, Math.min(this.clock.now(), state.lastActiveAtMs ?? entry.startedAtMs), 'session-expired');
      stopped++;
    }
    return stopped;
  }
}
