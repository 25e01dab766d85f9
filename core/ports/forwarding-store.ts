import type { RpmErrorCode } from '../errors/codes.js';
import type { DeliveryStatus, Destination, DestinationAuth, PatientLink, PatientMapping } from '../model/destination.js';
import type { ReadingKind } from '../model/reading-kinds.js';
import type { Reading } from '../model/reading.js';

/**
 * FHIR destinations per organization, and the delivery outbox the reading store fills.
 *
 * Guarantees (checked by core/contract/forwarding-store.contract.ts):
 * - Destination ids are unique (RPM_ERR_FHIR_DESTINATION_EXISTS) and belong to an existing
 *   organization (RPM_ERR_ORGANIZATION_NOT_FOUND).
 * - The outbox is written by `ReadingStore.commit` in the reading's own transaction
 *   (`CommitBatch.forwards`): a committed reading has its deliveries, an uncommitted one has none,
 *   and a duplicate reading adds none. At most one delivery per (destination, reading).
 * - Deliveries are never deleted by delivery itself: they move pending → failed ⇄ pending →
 *   delivered | dead, and an operator moves failed or dead ones back to pending.
 * - `dueDeliveries` answers pending and failed deliveries whose next attempt is due, oldest
 *   first, with the reading as committed.
 * - `backfill` adds deliveries for readings already committed, never a second one for a
 *   (destination, reading) that has one (whatever its status): run twice, it adds nothing.
 * - Destination credentials and patients' identifiers at an EHR are kept encrypted by the
 *   adapter (core/crypto/field-encryption.ts); the port speaks plain values.
 */
export interface ForwardingStore {
  createDestination(destination: NewDestination): Promise<Destination>;
  /** Undefined when there is no such destination. */
  updateDestination(id: string, patch: DestinationPatch, atMs: number): Promise<Destination | undefined>;
  getDestination(id: string): Promise<Destination | undefined>;
  listDestinations(filter?: { readonly organizationId?: string }): Promise<Destination[]>;

  dueDeliveries(destinationId: string, nowMs: number, limit: number): Promise<DueDelivery[]>;
  /** When the earliest pending or failed delivery of the destination is due, if any. */
  nextDueAt(destinationId: string): Promise<number | undefined>;
  /** Records one attempt per update, all in one transaction. */
  recordAttempts(updates: readonly DeliveryUpdate[]): Promise<void>;
  listDeliveries(query: DeliveryQuery): Promise<DeliveryRecord[]>;
  countDeliveries(destinationId: string): Promise<Record<DeliveryStatus, number>>;
  /** Moves matching failed or dead deliveries back to pending, due at `nowMs`. Returns how many. */
  retryDeliveries(selector: RetrySelector, nowMs: number): Promise<number>;
  /**
   * Queues every committed reading of the destination's organization's patients that matches
   * the query and has no delivery to this destination yet. Returns how many were queued.
   */
  backfill(destinationId: string, query: BackfillQuery, nowMs: number): Promise<number>;
  /** What an operator and the metrics see of a destination's queue, cheaply (counts capped). */
  queueStats(destinationId: string, cap: number): Promise<QueueStats>;
  /** Patients with dead letters of these codes at the destination (for a re-lookup), at most `limit`. */
  patientsWithDeadLetters(destinationId: string, codes: readonly RpmErrorCode[], limit: number): Promise<string[]>;

  /** How the destination's EHR knows a patient (set by an admin, or found by a search), if recorded. */
  getPatientLink(destinationId: string, patientId: string): Promise<PatientLink | undefined>;
  listPatientLinks(destinationId: string, page: { readonly limit: number; readonly afterPatientId?: string }): Promise<PatientLink[]>;
  /**
   * Sets what an admin says (identifier and/or reference; null clears it). Clearing or changing
   * the identifier forgets a reference found by search. Throws RPM_ERR_PATIENT_NOT_FOUND for an
   * unknown patient.
   */
  setPatientLink(destinationId: string, patientId: string, link: PatientLinkInput, atMs: number): Promise<PatientLink>;
  /** Records the Patient a search found (never overrides an admin's reference). */
  recordResolvedPatient(destinationId: string, patientId: string, reference: string, atMs: number): Promise<void>;
  /** Forgets what is recorded for the patient at the destination. Returns whether there was something. */
  deletePatientLink(destinationId: string, patientId: string): Promise<boolean>;
}

