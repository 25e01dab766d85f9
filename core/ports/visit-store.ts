import type { NewVisit, Visit, VisitEndReason, VisitParticipation, VisitRole } from '../model/visit.js';
import type { NewTimeEntry } from './alert-store.js';
import type { NewDelayedJob } from './delayed-jobs.js';

/**
 * Video visits, their patient links and who was in the room (contract: core/contract/visit-store.contract.ts).
 *
 * - Link and patient-session secrets are stored only as SHA-256 hashes (`linkHash`, `sessionHash`).
 * - A link works once: `redeemLink` is atomic, so of two redemptions at once exactly one succeeds,
 *   and it fails alike for an unknown hash, a used or expired link, and an ended visit.
 * - `end` ends a visit once, closes open participations, and writes the visit's time-log entry in
 *   the same transaction (the entry is visible through `AlertStore.timeEntries` of the same store
 *   set): a visit's minutes are logged exactly when it ends, never twice.
 * - Visits are kept apart by organization: every listing names one.
 * - The jobs given with a start or an end (FHIR Encounters and Appointments to the EHRs that take
 *   them) are written in the same transaction as the change, and only when the change happened.
 */
export interface VisitStore {
  create(visit: NewVisit, linkHash: string): Promise<Visit>;
  get(id: string): Promise<Visit | undefined>;
  /** Newest first. */
  list(filter: { organizationId: string; patientId?: string; staffId?: string; appointmentId?: string; open?: boolean; limit: number }): Promise<Visit[]>;
  /** The newest visit in a provider's room (rooms are random; a hosted provider's webhook names the room). */
  byRoom(room: string): Promise<Visit | undefined>;
  /** Open visits created before `createdBeforeMs` (the sweep ends those past their longest duration). */
  openCreatedBefore(createdBeforeMs: number, limit: number): Promise<Visit[]>;
  /** A new link for an open visit (the previous one stops working); false when the visit is unknown or ended. */
  renewLink(visitId: string, linkHash: string, expiresAtMs: number): Promise<boolean>;
  /**
   * Uses the link once: when `linkHash` names an open visit's unused, unexpired link, marks it used
   * at `nowMs`, stores the patient's session (its hash) and answers the visit; otherwise undefined.
   */
  redeemLink(linkHash: string, nowMs: number, sessionHash: string): Promise<Visit | undefined>;
  /** The open visit of a patient session (from `redeemLink`); undefined once it ended. */
  visitOfPatientSession(sessionHash: string): Promise<Visit | undefined>;
  joined(visitId: string, role: VisitRole, actor: string, atMs: number): Promise<void>;
  /** Closes the actor's open participations in the visit. */
  left(visitId: string, actor: string, atMs: number): Promise<void>;
  participants(visitId: string): Promise<VisitParticipation[]>;
  /** Sets the start once (the first moment both were in), writing `jobs` with it; false (nothing written) when already set or the visit ended. */
  markStarted(visitId: string, atMs: number, jobs?: readonly NewDelayedJob[]): Promise<boolean>;
  /**
   * Ends an open visit: end time and reason, open participations closed at `endedAtMs`, and the
   * time-log entry (when given) written in the same transaction. Undefined when the visit is
   * unknown or already ended (nothing written).
   */
  end(visitId: string, endedAtMs: number, reason: VisitEndReason, timeEntry: (NewTimeEntry & { readonly endedAtMs: number }) | null, jobs?: readonly NewDelayedJob[]): Promise<Visit | undefined>;
}
