import { partitionLeaseName, type RulePartition } from '../../core/cluster/partitions.js';

/**
 * The units of work of the distributed mode, by lease name (also their mailbox on the WorkBus).
 * Each is held by one worker at a time (WorkOwner).
 */
export const rulesUnit = (p: RulePartition): string => partitionLeaseName(p);
export const fhirUnit = (destinationId: string): string => `fhir:${destinationId}`;
/** The time-series writer (one follower of the reading log for the cluster). */
export const TIMESERIES_UNIT = 'timeseries';
/** The cluster's clock-driven work: SLA escalation and its SMS, snooze ends, timers of ended sessions. */
export const TIMERS_UNIT = 'timers';
/**
 * Scheduling's durable delayed jobs (visit reminders by SMS, FHIR Appointments): the job table is
 * the record; BullMQ delayed jobs named by the durable job's id wake the holder at the due time.
 */
export const REMINDERS_UNIT = 'reminders';

export function partitionOfUnit(unit: string): RulePartition | undefined {
  const m = /^rules:(\d+):(\d+)$/.exec(unit);
  return m === null ? undefined : { count: Number(m[1]), index: Number(m[2]) };
}

export function destinationOfUnit(unit: string): string | undefined {
  return unit.startsWith('fhir:') ? unit.slice('fhir:'.length) : undefined;
}

/** Job names on the units' mailboxes. */
export const JOBS = {
  /** Readings were committed (rules, FHIR, time series): catch up from the durable position. */
  committed: 'committed',
  /** The attribution log grew (an assignment or a nurse's confirmation). */
  attributed: 'attributed',
  sweepClock: 'sweep-clock',
  sweepMissing: 'sweep-missing',
  sla: 'sla',
  timerSweep: 'timer-sweep',
  /** An operator mapped a patient at a destination: forget the cached lookup. */
  patientMapped: 'patient-mapped',
  /** Destination settings changed. */
  refresh: 'refresh',
  /** A durable scheduling job is due (data: its id only): claim what is due now. */
  due: 'due',
} as const;
