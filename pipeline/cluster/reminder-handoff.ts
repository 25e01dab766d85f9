import type { Logger } from '../../core/logging.js';
import type { Clock } from '../../core/ports/clock.js';
import type { DelayedJobs } from '../../core/ports/delayed-jobs.js';
import type { WorkBus } from '../../core/ports/work-bus.js';
import { JOBS, REMINDERS_UNIT } from './units.js';

/** An appointment has at most a handful of jobs (two reminders, one per EHR destination per change). */
const JOBS_PER_GROUP = 100;

/**
 * A gateway's side of scheduling in the distributed mode. A booking, a change or a patient's reply
 * writes its durable jobs (reminders, FHIR Appointments) in its own transaction; after that commit,
 * this posts one BullMQ delayed job per pending durable job to the `reminders` unit, due when the
 * durable job is, with the durable job's id as its BullMQ id (posting twice is harmless) and as its
 * only data. The worker holding the unit wakes then and claims what the table says is due. The
 * table stays the truth: the holder also sweeps it (`RPM_JOB_POLL_S`, and at the next due time it
 * knows of), so a nudge lost with Redis only delays a job, never loses or repeats it.
 */
export class ReminderHandoff {
  constructor(
    private readonly deps: {
      readonly bus: WorkBus;
      readonly jobs: Pick<DelayedJobs, 'list'>;
      readonly clock: Clock;
      readonly log: Logger;
    },
  ) {}

  /** The jobs of this appointment changed (after the commit): nudge the holder at each one's due time. */
  async appointmentChanged(appointmentId: string): Promise<void> {
    const pending = (await this.deps.jobs.list({ group: `appointment:${appointmentId}`, limit: JOBS_PER_GROUP })).filter((j) => j.status === 'pending');
    if (pending.length === 0) return;
    const now = this.deps.clock.now();
    await this.deps.bus.post(
      pending.map((j) => ({ unit: REMINDERS_UNIT, id: `${JOBS.due}:${j.id}`, delayMs: Math.max(0, j.dueAtMs - now), job: { name: JOBS.due, data: { jobId: j.id } } })),
    );
  }

  /**
   * Jobs due now were written outside a booking (e.g. a visit's end): wake the holder at once.
   * Fire and forget, like `changed`.
   */
  dueNow(): void {
    this.deps.bus.post([{ unit: REMINDERS_UNIT, job: { name: JOBS.due, data: {} } }]).catch((err: unknown) => this.deps.log.warn({ err }, 'could not nudge the reminder worker (its sweep of the job table runs the jobs anyway)'));
  }

  /** Fire and forget: a nudge that cannot be posted is replaced by the holder's sweep. */
  changed(appointmentId: string): void {
    this.appointmentChanged(appointmentId).catch((err: unknown) => this.deps.log.warn({ err }, 'could not nudge the reminder worker (its sweep of the job table sends the job anyway)'));
  }
}
