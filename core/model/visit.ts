/**
 * Video visits (README "Video visits and scheduling"): a staff member calls a patient, who joins
 * from a single-use link sent by SMS. A visit names its room at a video provider by an opaque
 * random name; nothing about the patient reaches the provider.
 */

export const VIDEO_PROVIDERS = ['embedded', 'livekit', 'jitsi'] as const;
export type VideoProviderKind = (typeof VIDEO_PROVIDERS)[number];

/**
 * How an interaction with a patient was held, as recorded on a time entry (core/ports/alert-store.ts
 * TimeEntry.modality) and read by billing (rules/billing/ledger.ts): a video call, an audio-only
 * call, or secure messages. Billing (billing.md §3.2 rule 5) counts real-time audio, with or
 * without video, as interactive communication; secure messaging alone never does.
 */
export const TIME_MODALITIES = ['video', 'audio', 'secure-message'] as const;
export type TimeModality = (typeof TIME_MODALITIES)[number];

/** How the visit was held (the real-time subset of TimeModality); billing counts both as interactive communication. */
export const VISIT_MODALITIES = ['video', 'audio'] as const satisfies readonly TimeModality[];
export type VisitModality = (typeof VISIT_MODALITIES)[number];

/** Why a visit ended: a staff member ended it, cancelled it before the patient came, or it ran past its longest allowed duration. */
export type VisitEndReason = 'ended' | 'cancelled' | 'expired';

export type VisitRole = 'staff' | 'patient';

export interface NewVisit {
  readonly id: string;
  readonly organizationId: string;
  readonly patientId: string;
  /** The treating staff member: the visit's minutes go to her time log. */
  readonly staffId: string;
  /** The alert the visit was started from, if any. */
  readonly alertId: string | null;
  /** The booked appointment the visit was started from, if any (it moves to completed when the visit ends with both in). */
  readonly appointmentId: string | null;
  readonly provider: VideoProviderKind;
  /** The provider's room: random, opaque, never derived from the patient. */
  readonly room: string;
  readonly modality: VisitModality;
  readonly createdAtMs: number;
  /** When the patient's link stops working (used or not). */
  readonly linkExpiresAtMs: number;
}

export interface Visit extends NewVisit {
  /** The first moment staff and patient were both in the room; null until then. */
  readonly startedAtMs: number | null;
  readonly endedAtMs: number | null;
  readonly endReason: VisitEndReason | null;
  /** When the patient's link was used (it works once). */
  readonly linkUsedAtMs: number | null;
  /** The time-log entry the visit's minutes became (null: ended before both were in). */
  readonly timeEntryId: string | null;
}

/** One presence of one participant in the room (a participant who reconnects has several). */
export interface VisitParticipation {
  readonly visitId: string;
  readonly role: VisitRole;
  /** `staff:<id>`, or `patient` (the patient has no account). */
  readonly actor: string;
  readonly joinedAtMs: number;
  readonly leftAtMs: number | null;
}
