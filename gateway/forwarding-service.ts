import { RpmError } from '../core/errors/rpm-error.js';
import type { CreateDestinationInput, DeliveryStatus, Destination, UpdateDestinationInput } from '../core/model/destination.js';
import { FORWARDED_KINDS } from '../core/model/reading-kinds.js';
import type { ClinicalRecordSink, SinkDescription } from '../core/ports/clinical-record-sink.js';
import type { Clock } from '../core/ports/clock.js';
import type { DeliveryQuery, DeliveryRecord, ForwardingStore, RetrySelector } from '../core/ports/forwarding-store.js';
import type { BreakerStatus, DeliveryWorker } from '../pipeline/delivery-worker.js';
import type { ForwardingRoutes } from '../pipeline/forwarding-routes.js';
import type { StaffService } from './staff-service.js';

export interface DestinationStatus {
  readonly destination: Destination;
  readonly deliveries: Record<DeliveryStatus, number>;
  /** Undefined while the destination is disabled (no pump runs). */
  readonly circuit: BreakerStatus | undefined;
  /** What was learned from the server's CapabilityStatement, once read. */
  readonly server: SinkDescription | undefined;
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
    private readonly worker: DeliveryWorker,
    private readonly sink: ClinicalRecordSink,
    private readonly staff: Pick<StaffService, 'requireOrganization'>,
    private readonly clock: Clock,
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
      createdAtMs: this.clock.now(),
    });
    await this.changed(destination.id);
    return destination;
  }

  async updateDestination(id: string, patch: UpdateDestinationInput): Promise<Destination> {
    const updated = await this.store.updateDestination(id, patch, this.clock.now());
    if (updated === undefined) throw new RpmError('RPM_ERR_FHIR_DESTINATION_NOT_FOUND', `FHIR destination '${id}' not found`);
    await this.changed(id);
    return updated;
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
    return { destination, deliveries: await this.store.countDeliveries(id), circuit: this.worker.breaker(id), server: this.sink.describe(id) };
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
