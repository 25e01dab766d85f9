import type { RpmErrorCode } from '../errors/codes.js';
import type { DeliveryStatus, Destination, DestinationAuth, PatientMapping } from '../model/destination.js';
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
  readonly createdAtMs: number;
}

export interface DestinationPatch {
  readonly baseUrl?: string;
  readonly auth?: DestinationAuth;
  readonly patientMapping?: PatientMapping;
  readonly kinds?: readonly ReadingKind[];
  readonly enabled?: boolean;
  readonly batchSize?: number | null;
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
}
