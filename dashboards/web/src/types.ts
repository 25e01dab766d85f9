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

/** What an alert's confirmation stands at (severe BP asks for a repeat reading a few minutes later). */
export type Confirmation = 'pending' | 'confirmed' | 'not-confirmed' | 'expired';

/** One reading of an alert's episode, with its own time: the values shown belong to the time shown. */
export interface EpisodePoint {
  readonly readingId: string | null;
  readonly measuredAt: string;
  /** In the reader's time zone, with the zone. */
  readonly measuredAtText: string;
  /** What the rule saw, in the reader's display units. */
  readonly text: string;
  readonly severity: Severity | null;
}

/** One term of an alert's priority: why it sits where it does. */
export interface PriorityReason {
  readonly code: string;
  readonly points: number;
  readonly label: string;
}

export interface Alert {
  readonly id: string;
  readonly patientId: string;
  readonly rule: string;
  /** What fired with its limits in the reader's units: "Severe hypertension (systolic ≥ 180 mmHg or diastolic ≥ 120 mmHg)". */
  readonly title: string;
  /** The same without limits. */
  readonly name: string;
  readonly criteria: string;
  readonly severity: Severity;
  readonly status: AlertStatus;
  readonly version: number;
  /** When the reading that opened the episode was measured. */
  readonly measuredAt: string;
  readonly measuredAtText: string;
  readonly raisedAt: string;
  readonly updatedAt: string;
  /** The episode's worst reading, in the reader's units (its time: `episode.worst`). */
  readonly detail: string;
  readonly value: number | null;
  readonly episode: { readonly first: EpisodePoint; readonly worst: EpisodePoint } | null;
  readonly confirmation: Confirmation | null;
  readonly confirmationText: string | null;
  /** The rule's sourced "what to do" line. */
  readonly action: string | null;
  /** What happens if the patient is still past the limit after a resolve. */
  readonly afterResolve: string;
  readonly inRange: boolean;
  readonly flapping: boolean;
  readonly worsening: boolean;
  /** Raised from readings that arrived late (hub backfill, an offline device). */
  readonly late: boolean;
  readonly claimedBy: string | null;
  readonly acknowledgedBy: string | null;
  readonly resolvedBy: string | null;
  readonly outcome: string | null;
  readonly note: string | null;
  readonly snoozedUntil: string | null;
  readonly escalationLevel: number;
  readonly slaDueAt: string;
  readonly timeZone: string;
  /** Unresolved alerts on the worklist and a patient's alert list; an action's answer has none. */
  readonly priority?: number;
  readonly priorityReasons?: readonly PriorityReason[];
}

