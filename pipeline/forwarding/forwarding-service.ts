import { RpmError } from '../../core/errors/rpm-error.js';
import type { BackfillInput, CreateDestinationInput, DeliveryStatus, Destination, PatientLink, UpdateDestinationInput } from '../../core/model/destination.js';
import { FORWARDED_KINDS } from '../../core/model/reading-kinds.js';
import type { ClinicalRecordSink, SinkDescription } from '../../core/ports/clinical-record-sink.js';
import type { Clock } from '../../core/ports/clock.js';
import type { DeliveryQuery, DeliveryRecord, ForwardingStore, PatientLinkInput, QueueStats, RetrySelector } from '../../core/ports/forwarding-store.js';
import type { BatchingStatus } from '../adaptive-batch.js';
import { type BreakerStatus, type DeliveryControl, PATIENT_DEAD_LETTER_CODES } from '../delivery-worker.js';
import type { ForwardingRoutes } from '../forwarding-routes.js';
import type { Patient } from '../../core/model/registry.js';

export interface DestinationStatus {
  readonly destination: Destination;
  readonly deliveries: Record<DeliveryStatus, number>;
  /** When the oldest waiting delivery was queued, if any. */
  readonly oldestWaitingSinceMs: number | undefined;
  /** Undefined while the destination is paused (no pump runs). */
  readonly circuit: BreakerStatus | undefined;
  /** Readings per exchange now, and why fewer than configured (timeouts); undefined while paused. */
  readonly batching: BatchingStatus | undefined;
  /** What was learned from the server's CapabilityStatement, once read. */
  readonly server: SinkDescription | undefined;
}

/** One destination as the metrics report it. */
export interface DestinationQueue {
  readonly destination: Destination;
  readonly queue: QueueStats;
  readonly circuit: BreakerStatus | undefined;
}

/**
 * Operator side of FHIR forwarding: destinations per organization and the delivery outbox
 * (pending, failed, dead-lettered), with retry. Every destination change reaches the ingest
 * route cache, the connector's per-destination session and the delivery worker at once.
 */
export class ForwardingService {
  constructor(
    private readonly store: ForwardingStore,
    private readonly routes: ForwardingRoutes,
    /** Delivery in this process, or the nudges that reach the worker holding each destination. */
    private readonly worker: DeliveryControl,
    private readonly sink: ClinicalRecordSink,
    /** Fails with RPM_ERR_NOT_FOUND unless the organization exists. */
    private readonly staff: { requireOrganization(organizationId: string): Promise<unknown> },
    private readonly clock: Clock,
    private readonly patients: { getPatient(id: string): Promise<Patient | undefined> },
  ) {}

  async createDestination(input: CreateDestinationInput): Promise<Destination> {
    await this.staff.requireOrganization(input.organizationId);
    const destination = await this.store.createDestination({
      id: input.id,
      organizationId: input.organizationId,
      baseUrl: input.baseUrl,
      auth: input.auth,
      patientMapping: input.patientMapping,
      kinds: input.kinds ?? FORWARDED_KINDS,
      enabled: input.enabled,
      batchSize: input.batchSize ?? null,
      appointments: input.appointments,
      encounters: input.encounters,
      practitioners: input.practitioners,
      createdAtMs: this.clock.now(),
    });
    await this.changed(destination.id);
    return destination;
  }

  async updateDestination(id: string, patch: UpdateDestinationInput): Promise<Destination> {
    const before = await this.getDestination(id);
    const updated = await this.store.updateDestination(id, patch, this.clock.now());
    if (updated === undefined) throw new RpmError('RPM_ERR_FHIR_DESTINATION_NOT_FOUND', `FHIR destination '${id}' not found`);
    await this.changed(id);
    if (patch.patientMapping !== undefined && JSON.stringify(patch.patientMapping) !== JSON.stringify(before.patientMapping)) {
      // A new way to find patients: what a search found the old way no longer holds, and the
      // readings that waited for their patient get another chance.
      for (const link of await this.allPatientLinks(id)) {
        if (link.referenceSource === 'search') await this.store.setPatientLink(id, link.patientId, { reference: null }, this.clock.now());
      }
      await this.store.retryDeliveries({ destinationId: id, statuses: ['dead'], codes: PATIENT_DEAD_LETTER_CODES }, this.clock.now());
      this.worker.kick();
    }
    return updated;
  }

  /** Pause: deliveries keep being queued (nothing is dropped) and wait until `resume`. */
  pause(id: string): Promise<Destination> {
    return this.updateDestination(id, { enabled: false });
  }

  resume(id: string): Promise<Destination> {
    return this.updateDestination(id, { enabled: true });
  }

