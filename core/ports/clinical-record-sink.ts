import type { RpmErrorCode } from '../errors/codes.js';
import type { Destination } from '../model/destination.js';
import type { Reading } from '../model/reading.js';
import type { Device } from '../model/registry.js';

/**
 * An external clinical record system readings are delivered to (an EHR speaking FHIR R4:
 * connectors/fhir). The delivery worker (pipeline/delivery-worker.ts) owns retries, backoff,
 * the circuit breaker and the outbox; a sink only maps and sends.
 *
 * Promises:
 * - Delivery is idempotent at the EHR: sending the same reading again, after a lost answer or
 *   a crash, never creates a second record there.
 * - `deliver` answers one result per item, in order. A failure of the whole exchange (server
 *   unreachable, timeout, 5xx, 429, bad credentials) is thrown as an RpmError
 *   (RPM_ERR_UPSTREAM_FHIR, RPM_ERR_UPSTREAM_FHIR_AUTH); a problem with one item is that item's result,
 *   so one bad reading never blocks the others.
 * - Errors of client libraries never leak past the sink: only RpmErrors, with our codes.
 */
export interface ClinicalRecordSink {
  deliver(destination: Destination, items: readonly DeliveryItem[], signal?: AbortSignal): Promise<DeliveryResult[]>;
  /**
   * The EHR's Patient carrying this identifier (`GET Patient?identifier=system|value`). Failures
   * of the exchange are thrown like `deliver`'s.
   */
  findPatient(destination: Destination, identifier: PatientIdentifier, signal?: AbortSignal): Promise<PatientLookup>;
  /** Drop what is cached about a destination (capabilities, tokens, device references) after it changed. */
  forget(destinationId: string): void;
  /** What the sink learned about the destination, for operators; undefined before the first exchange. */
  describe(destinationId: string): SinkDescription | undefined;
}

export interface DeliveryItem {
  readonly reading: Reading;
  /** Who the reading is about, as the EHR knows them (resolved by the delivery worker). */
  readonly patient: PatientTarget;
  /** The measuring device, from the registry. */
  readonly device: Device | undefined;
  /** The hub that relayed the reading, if any. */
  readonly hub: Device | undefined;
}

export interface PatientIdentifier {
  readonly system: string;
  readonly value: string;
}

/**
 * How an Observation names its patient: a literal reference (`Patient/123`), a logical one
 * (`subject.identifier`), or a conditional reference (`Patient?identifier=system|value`) that the
 * EHR resolves when it stores the Observation.
 */
export type PatientTarget =
  | { readonly kind: 'literal'; readonly reference: string }
  | { readonly kind: 'logical'; readonly identifier: PatientIdentifier }
  | { readonly kind: 'conditional'; readonly identifier: PatientIdentifier };

export type PatientLookup =
  | { readonly status: 'found'; readonly reference: string }
  | { readonly status: 'unknown' }
  | { readonly status: 'ambiguous'; readonly matches: number };

export type DeliveryResult =
  | { readonly status: 'delivered'; readonly refs: readonly string[] }
  | { readonly status: 'retry'; readonly code: RpmErrorCode; readonly message: string }
  | { readonly status: 'dead'; readonly code: RpmErrorCode; readonly message: string; readonly outcome: unknown };

export interface SinkDescription {
  /** How resources are written without duplicates, as chosen from the server's CapabilityStatement. */
  readonly interaction: 'conditional-create' | 'update-as-create' | 'search-then-create';
  /** Whether several resources travel in one batch Bundle. */
  readonly batch: boolean;
}

