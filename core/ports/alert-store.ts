import { RpmError } from '../errors/rpm-error.js';
import { TIME_MODALITIES, type TimeModality } from '../model/visit.js';
import type { RulePartition } from '../cluster/partitions.js';
import type { Alert, AlertEvent, AlertSeverity, AlertStatus } from '../model/alert.js';

/**
 * Clinical state derived from readings: alerts with their versioned history, the rule engine's
 * per-patient condition states and its cursor into the reading log, care plans (versioned),
 * nurse time entries and the escalation notification outbox.
 *
 * Guarantees (core/contract/alert-store.contract.ts):
 * - `applyEvaluation` is fenced: with `fence`, it writes only if the cursor is still at the fence.
 * - `applyEvaluation` is atomic: the cursor, condition states, new and updated alerts and their
 *   events are written together or not at all; so after a crash evaluation resumes at the
 *   cursor and nothing is raised twice or lost.
 * - At most one unresolved alert per (patient, rule).
 * - `saveTransition` writes only if the stored version is the expected one (optimistic
 *   concurrency): of two concurrent transitions exactly one succeeds.
 * - Care plans are never overwritten: each save is a new version; a stale expected version fails.
 */
export interface AlertStore {
  /**
   * Where the engine stands in the reading log: the single engine's cursor, or a rule partition's
   * (which starts where the single engine's stood, so moving to workers re-judges nothing).
   */
  evaluationCursor(partition?: RulePartition): Promise<number>;
  /** Persisted condition states of a patient, by rule id (opaque JSON owned by rules/). */
  conditionStates(patientId: string): Promise<Map<string, unknown>>;
  applyEvaluation(write: EvaluationWrite): Promise<void>;

  getAlert(id: string): Promise<Alert | undefined>;
  unresolvedAlert(patientId: string, ruleId: string): Promise<Alert | undefined>;
  /** Unresolved alerts, optionally limited to some organizations or patients. */
  unresolvedAlerts(filter: { organizationId?: string; patientIds?: readonly string[] }): Promise<Alert[]>;
  alertsOfPatient(patientId: string, options: { includeResolved: boolean; limit: number }): Promise<Alert[]>;
  /**
   * The patient moved to another organization: its unresolved alerts go with it (the new
   * organization's nurses work them, its charge nurses are escalated to); resolved ones stay the
   * record of the organization that resolved them. Not a lifecycle transition: versions unchanged.
   * Answers the alerts as they are now.
   */
  moveUnresolvedAlerts(patientId: string, organizationId: string | null): Promise<Alert[]>;
  events(alertId: string): Promise<AlertEvent[]>;
  /** Store `next` if the alert is still at `expectedVersion`; false when someone else won. */
  saveTransition(next: Alert, expectedVersion: number, event: AlertEvent): Promise<boolean>;
  /** Unacknowledged, unsnoozed alerts whose SLA deadline passed and that were not escalated since. */
  dueForEscalation(nowMs: number): Promise<Alert[]>;
  /** The most recently resolved alert of a patient × rule (did a nurse resolve a still-breaching episode?). */
  lastResolvedAlert(patientId: string, ruleId: string): Promise<Alert | undefined>;
  /** Unresolved alerts waiting for a repeat reading (their wait expires on the clock). */
  pendingConfirmations(): Promise<Alert[]>;
  /** Unresolved alerts whose snooze has ended (they come back to the worklist). */
  snoozesEnded(nowMs: number): Promise<Alert[]>;

  carePlan(patientId: string): Promise<StoredCarePlan | undefined>;
  /** Saves a new version; fails with RPM_ERR_CARE_PLAN_VERSION_CONFLICT if `expectedVersion` is stale. */
  saveCarePlan(patientId: string, plan: unknown, expectedVersion: number | null, actor: string, atMs: number): Promise<StoredCarePlan>;
  carePlanHistory(patientId: string): Promise<StoredCarePlan[]>;
  /** Patients that have a care plan (the default plan has no clock-driven rules). */
  carePlanPatients(): Promise<string[]>;

  startTime(entry: NewTimeEntry): Promise<TimeEntry>;
  /** Stops a running entry (never before it started); `reason` says who or what stopped it. */
  stopTime(id: string, endedAtMs: number, reason?: TimeStopReason): Promise<TimeEntry | undefined>;
  addTime(entry: NewTimeEntry & { endedAtMs: number }): Promise<TimeEntry>;
  timeEntries(filter: { patientId?: string; staffId?: string; fromMs?: number; toMs?: number; running?: boolean }): Promise<TimeEntry[]>;

