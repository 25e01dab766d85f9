import type { Logger } from '../../core/logging.js';
import type { Alert } from '../../core/model/alert.js';
import type { Staff } from '../../core/model/staff.js';
import type { AlertStore } from '../../core/ports/alert-store.js';
import type { Clock } from '../../core/ports/clock.js';
import type { Notifier } from '../../core/ports/notifier.js';
import type { Notification } from '../../core/ports/alert-store.js';
import type { StaffStore } from '../../core/ports/staff-store.js';
import { ROOT_CONTEXT, type Span } from '@opentelemetry/api';
import { alertTraces, contextOf, failSpan, inSpan, SpanKind } from '../../core/tracing.js';
import { SLA_MINUTES, slaMs } from '../../rules/priority.js';
import type { WorklistHub } from './worklist-hub.js';

export interface EscalationDeps {
  readonly alerts: AlertStore;
  readonly hub: WorklistHub;
  readonly notifier: Notifier;
  readonly clock: Clock;
  readonly log: Logger;
  /** Charge nurses of an organization: they receive escalations. */
  readonly chargeNurses: (organizationId: string) => Promise<Staff[]>;
  /** A staff member's phone, looked up at send time (never stored in the outbox). */
  readonly phoneOf: (staffId: string) => Promise<string | null>;
  /** Metrics (gateway/metrics.ts); optional so tests and workers may leave it out. */
  readonly observer?: EscalationObserver;
}

/** Why an escalation reaches nobody: the organization has no charge nurse, or none of them has a phone. */
export type UndeliverableReason = 'no-charge-nurse' | 'no-phone';

/** What an operator needs counted: escalations, SMS outcomes, escalations that reach nobody. */
export interface EscalationObserver {
  escalated(level: number, severity: Alert['severity']): void;
  notification(channel: string, outcome: 'sent' | 'failed' | 'retry', reason: string): void;
  undeliverable(reason: UndeliverableReason): void;
}

/** The banner and the warning say the same thing. */
export const UNDELIVERABLE_MESSAGE = 'escalations cannot be delivered: no charge nurse with a phone';

/**
 * Whether an organization's escalations reach anyone: some charge nurse with a phone. Undefined
 * when they do; else why not. Used by the sweep (warning, metric) and the dashboard's banner.
 */
export async function escalationReach(
  organizationId: string,
  chargeNurses: (organizationId: string) => Promise<Staff[]>,
  phoneOf: (staffId: string) => Promise<string | null>,
): Promise<UndeliverableReason | undefined> {
  const nurses = await chargeNurses(organizationId);
  if (nurses.length === 0) return 'no-charge-nurse';
  for (const n of nurses) if ((await phoneOf(n.id)) !== null) return undefined;
  return 'no-phone';
}

const MAX_ATTEMPTS = 5;

/** The SMS text: that something waits, never about whom (no PHI leaves by SMS). */
export function escalationMessage(alert: Alert): string {
  return `RPM: a ${alert.severity} alert has waited past its ${SLA_MINUTES[alert.severity]}-minute target (escalation ${alert.escalationLevel}). Open the worklist.`;
}

/**
 * SLA enforcement: an alert nobody acknowledged within its severity's target escalates
 * (level + 1, visible in the worklist, and a new deadline one SLA later), the organization's
 * charge nurses get an SMS through the notifier, and the attempt is recorded in an outbox so
 * a failed send is retried and nothing is sent twice. Driven by the injected clock.
 */
/** Active charge nurses of an organization: who receives escalations (the gateway's staff service and the worker's timers unit). */
export async function activeChargeNurses(store: Pick<StaffStore, 'listStaff'>, organizationId: string): Promise<Staff[]> {
  const nurses = await store.listStaff(organizationId, { role: 'nurse' });
  return nurses.filter((s) => s.isChargeNurse && s.status === 'active');
}

