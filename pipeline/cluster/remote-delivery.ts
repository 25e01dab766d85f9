import type { Clock } from '../../core/ports/clock.js';
import type { ForwardingStore } from '../../core/ports/forwarding-store.js';
import type { BatchingStatus } from '../adaptive-batch.js';
import { type BreakerStatus, type DeliveryControl, PATIENT_DEAD_LETTER_CODES } from '../delivery-worker.js';
import { fhirUnit, JOBS } from './units.js';
import type { WorkHandoff } from './work-handoff.js';

/**
 * Delivery control in a gateway of the distributed mode: delivery runs in the worker holding each
 * destination, so operators' actions become store changes plus nudges to that worker. The breaker
 * and batch size live in that worker's memory and are not shown here (undefined).
 */
export class RemoteDeliveryControl implements DeliveryControl {
  constructor(
    private readonly store: ForwardingStore,
    private readonly handoff: WorkHandoff,
    private readonly clock: Clock,
    private readonly destinations: () => readonly string[],
  ) {}

  kick(): void {
    for (const id of this.destinations()) this.handoff.nudge(fhirUnit(id), JOBS.committed);
  }

  async refresh(): Promise<void> {
    for (const id of this.destinations()) this.handoff.nudge(fhirUnit(id), JOBS.refresh);
  }

  async patientMapped(destinationId: string, patientId: string): Promise<number> {
    const requeued = await this.store.retryDeliveries({ destinationId, statuses: ['dead'], codes: PATIENT_DEAD_LETTER_CODES, patientId }, this.clock.now());
    this.handoff.nudge(fhirUnit(destinationId), JOBS.patientMapped, { patientId });
    return requeued;
  }

  breaker(_destinationId: string): BreakerStatus | undefined {
    return undefined;
  }

  batching(_destinationId: string): BatchingStatus | undefined {
    return undefined;
  }
}
