import { z } from 'zod';
import type { ComponentName, ReadingKind } from './reading-kinds.js';

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

/**
 * Confirmation of a rule that asks for a repeat measurement (severe BP): the first breach waits
 * for a repeat (`pending`); a breaching repeat at least a few minutes later confirms it; a repeat
 * back below the limit leaves it `not-confirmed`; no repeat within the window makes it `expired`
 * (the nurse calls the patient). README "Alerts and the nurse worklist" says what each means.
 */
export const CONFIRMATION_STATES = ['pending', 'confirmed', 'not-confirmed', 'expired'] as const;
export type ConfirmationState = (typeof CONFIRMATION_STATES)[number];

export type FindingComparator = '>' | '>=' | '<' | '<=';

/**
 * What a rule saw, as structured values in canonical units (never prose), so every reader sees
 * it in her own display units and time zone (core/display/describe.ts).
 */
export type Finding =
  /** One reading's values; `breached` names the components past a limit. */
  | { readonly type: 'reading'; readonly kind: ReadingKind; readonly values: Readonly<Partial<Record<ComponentName, number>>>; readonly breached: readonly ComponentName[] }
  /** Change of a value against a reference reading of the window (lowest, highest or closest). */
  | {
      readonly type: 'change';
      readonly kind: ReadingKind;
      readonly component: ComponentName;
      readonly delta: number;
      readonly from: number;
      readonly fromAtMs: number;
      readonly to: number;
      readonly windowHours: number;
    }
  /** Mean over a window (each day's readings averaged first). */
  | {
      readonly type: 'mean';
      readonly kind: ReadingKind;
      readonly means: Readonly<Partial<Record<ComponentName, number>>>;
      readonly breached: readonly ComponentName[];
      readonly days: number;
      readonly readings: number;
      readonly windowDays: number;
    }
  | {
      readonly type: 'baseline';
      readonly kind: ReadingKind;
      readonly component: ComponentName;
      readonly value: number;
      readonly baseline: number;
      readonly baselineReadings: number;
    }
  | {
      readonly type: 'count';
      readonly kind: ReadingKind;
      readonly component: ComponentName;
      readonly breaches: number;
      readonly of: number;
      readonly comparator: FindingComparator;
      readonly limit: number;
      readonly withinHours: number;
    }
  | { readonly type: 'news2'; readonly total: number; readonly risk: string; readonly scores: Readonly<Record<string, number>> }
  | { readonly type: 'missing'; readonly kind: ReadingKind; readonly lastAtMs: number | null; readonly hours: number }
  /** A reading of a kind arrived (ends a missing-data condition). */
  | { readonly type: 'received'; readonly kind: ReadingKind };

/** One moment of an alert's episode: what was seen, when it was measured, which reading. */
export interface EpisodePoint {
  readonly readingId: string | null;
  readonly atMs: number;
  readonly severity: AlertSeverity | null;
  readonly finding: Finding;
  /** The number the rule judged (the breaching value, the change, the mean, the score). */
  readonly value: number | null;
  /** How far past the limit (rule-specific scale); picks the worst point of an episode. */
  readonly badness: number;
}

/** The readings that tell an alert's story: the one that opened the episode and the worst so far. */
export interface Episode {
  readonly first: EpisodePoint;
  readonly worst: EpisodePoint;
}

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
  /** The worst reading of the episode (its values are `value`/`detail`), with `episode.worst`. */
  readonly readingId: string | null;
  readonly value: number | null;
  /** The worst finding in canonical units with units (logs, tests); people read `episode`, rendered in their units. */
  readonly detail: string;
  readonly confirmation: ConfirmationState | null;
  /** The episode's first and worst readings; null only for alerts raised before episodes were kept. */
  readonly episode: Episode | null;
  /** The rule as it was in force when the alert last changed (opaque JSON owned by rules/). */
  readonly rule: unknown;
  /** Raised from readings that reached us late (hub backfill, an offline device, later attribution). */
  readonly late: boolean;
  /** The patient is back in range but the rule wants a nurse to close the alert. */
  readonly inRange: boolean;
  readonly flapping: boolean;
  /** The episode got worse since it opened: a higher severity, or a worse value than the first reading's. */
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
  readonly action: AlertAction | 'raised' | 'updated' | 'in-range' | 'auto-resolved' | 'snooze-ended';
  readonly fromStatus: AlertStatus | null;
  readonly toStatus: AlertStatus;
  readonly severity: AlertSeverity;
  /** A nurse's note, or the engine's reason (no values: those are in `finding`). */
  readonly note: string | null;
  /** What the engine saw when it made this change, rendered for each reader. */
  readonly finding?: Finding | null;
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