  /**
   * Queues every reading of the organization's patients measured in [since, until) of the given
   * kinds (default: the destination's) that the destination has no delivery for: readings from
   * before it existed, of a kind it did not take then, attributed before forwarding knew of it.
   * Exactly once: at most one delivery per (destination, reading), and the EHR deduplicates.
   */
  async backfill(id: string, input: BackfillInput): Promise<{ queued: number; kinds: string[] }> {
    const d = await this.getDestination(id);
    const kinds = input.kinds ?? [...d.kinds];
    const refused = kinds.filter((k) => !d.kinds.includes(k));
    if (refused.length > 0) {
      throw new RpmError('RPM_ERR_REQUEST_INVALID', `the destination does not take ${refused.join(', ')}; add the kinds to it first`, { path: '/kinds' });
    }
    const fromMs = Date.parse(input.since);
    const toMs = input.until === undefined ? undefined : Date.parse(input.until);
    if (toMs !== undefined && toMs <= fromMs) throw new RpmError('RPM_ERR_REQUEST_INVALID', '`until` must be after `since`', { path: '/until' });
    const queued = await this.store.backfill(id, { fromMs, ...(toMs === undefined ? {} : { toMs }), kinds }, this.clock.now());
    if (queued > 0) this.worker.kick();
    return { queued, kinds };
  }

  async patientLink(id: string, patientId: string): Promise<PatientLink | undefined> {
    await this.getDestination(id);
    return this.store.getPatientLink(id, patientId);
  }

  async listPatientLinks(id: string, page: { limit: number; afterPatientId?: string }): Promise<PatientLink[]> {
    await this.getDestination(id);
    return this.store.listPatientLinks(id, page);
  }

  /** An admin maps a patient: the readings that waited for it are sent again at once. */
  async setPatientLink(id: string, patientId: string, link: PatientLinkInput): Promise<{ link: PatientLink; requeued: number }> {
    const d = await this.getDestination(id);
    const patient = await this.patients.getPatient(patientId);
    if (patient?.organizationId !== d.organizationId) throw new RpmError('RPM_ERR_PATIENT_NOT_FOUND', `patient '${patientId}' not found in the destination's organization`);
    const saved = await this.store.setPatientLink(id, patientId, link, this.clock.now());
    return { link: saved, requeued: await this.worker.patientMapped(id, patientId) };
  }

  async deletePatientLink(id: string, patientId: string): Promise<boolean> {
    await this.getDestination(id);
    const deleted = await this.store.deletePatientLink(id, patientId);
    if (deleted) await this.worker.patientMapped(id, patientId);
    return deleted;
  }

  /** Every destination's queue, for the metrics (counts capped at `cap`). */
  async queues(cap: number): Promise<DestinationQueue[]> {
    const out: DestinationQueue[] = [];
    for (const destination of await this.store.listDestinations()) {
      out.push({ destination, queue: await this.store.queueStats(destination.id, cap), circuit: this.worker.breaker(destination.id) });
    }
    return out;
  }

  private async allPatientLinks(id: string): Promise<PatientLink[]> {
    const all: PatientLink[] = [];
    for (;;) {
      const page = await this.store.listPatientLinks(id, { limit: 1000, ...(all.length === 0 ? {} : { afterPatientId: (all.at(-1) as PatientLink).patientId }) });
      all.push(...page);
      if (page.length < 1000) return all;
    }
  }

  async getDestination(id: string): Promise<Destination> {
    const d = await this.store.getDestination(id);
    if (d === undefined) throw new RpmError('RPM_ERR_FHIR_DESTINATION_NOT_FOUND', `FHIR destination '${id}' not found`);
    return d;
  }

  listDestinations(organizationId?: string): Promise<Destination[]> {
    return this.store.listDestinations(organizationId === undefined ? {} : { organizationId });
  }

  async status(id: string): Promise<DestinationStatus> {
    const destination = await this.getDestination(id);
    return {
      destination,
      deliveries: await this.store.countDeliveries(id),
      oldestWaitingSinceMs: (await this.store.queueStats(id, 1)).oldestWaitingSinceMs,
      circuit: this.worker.breaker(id),
      batching: this.worker.batching(id),
      server: this.sink.describe(id),
    };
  }

  async listDeliveries(query: DeliveryQuery): Promise<DeliveryRecord[]> {
    if (query.destinationId !== undefined) await this.getDestination(query.destinationId);
    return this.store.listDeliveries(query);
  }

  /** Failed or dead deliveries back to pending, due now; the worker is woken. */
  async retry(selector: RetrySelector): Promise<number> {
    if (selector.destinationId !== undefined) await this.getDestination(selector.destinationId);
    const requeued = await this.store.retryDeliveries(selector, this.clock.now());
    this.worker.kick();
    return requeued;
  }

  private async changed(id: string): Promise<void> {
    this.routes.invalidate();
    this.sink.forget(id);
    await this.worker.refresh();
  }
}