  enqueueNotification(n: NewNotification): Promise<void>;
  pendingNotifications(limit: number): Promise<Notification[]>;
  /** Unresolved alerts counted by severity and status (metrics; one grouped query). */
  openAlertCounts(): Promise<{ readonly severity: AlertSeverity; readonly status: AlertStatus; readonly count: number }[]>;
  /** 'pending' records a failed attempt that will be retried. */
  markNotification(id: string, status: 'pending' | 'sent' | 'failed', atMs: number, error: string | null): Promise<void>;
  close(): Promise<void>;
}

export interface EvaluationWrite {
  readonly cursor: number;
  /** The rule partition whose cursor moves (none: the single engine's). */
  readonly partition?: RulePartition;
  /**
   * The cursor the pass started from. When given, nothing is written unless the stored cursor is
   * still there (RPM_ERR_CURSOR_MOVED): a worker that lost its partition to another mid-pass
   * writes nothing, so every reading's effects on alerts happen once.
   */
  readonly fence?: number;
  /** A follower position (`ProgressStore`) that moves with this write (the engine's place in the attribution log). */
  readonly progress?: { readonly name: string; readonly seq: number };
  readonly conditions: readonly { readonly patientId: string; readonly ruleId: string; readonly state: unknown }[];
  readonly created: readonly Alert[];
  /**
   * Updates by the engine (not nurses): each bumps the alert's version, and applies only if the
   * stored alert is still at the version the pass read it at (`expectedVersions`, by alert id).
   * Otherwise nothing of the write is stored (RPM_ERR_ALERT_CHANGED) and the engine judges again
   * from the alert as it is now: a nurse's claim, acknowledgement or resolve committed while the
   * pass ran is never overwritten.
   */
  readonly updated: readonly Alert[];
  /** The stored version each updated alert was read at; every id in `updated` has one. */
  readonly expectedVersions: ReadonlyMap<string, number>;
  readonly events: readonly AlertEvent[];
}

export interface StoredCarePlan {
  readonly patientId: string;
  readonly version: number;
  readonly plan: unknown;
  readonly savedBy: string;
  readonly savedAtMs: number;
}

export interface NewTimeEntry {
  readonly id: string;
  readonly organizationId: string | null;
  readonly patientId: string;
  readonly staffId: string;
  readonly startedAtMs: number;
  /** Interactive communication (a live call or video) counts differently for billing. */
  readonly interactive: boolean;
  /**
   * How the interaction happened (billing.md §3.2 rule 5: real-time audio, with or without video;
   * secure messaging alone is not a real-time interactive contact). A video visit writes its own
   * modality ('video' or 'audio'). Null or absent: not recorded.
   */
  readonly modality?: TimeModality | null;
  readonly note: string | null;
  /** A timer, typed in afterwards, or a video visit's minutes (written when the visit ends). */
  readonly source: 'timer' | 'manual' | 'visit';
}

/**
 * Why a timer stopped: the staff member stopped it, her session ended with it running, or a video
 * visit of hers with the same patient started (the visit's entry takes the time from there).
 */
export type TimeStopReason = 'stopped' | 'signed-out' | 'session-expired' | 'visit-started';

/** One list of modalities for time entries, shared with video visits (core/model/visit.ts). */
export { TIME_MODALITIES, type TimeModality };

export interface TimeEntry extends NewTimeEntry {
  readonly modality: TimeModality | null;
  readonly endedAtMs: number | null;
  /** null while running and for entries typed in afterwards. */
  readonly stopReason: TimeStopReason | null;
}

export interface NewNotification {
  readonly id: string;
  readonly alertId: string;
  readonly channel: 'sms';
  /** Staff id of the recipient; the phone number is looked up at send time, never stored here. */
  readonly recipientStaffId: string;
  /** Text without PHI. */
  readonly body: string;
  readonly createdAtMs: number;
}

export interface Notification extends NewNotification {
  readonly status: 'pending' | 'sent' | 'failed';
  readonly attempts: number;
}

/** The version the pass read an updated alert at (`EvaluationWrite.expectedVersions`); none is a defect of the engine. */
export function expectedVersion(write: EvaluationWrite, alertId: string): number {
  const version = write.expectedVersions.get(alertId);
  if (version === undefined) throw new RpmError('RPM_ERR_INTERNAL', 'an engine update of an alert without the version it was read at');
  return version;
}

/** An updated alert is no longer at the version the pass read: nothing of the write is stored. */
export function alertChanged(alertId: string): RpmError {
  return new RpmError('RPM_ERR_ALERT_CHANGED', `alert ${alertId} changed while the rules judged it; the pass is judged again`);
}
