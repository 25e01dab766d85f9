import type { Logger } from '../../core/logging.js';
import type { AlertStore, TimeStopReason } from '../../core/ports/alert-store.js';
import type { Clock } from '../../core/ports/clock.js';
import type { SessionService } from '../auth/session-service.js';

/**
 * A nurse's running timer must not outlive her session: billable minutes count time she spent,
 * not a tab left open. Logout (or a disabled account) stops the timer at that moment; when every
 * session of hers has ended by idle or absolute expiry, it stops at her last recorded activity
 * (the entry says so, `stopReason`), found by a sweep on the clock.
 */
export class TimerGuard {
  constructor(
    private readonly alerts: AlertStore,
    private readonly sessions: SessionService,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    sessions.onSessionEnded((end) => {
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
    const checked = new Map<string, Awaited<ReturnType<SessionService['liveness']>>>();
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