export interface BackfillQuery {
  /** Measured at or after this instant. */
  readonly fromMs: number;
  /** Measured before this instant (exclusive); undefined: up to now. */
  readonly toMs?: number;
  /** Reading kinds to queue (those the destination takes, or a subset). */
  readonly kinds: readonly ReadingKind[];
}

export interface QueueStats {
  /** Pending or failed deliveries, at most the cap. */
  readonly waiting: number;
  /** When the oldest waiting delivery was queued, if any. */
  readonly oldestWaitingSinceMs: number | undefined;
  /** Dead letters, at most the cap. */
  readonly dead: number;
}

export interface PatientLinkInput {
  /** The patient's identifier value under the destination's system (e.g. the MRN); null clears it. */
  readonly identifier?: string | null;
  /** The EHR's Patient, `Patient/{id}`; null clears it. */
  readonly reference?: string | null;
}

export interface NewDestination {
  readonly id: string;
  readonly organizationId: string;
  readonly baseUrl: string;
  readonly auth: DestinationAuth;
  readonly patientMapping: PatientMapping;
  readonly kinds: readonly ReadingKind[];
  readonly enabled: boolean;
  readonly batchSize: number | null;
  readonly appointments?: boolean;
  readonly encounters?: boolean;
  readonly practitioners?: Readonly<Record<string, string>>;
  readonly createdAtMs: number;
}

export interface DestinationPatch {
  readonly baseUrl?: string;
  readonly auth?: DestinationAuth;
  readonly patientMapping?: PatientMapping;
  readonly kinds?: readonly ReadingKind[];
  readonly enabled?: boolean;
  readonly batchSize?: number | null;
  readonly appointments?: boolean;
  readonly encounters?: boolean;
  readonly practitioners?: Readonly<Record<string, string>>;
}

export interface DueDelivery {
  /** Outbox position: unique, grows with time. */
  readonly seq: number;
  readonly destinationId: string;
  readonly attempts: number;
  readonly reading: Reading;
}

/** The result of one attempt. */
export type DeliveryUpdate =
  | { readonly seq: number; readonly status: 'delivered'; readonly atMs: number; readonly refs: readonly string[] }
  | {
      readonly seq: number;
      readonly status: 'failed';
      readonly atMs: number;
      readonly nextAttemptAtMs: number;
      readonly code: RpmErrorCode;
      readonly message: string;
    }
  | {
      readonly seq: number;
      readonly status: 'dead';
      readonly atMs: number;
      readonly code: RpmErrorCode;
      readonly message: string;
      /** The FHIR server's OperationOutcome (JSON), when it sent one. */
      readonly outcome: unknown;
    };

export interface DeliveryQuery {
  readonly destinationId?: string;
  readonly statuses?: readonly DeliveryStatus[];
  readonly limit: number;
  /** Keyset paging: deliveries after this outbox position. */
  readonly afterSeq?: number;
}

export interface DeliveryRecord {
  readonly seq: number;
  readonly destinationId: string;
  readonly readingId: string;
  readonly deviceId: string;
  /** Whose reading (an opaque id); null only for a reading no longer attributed. */
  readonly patientId: string | null;
  readonly kind: ReadingKind;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly createdAtMs: number;
  readonly lastAttemptAtMs: number | null;
  readonly nextAttemptAtMs: number | null;
  readonly deliveredAtMs: number | null;
  readonly errorCode: RpmErrorCode | null;
  readonly errorMessage: string | null;
  readonly outcome: unknown;
  /** What the FHIR server calls the delivered resources, e.g. `Observation/123`. */
  readonly refs: readonly string[];
}

export interface RetrySelector {
  readonly destinationId?: string;
  readonly statuses: readonly ('failed' | 'dead')[];
  /** Only these deliveries (outbox positions). */
  readonly seqs?: readonly number[];
  /** Only deliveries whose last attempt ended with one of these codes. */
  readonly codes?: readonly RpmErrorCode[];
  /** Only deliveries of this patient's readings. */
  readonly patientId?: string;
}