export interface AlertEvent {
  readonly version: number;
  readonly at: string;
  /** In the reader's time zone, with the zone. */
  readonly atText: string;
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

export interface BreakGlassGrant {
  readonly id: string;
  readonly patientId: string;
  readonly reason: string;
  readonly grantedAt: string;
  readonly expiresAt: string;
}

export interface Me {
  readonly staff: StaffSelf;
  /** Emergency access grants in force. */
  readonly breakGlass?: readonly BreakGlassGrant[];
  readonly mfa?: { readonly enabled: boolean; readonly pending: boolean; readonly recoveryCodesLeft: number };
  readonly mfaEnrollmentRequired?: boolean;
  readonly careTeams: readonly { readonly id: string; readonly name: string }[];
  readonly expiresAt: string;
  readonly idleExpiresAt: string;
  readonly idleMinutes?: number;
}

export interface LoginResponse {
  readonly token: string;
  readonly expiresAt: string;
  readonly idleExpiresAt: string;
  readonly staff: StaffSelf;
  /** The organization requires a second factor this account does not have yet. */
  readonly mfaEnrollmentRequired?: boolean;
  /** Wrong passwords tried for this account since its previous sign-in. */
  readonly notice?: { readonly failedLoginsSinceLastSignIn: number; readonly firstFailedAt: string; readonly lastFailedAt: string };
}

export interface Colleague {
  readonly id: string;
  readonly displayName: string | null;
  readonly role: string;
  readonly isChargeNurse: boolean;
}

export type ReadingKind =
  | 'blood-pressure'
  | 'heart-rate'
  | 'spo2'
  | 'body-weight'
  | 'body-temperature'
  | 'blood-glucose'
  | 'respiratory-rate'
  | 'consciousness'
  | 'supplemental-oxygen';

export interface ReadingComponent {
  readonly name: string;
  readonly value: number;
  /** UCUM code. */
  readonly unit: string;
}

export interface Reading {
  readonly id: string;
  readonly kind: ReadingKind;
  readonly value?: number;
  readonly unit?: string;
  /** Canonical units (what the rules judge); people read `display`. */
  readonly components: readonly ReadingComponent[];
  readonly measuredAt: string;
  readonly measuredAtUtc: string;
  readonly deviceId: string;
  readonly setting: string;
  readonly entryMethod: string;
  readonly flags: readonly string[];
  /** The staff member who entered it (entryMethod manual). */
  readonly recordedBy: string | null;
  /** The reading in the reader's display units and time zone (staff sessions always get it). */
  readonly display?: {
    readonly text: string;
    readonly measuredAtText: string;
    readonly timeZone: string;
    readonly components: readonly ReadingComponent[];
  };
}

export interface ReadingsPage {
  readonly patientId: string;
  readonly readings: readonly Reading[];
  readonly nextCursor: string | null;
}

export type Comparator = '>' | '>=' | '<' | '<=';

/** Rules in force; the dashboard reads their id and kind (alert marks on charts), the rest passes through. */
export interface Rule {
  readonly type: string;
  readonly id: string;
  readonly title: string;
  readonly kind?: ReadingKind;
}

/** A single-reading limit of one component, in the reader's units: what a chart shades. */
export interface ChartBand {
  readonly kind: ReadingKind;
  readonly component: string;
  readonly comparator: Comparator;
  readonly value: number;
  readonly unit: string;
  readonly severity: Severity;
  readonly ruleId: string;
  /** E.g. "Severe hypertension ≥ 180 mmHg": the comparator exactly as the rule applies it. */
  readonly label: string;
}

export interface CarePlan {
  readonly patientId: string;
  readonly version: number;
  readonly rules: readonly Rule[];
  readonly savedBy?: string | null;
  readonly savedAt?: string | null;
  readonly plan: { readonly programs: readonly string[]; readonly riskTier?: number; readonly overrides?: Readonly<Record<string, unknown>> };
  readonly display: {
    readonly rules: readonly {
      readonly id: string;
      readonly title: string;
      readonly criteria: string;
      readonly action: string | null;
      readonly afterResolve: string;
      readonly universal: boolean;
      readonly overrideReason: string | null;
    }[];
    readonly bands: readonly ChartBand[];
  };
}

/** GET /v1/patients/{id}/news2: the score from the latest values of the last hour, or what is missing. */
export interface News2 {
  readonly status: 'complete' | 'incomplete';
  readonly total?: number;
  readonly risk?: string;
  readonly scores?: Readonly<Record<string, number>>;
  readonly missing?: readonly string[];
  readonly spo2Scale: number;
}

/** POST /v1/patients/{id}/observations (and device ingest): one outcome per reading sent. */
export interface IngestResult {
  readonly accepted: number;
  readonly duplicate: number;
  readonly rejected: number;
  readonly outcomes: readonly {
    readonly index: number;
    readonly status: 'accepted' | 'duplicate' | 'rejected';
    readonly id?: string;
    readonly code?: string;
    readonly path?: string;
    readonly message?: string;
  }[];
}

export const WEIGHT_UNITS = ['kg', '[lb_av]'] as const;
export const TEMPERATURE_UNITS = ['Cel', '[degF]'] as const;
export const GLUCOSE_UNITS = ['mg/dL', 'mmol/L'] as const;

/** Units and time zone a person reads values in. */
export interface DisplayPrefs {
  readonly weightUnit: (typeof WEIGHT_UNITS)[number];
  readonly temperatureUnit: (typeof TEMPERATURE_UNITS)[number];
  readonly glucoseUnit: (typeof GLUCOSE_UNITS)[number];
  readonly timeZone: string;
}

/** GET/PUT /v1/me/display: the organization's choice, this staff member's own over it, and the result. */
export interface DisplaySettings {
  readonly effective: DisplayPrefs;
  readonly organization: Partial<DisplayPrefs> | null;
  readonly own: Partial<DisplayPrefs> | null;
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
  readonly source?: 'timer' | 'manual';
  /** Who or what stopped the timer: the nurse, her sign-out, or the end of her session (then at her last activity). */
  readonly stopReason: 'stopped' | 'signed-out' | 'session-expired' | 'visit-started' | null;
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

/** A patient's identity (PHI; GET /v1/patients/{id}/identity). */
export interface PatientIdentity {
  readonly patientId: string;
  readonly givenName: string;
  readonly familyName: string;
  readonly birthDate: string;
  readonly age: { readonly value: number; readonly unit: 'a' };
  readonly mrn: string;
  readonly phone: string | null;
  readonly preferredLanguage: string;
  readonly timeZone: string;
  readonly version: number;
}

export interface TelehealthConsent {
  readonly id: number;
  readonly granted: boolean;
  readonly method: 'verbal' | 'written' | 'electronic';
  readonly obtainedAt: string;
  readonly recordedBy: string;
  readonly recordedAt: string;
}

/** GET /v1/patients/{id}/header: two identifiers, contact, programs, care team. */
export interface PatientHeader {
  readonly patientId: string;
  readonly identity: PatientIdentity | null;
  readonly programs: readonly string[];
  readonly careTeams: readonly { readonly id: string; readonly name: string; readonly members: readonly { readonly id: string; readonly displayName: string | null; readonly role: string }[] }[];
  readonly telehealthConsent: TelehealthConsent | null;
}

export type AppointmentStatus = 'booked' | 'cancelled' | 'completed' | 'no-show';

/** A visit (GET /v1/appointments/{id}). */
export interface Appointment {
  readonly id: string;
  readonly patientId: string;
  readonly staffId: string;
  readonly typeId: string;
  readonly modality: 'video' | 'phone' | 'in-person';
  readonly start: string;
  readonly end: string;
  readonly durationMinutes: number;
  readonly status: AppointmentStatus;
  readonly version: number;
  readonly patientResponse: 'confirmed' | 'reschedule-requested' | null;
}

/** A row of my day: the visit and the patient's two identifiers. */
export interface DayVisit extends Appointment {
  readonly typeName: string;
  readonly patient: { readonly name: string | null; readonly birthDate: string | null; readonly age: { readonly value: number; readonly unit: 'a' } | null; readonly mrn: string | null };
}

export interface AppointmentType {
  readonly id: string;
  readonly name: string;
  readonly durationMinutes: number;
  readonly modality: 'video' | 'phone' | 'in-person';
}

/** GET /v1/roster: every patient in scope. */
export interface RosterRow {
  readonly patientId: string;
  readonly identity: { readonly name: string; readonly birthDate: string; readonly ageYears: number; readonly mrn: string } | null;
  readonly programs: readonly string[];
  readonly riskTier: number;
  readonly careTeams: readonly { readonly id: string; readonly name: string }[];
  readonly mine: boolean;
  readonly lastReadings: readonly { readonly kind: string; readonly text: string; readonly measuredAt: string; readonly measuredAtText: string; readonly manual: boolean }[];
  readonly devicePeriod: {
    readonly start: string;
    readonly end: string;
    readonly days: number;
    readonly target: number;
    readonly daysToGo: number;
    readonly daysLeft: number;
    readonly codeSoFar: string | null;
  } | null;
  readonly management: { readonly month: string; readonly minutes: number; readonly interactiveContacts: number; readonly marks: readonly number[]; readonly codeSoFar: string | null } | null;
  readonly openAlerts: number;
  readonly topSeverity: Severity | null;
  readonly priority: number;
  readonly devices: readonly {
    readonly id: string;
    readonly kind: string;
    readonly transmission: 'transmitting' | 'not-transmitting' | 'never-seen' | 'revoked';
    readonly lastContactAt: string | null;
    readonly lowBattery: boolean;
    readonly batteryPercent: number | null;
    readonly viaHub: string | null;
  }[];
  readonly deviceProblem: boolean;
}

export interface RosterResponse {
  readonly generatedAt: string;
  readonly total: number;
  readonly rows: readonly RosterRow[];
}
