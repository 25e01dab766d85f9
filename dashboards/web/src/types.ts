/**
 * The public HTTP API as the dashboard uses it (see /docs/json). Written out here rather than
 * imported from the gateway: the app depends on the API, never on server code.
 */

export type Severity = 'low' | 'medium' | 'high' | 'critical';
export type AlertStatus = 'open' | 'claimed' | 'acknowledged' | 'resolved';
export type AlertAction = 'claim' | 'acknowledge' | 'resolve' | 'snooze' | 'escalate' | 'release';

export const RESOLUTION_OUTCOMES = [
  'contacted-patient',
  'treated-at-home',
  'care-plan-changed',
  'escalated-to-provider',
  'sent-to-emergency',
  'false-alarm',
  'device-issue',
  'other',
] as const;
export type ResolutionOutcome = (typeof RESOLUTION_OUTCOMES)[number] | 'auto-resolved';

export interface Alert {
  readonly id: string;
  readonly patientId: string;
  readonly rule: string;
  readonly title: string;
  readonly severity: Severity;
  readonly status: AlertStatus;
  readonly version: number;
  readonly measuredAt: string;
  readonly raisedAt: string;
  readonly updatedAt: string;
  readonly detail: string;
  readonly value: number | null;
  readonly confirmation: 'pending' | 'confirmed' | null;
  readonly inRange: boolean;
  readonly flapping: boolean;
  readonly worsening: boolean;
  readonly claimedBy: string | null;
  readonly acknowledgedBy: string | null;
  readonly resolvedBy: string | null;
  readonly outcome: string | null;
  readonly note: string | null;
  readonly snoozedUntil: string | null;
  readonly escalationLevel: number;
  readonly slaDueAt: string;
  readonly priority?: number;
}

export interface AlertEvent {
  readonly version: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly fromStatus: string | null;
  readonly toStatus: string;
  readonly severity: string;
  readonly note: string | null;
}

export interface WorklistResponse {
  readonly generatedAt: string;
  readonly patients: readonly { readonly patientId: string; readonly priority: number; readonly alerts: readonly Alert[] }[];
}

export interface StreamEvent {
  readonly change: 'created' | 'updated' | 'transition' | 'escalated';
  readonly alert: Alert;
}

export interface StaffSelf {
  readonly id: string;
  readonly email: string;
  readonly role: 'nurse' | 'physician' | 'admin';
  readonly organizationId: string;
  readonly displayName: string | null;
  readonly isChargeNurse: boolean;
}

export interface Me {
  readonly staff: StaffSelf;
  readonly careTeams: readonly { readonly id: string; readonly name: string }[];
  readonly expiresAt: string;
  readonly idleExpiresAt: string;
}

export interface LoginResponse {
  readonly token: string;
  readonly expiresAt: string;
  readonly idleExpiresAt: string;
  readonly staff: StaffSelf;
  /** Wrong passwords tried for this account since its previous sign-in. */
  readonly notice?: { readonly failedLoginsSinceLastSignIn: number; readonly firstFailedAt: string; readonly lastFailedAt: string };
}

export interface Colleague {
  readonly id: string;
  readonly displayName: string | null;
  readonly role: string;
  readonly isChargeNurse: boolean;
}

export type ReadingKind = 'blood-pressure' | 'heart-rate' | 'spo2' | 'body-weight' | 'body-temperature' | 'blood-glucose' | 'respiratory-rate';

export interface Reading {
  readonly id: string;
  readonly kind: ReadingKind;
  readonly value?: number;
  readonly unit?: string;
  readonly components: readonly { readonly name: string; readonly value: number; readonly unit: string }[];
  readonly measuredAt: string;
  readonly measuredAtUtc: string;
  readonly deviceId: string;
  readonly setting: string;
  readonly entryMethod: string;
  readonly flags: readonly string[];
}

export interface ReadingsPage {
  readonly patientId: string;
  readonly readings: readonly Reading[];
  readonly nextCursor: string | null;
}

export type Comparator = '>' | '>=' | '<' | '<=';

export interface ThresholdLimit {
  readonly component: string;
  readonly comparator: Comparator;
  readonly tiers: readonly { readonly severity: Severity; readonly value: number }[];
}

/** Rules in force; only what the charts use is typed, the rest passes through. */
export type Rule =
  | { readonly type: 'threshold'; readonly id: string; readonly title: string; readonly enabled: boolean; readonly kind: ReadingKind; readonly limits: readonly ThresholdLimit[] }
  | { readonly type: Exclude<string, 'threshold'>; readonly id: string; readonly title: string; readonly enabled: boolean; readonly kind?: ReadingKind };

export interface CarePlan {
  readonly patientId: string;
  readonly version: number;
  readonly rules: readonly Rule[];
  readonly plan: { readonly programs: readonly string[]; readonly riskTier?: number };
}

export interface PatientDevice {
  readonly id: string;
  readonly kind: string;
  readonly manufacturer: string | null;
  readonly model: string | null;
  readonly status: 'active' | 'revoked';
  readonly assignedFrom: string;
  readonly lastSeenAt: string | null;
  readonly online: boolean;
  readonly batteryPercent: number | null;
  readonly batteryAt: string | null;
}

export interface TimeEntry {
  readonly id: string;
  readonly patientId: string;
  readonly staffId: string;
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly minutes: number | null;
  readonly interactive: boolean;
  readonly note: string | null;
}

export interface TimeMonth {
  readonly month: string;
  readonly totalMinutes: number;
  readonly interactiveMinutes: number;
  readonly entries: readonly TimeEntry[];
}

/** RFC 9457 problem details with the gateway's stable `code`. */
export interface Problem {
  readonly status: number;
  readonly code?: string;
  readonly title?: string;
  readonly detail?: string;
  /** Extensions, e.g. on 409 RPM_ERR_ALERT_CONFLICT: version, alertStatus, claimedBy. */
  readonly [extension: string]: unknown;
}
