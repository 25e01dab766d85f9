import { RpmError } from '../../core/errors/rpm-error.js';
import type { Logger } from '../../core/logging.js';
import type { AuditLog } from '../../core/ports/audit-log.js';
import type { Clock } from '../../core/ports/clock.js';
import type { DelayedJob, DelayedJobs } from '../../core/ports/delayed-jobs.js';
import type { Notifier } from '../../core/ports/notifier.js';
import type { SchedulingStore } from '../../core/ports/scheduling-store.js';
import type { ReminderKind } from '../../rules/calendar.js';
import type { PatientIdentityService } from '../patients/patient-identity-service.js';
import { reminderText } from './reminder-text.js';
import { REMINDER_JOB } from './scheduling-service.js';

const MAX_ATTEMPTS = 5;

/** Another kind of scheduling job run by the same loop (FHIR Appointments to EHRs). */
export interface JobHandler {
  readonly kind: string;
  /** Does the job; answers the result to record. Throws to retry with backoff. */
  run(job: DelayedJob): Promise<string>;
}
const BATCH = 20;

/**
 * Sends visit reminders from the durable job table. A job is claimed under a lease, sent with its
 * id as Twilio's idempotency token (a resend after a crash mid-send is dropped by Twilio), and
 * marked done; one whose appointment was cancelled or moved is skipped. Failures retry with
 * backoff (1, 2, 4, 8 min), then the job is dead. The phone number is read at send time, never
 * stored in the job; nothing of the message is logged.
 *
 * Wakes at the next due time (and at least every `pollMs`), and at once on `kick()`.
 */
export class ReminderWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;

  constructor(
    private readonly deps: {
      readonly jobs: DelayedJobs;
      readonly store: SchedulingStore;
      readonly identities: PatientIdentityService;
      readonly notifier: Notifier;
      readonly audit: AuditLog;
      readonly clock: Clock;
      readonly log: Logger;
      readonly owner: string;
      readonly leaseMs: number;
      readonly pollMs: number;
      readonly handlers?: readonly JobHandler[];
    },
  ) {}

  /**
   * `recover`: jobs marked running are taken back at once: those the single process held before a
   * crash, or those of the previous holder of the distributed mode's `reminders` unit (whose lease
   * ended with it). Only where no one else runs jobs.
   */
  async start(options: { recover: boolean }): Promise<void> {
    this.stopped = false;
    if (options.recover) {
      const released = await this.deps.jobs.releaseAll();
      if (released > 0) this.deps.log.info({ jobs: released }, 'reminder jobs held before a restart are due again');
    }
    this.kick();
  }

  kick(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.runOnce()
      .then(() => undefined)
      .catch((err: unknown) => this.deps.log.error({ err }, 'reminder pass failed'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        } else void this.arm();
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: every due job, in batches. Answers how many were sent. */
  async runOnce(): Promise<number> {
    let sent = 0;
    for (;;) {
      const jobs = await this.deps.jobs.claimDue({ nowMs: this.deps.clock.now(), limit: BATCH, owner: this.deps.owner, leaseMs: this.deps.leaseMs, kinds: [REMINDER_JOB, ...(this.deps.handlers ?? []).map((h) => h.kind)] });
      for (const job of jobs) if ((await this.process(job)) === 'sent') sent++;
      if (jobs.length < BATCH || this.stopped) return sent;
    }
  }

  private async arm(): Promise<void> {
    if (this.stopped) return;
    const next = await this.deps.jobs.nextDueAt().catch(() => undefined);
    const wait = next === undefined ? this.deps.pollMs : Math.max(0, Math.min(this.deps.pollMs, next - this.deps.clock.now()));
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), wait + 5);
    this.timer.unref();
  }

  private async process(job: DelayedJob): Promise<'sent' | 'skipped' | 'failed'> {
    const handler = this.deps.handlers?.find((h) => h.kind === job.kind);
    if (handler !== undefined) return this.runHandler(handler, job);
    const { jobs, clock, owner } = this.deps;
    const appointmentId = String(job.payload.appointmentId);
    const skip = async (result: string): Promise<'skipped'> => {
      await jobs.complete(job.id, owner, { atMs: clock.now(), result });
      return 'skipped';
    };
    try {
      const appointment = await this.deps.store.getAppointment(appointmentId);
      if (appointment === undefined || appointment.status !== 'booked') return await skip('skipped:not-booked');
      if (appointment.startMs !== Number(job.payload.startMs)) return await skip('skipped:moved');
      if (clock.now() >= appointment.startMs) return await skip('skipped:started');
      const contact = await this.deps.identities.contactOf(appointment.patientId);
      if (contact === undefined || contact.phone === null) return await skip('skipped:no-phone');
      const body = reminderText({ kind: job.payload.reminder as ReminderKind, startMs: appointment.startMs, modality: appointment.modality, timeZone: contact.timeZone, preferredLanguage: contact.preferredLanguage });
      const { providerId } = await this.deps.notifier.sendSms(contact.phone, body, job.id);
      if (!(await jobs.complete(job.id, owner, { atMs: clock.now(), result: 'sent' }))) {
        this.deps.log.warn({ job: job.id }, 'reminder sent after its lease passed to another process (Twilio drops the repeat by idempotency token)');
      }
      await this.deps.audit.record({
        atMs: clock.now(),
        actor: 'system:reminders',
        action: 'sms.reminder',
        subject: `patient:${appointment.patientId}`,
        outcome: 'success',
        sourceIp: null,
        details: { appointmentId, reminder: String(job.payload.reminder), providerId },
      });
      return 'sent';
    } catch (err) {
      const code = err instanceof RpmError ? err.code : 'RPM_ERR_INTERNAL';
      const dead = job.attempts >= MAX_ATTEMPTS;
      const nextAtMs = clock.now() + 60_000 * 2 ** Math.min(job.attempts - 1, 4);
      this.deps.log.warn({ job: job.id, code, attempt: job.attempts, dead }, 'visit reminder not sent');
      await jobs.retry(job.id, owner, { atMs: clock.now(), nextAtMs, error: code, dead }).catch(() => undefined);
      return 'failed';
    }
  }

  private async runHandler(handler: JobHandler, job: DelayedJob): Promise<'skipped' | 'failed'> {
    const { jobs, clock, owner } = this.deps;
    try {
      await jobs.complete(job.id, owner, { atMs: clock.now(), result: await handler.run(job) });
      return 'skipped';
    } catch (err) {
      const code = err instanceof RpmError ? err.code : 'RPM_ERR_INTERNAL';
      const dead = job.attempts >= MAX_ATTEMPTS * 2;
      const nextAtMs = clock.now() + 30_000 * 2 ** Math.min(job.attempts - 1, 6);
      this.deps.log.warn({ job: job.id, code, attempt: job.attempts, dead }, `${handler.kind} job failed`);
      await jobs.retry(job.id, owner, { atMs: clock.now(), nextAtMs, error: code, dead }).catch(() => undefined);
      return 'failed';
    }
  }
}
