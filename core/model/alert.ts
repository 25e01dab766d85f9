import { z } from 'zod';

export const ALERT_SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

/** open → claimed → acknowledged → resolved; snooze and escalation are marks on an unresolved alert. */
export const ALERT_STATUSES = ['open', 'claimed', 'acknowledged', 'resolved'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

export const RESOLUTION_OUTCOMES = [
  'contacted-patient',
  'treated-at-home',
  'care-plan-changed',
  'escalated-to-provider',
  'sent-to-emergency',
  'false-alarm',
  'device-issue',
  'auto-resolved',
  'other',
] as const;
export type ResolutionOutcome = (typeof RESOLUTION_OUTCOMES)[number];

/** One alert: one per patient × rule while unresolved. Every change bumps `version`. */
export interface Alert {
  readonly id: string;
  readonly organizationId: string | null;
  readonly patientId: string;
  readonly ruleId: string;
  readonly ruleTitle: string;
  readonly severity: AlertSeverity;
  readonly status: AlertStatus;
  readonly version: number;
  /** Measurement time of the reading that raised it (not when we noticed). */
  readonly measuredAtMs: number;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  readonly readingId: string | null;
  readonly value: number | null;
  readonly detail: string;
  readonly confirmation: 'pending' | 'confirmed' | null;
  /** The patient is back in range but the rule wants a nurse to close the alert. */
  readonly inRange: boolean;
  readonly flapping: boolean;
  /** Severity rose since the alert opened. */
  readonly worsening: boolean;
  readonly claimedBy: string | null;
  readonly claimedAtMs: number | null;
  readonly acknowledgedBy: string | null;
  readonly acknowledgedAtMs: number | null;
  readonly resolvedBy: string | null;
  readonly resolvedAtMs: number | null;
  readonly outcome: ResolutionOutcome | null;
  readonly note: string | null;
  readonly snoozedUntilMs: number | null;
  readonly escalationLevel: number;
  readonly escalatedAtMs: number | null;
  /** When the alert breaches its SLA if nobody acknowledges it. */
  readonly slaDueAtMs: number;
}

/** One versioned transition in an alert's history. */
export interface AlertEvent {
  readonly alertId: string;
  readonly version: number;
  readonly atMs: number;
  readonly actor: string;
  readonly action: AlertAction | 'raised' | 'updated' | 'in-range' | 'auto-resolved';
  readonly fromStatus: AlertStatus | null;
  readonly toStatus: AlertStatus;
  readonly severity: AlertSeverity;
  readonly note: string | null;
}

export const ALERT_ACTIONS = ['claim', 'acknowledge', 'resolve', 'snooze', 'escalate', 'release'] as const;
export type AlertAction = (typeof ALERT_ACTIONS)[number];

export const alertActionBody = z.object({
  /** Optimistic concurrency: the version the nurse saw. A stale one gets 409. */
  version: z.number().int().positive().optional(),
  outcome: z.enum(RESOLUTION_OUTCOMES).optional(),
  note: z.string().max(4000).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  reason: z.string().max(1000).optional(),
});
export type AlertActionBody = z.infer<typeof alertActionBody>;