export class SlaEscalator {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly deps: EscalationDeps) {}

  start(intervalMs = 15_000): void {
    this.timer = setInterval(() => {
      this.running ??= this.runOnce()
        .then(() => undefined)
        .catch((err: unknown) => this.deps.log.error({ err }, 'SLA sweep failed'))
        .finally(() => (this.running = undefined));
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.running;
  }

  /** One sweep: bring back what a snooze hid, escalate what is overdue, then send what is pending. Returns alerts escalated. */
  async runOnce(): Promise<number> {
    await this.endSnoozes();
    const now = this.deps.clock.now();
    let escalated = 0;
    for (const alert of await this.deps.alerts.dueForEscalation(now)) {
      const next: Alert = {
        ...alert,
        escalationLevel: alert.escalationLevel + 1,
        escalatedAtMs: now,
        slaDueAtMs: now + slaMs(alert.severity),
        version: alert.version + 1,
        updatedAtMs: now,
      };
      const saved = await this.deps.alerts.saveTransition(next, alert.version, {
        alertId: alert.id,
        version: next.version,
        atMs: now,
        actor: 'system:sla',
        action: 'escalate',
        fromStatus: alert.status,
        toStatus: next.status,
        severity: next.severity,
        note: `unacknowledged past the ${SLA_MINUTES[alert.severity]}-minute target`,
      });
      // A nurse acted on it meanwhile: the next sweep sees the new state.
      if (!saved) continue;
      escalated++;
      this.deps.hub.publish({ type: 'alert', change: 'escalated', alert: next });
      this.deps.observer?.escalated(next.escalationLevel, next.severity);
      this.deps.log.warn(
        { alertId: next.id, organizationId: next.organizationId, severity: next.severity, escalationLevel: next.escalationLevel, slaMinutes: SLA_MINUTES[next.severity] },
        'alert escalated: unacknowledged past its target',
      );
      if (next.organizationId === null) {
        this.deps.observer?.undeliverable('no-charge-nurse');
        this.deps.log.warn({ alertId: next.id, reason: 'no-organization' }, `${UNDELIVERABLE_MESSAGE} (the patient has no organization)`);
      } else {
        const reason = await escalationReach(next.organizationId, this.deps.chargeNurses, this.deps.phoneOf);
        if (reason !== undefined) {
          // Loud: nobody will be texted. The dashboard shows charge nurses and admins a banner.
          this.deps.observer?.undeliverable(reason);
          this.deps.log.warn({ alertId: next.id, organizationId: next.organizationId, escalationLevel: next.escalationLevel, reason }, UNDELIVERABLE_MESSAGE);
        }
        for (const nurse of await this.deps.chargeNurses(next.organizationId)) {
          await this.deps.alerts.enqueueNotification({
            id: `${next.id}:${next.escalationLevel}:${nurse.id}`,
            alertId: next.id,
            channel: 'sms',
            recipientStaffId: nurse.id,
            body: escalationMessage(next),
            createdAtMs: now,
          });
        }
      }
    }
    await this.dispatch();
    return escalated;
  }

  /**
   * A snooze that ended brings the alert back to the worklist, live: the dashboards hear of it at
   * once, and its response clock restarts (a nurse deferred it on purpose; it does not come back
   * already overdue).
   */
  private async endSnoozes(): Promise<void> {
    const now = this.deps.clock.now();
    for (const alert of await this.deps.alerts.snoozesEnded(now)) {
      const next: Alert = { ...alert, snoozedUntilMs: null, slaDueAtMs: now + slaMs(alert.severity), version: alert.version + 1, updatedAtMs: now };
      const saved = await this.deps.alerts.saveTransition(next, alert.version, {
        alertId: alert.id,
        version: next.version,
        atMs: now,
        actor: 'system:snooze',
        action: 'snooze-ended',
        fromStatus: alert.status,
        toStatus: next.status,
        severity: next.severity,
        note: alert.inRange ? 'snooze ended (back in range since)' : 'snooze ended: still past the limit',
      });
      if (saved) this.deps.hub.publish({ type: 'alert', change: 'updated', alert: next });
    }
  }

  private async dispatch(): Promise<void> {
    for (const n of await this.deps.alerts.pendingNotifications(100)) {
      // The SMS continues the trace of the request whose reading raised the alert (when this process raised it).
      const origin = alertTraces.get(n.alertId);
      await inSpan('rpm.sms.send', { 'rpm.alert.id': n.alertId, 'rpm.notification.channel': n.channel, 'rpm.notification.attempt': n.attempts + 1 }, (span) => this.send(n, span), {
        kind: SpanKind.CLIENT,
        parent: origin === undefined ? ROOT_CONTEXT : contextOf(origin),
      });
    }
  }

  private async send(n: Notification, span: Span): Promise<void> {
    const now = this.deps.clock.now();
    const phone = await this.deps.phoneOf(n.recipientStaffId);
    if (phone === null) {
      span.setAttribute('rpm.notification.outcome', 'failed');
      span.setAttribute('rpm.error.code', 'no-phone');
      await this.deps.alerts.markNotification(n.id, 'failed', now, 'recipient has no phone number');
      this.deps.observer?.notification(n.channel, 'failed', 'no-phone');
      this.deps.log.warn({ notification: n.id, alertId: n.alertId, channel: n.channel, recipientStaffId: n.recipientStaffId, reason: 'no-phone' }, 'SMS escalation failed: the recipient has no phone number');
      return;
    }
    try {
      await this.deps.notifier.sendSms(phone, n.body, n.id);
      await this.deps.alerts.markNotification(n.id, 'sent', now, null);
      this.deps.observer?.notification(n.channel, 'sent', 'ok');
      span.setAttribute('rpm.notification.outcome', 'sent');
      this.deps.log.info({ notification: n.id, alertId: n.alertId, channel: n.channel, recipientStaffId: n.recipientStaffId }, 'SMS escalation sent');
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const final = n.attempts + 1 >= MAX_ATTEMPTS;
      await this.deps.alerts.markNotification(n.id, final ? 'failed' : 'pending', now, message);
      const reason = err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : 'provider-error';
      this.deps.observer?.notification(n.channel, final ? 'failed' : 'retry', reason);
      span.setAttribute('rpm.notification.outcome', final ? 'failed' : 'retry');
      failSpan(span, err);
      this.deps.log.warn(
        { err: message, notification: n.id, alertId: n.alertId, channel: n.channel, recipientStaffId: n.recipientStaffId, attempt: n.attempts + 1, final, reason },
        final ? 'SMS escalation failed; giving up' : 'SMS escalation failed; will retry',
      );
    }
  }
}
