import type { AuditLog } from '../../core/ports/audit-log.js';
import type { AppointmentSink } from '../../core/ports/appointment-sink.js';
import type { ClinicalRecordSink } from '../../core/ports/clinical-record-sink.js';
import type { Clock } from '../../core/ports/clock.js';
import type { EncounterSink } from '../../core/ports/encounter-sink.js';
import type { ForwardingStore } from '../../core/ports/forwarding-store.js';
import type { SchedulingStore } from '../../core/ports/scheduling-store.js';
import type { StaffStore } from '../../core/ports/staff-store.js';
import type { VisitStore } from '../../core/ports/visit-store.js';
import { EncounterForwarder } from '../video/encounter-forwarder.js';
import { AppointmentForwarder } from './appointment-forwarder.js';

/**
 * The FHIR jobs of scheduling and visits (Appointments, Encounters), built the same way wherever
 * the job table is worked: the single process and, in the distributed mode, the gateway (which
 * writes the jobs in its transactions) and the worker holding the reminders unit (which runs them).
 */
export function fhirJobHandlers(deps: {
  readonly forwarding: ForwardingStore;
  readonly scheduling: SchedulingStore;
  readonly visits: VisitStore;
  readonly staff: Pick<StaffStore, 'getStaff'>;
  readonly sink: AppointmentSink & EncounterSink & Pick<ClinicalRecordSink, 'findPatient'>;
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly patientRecheckMs: number;
}): { readonly appointments: AppointmentForwarder; readonly encounters: EncounterForwarder } {
  const { forwarding, scheduling, visits, sink, audit, clock, patientRecheckMs } = deps;
  return {
    appointments: new AppointmentForwarder({
      forwarding,
      scheduling,
      sink,
      audit,
      clock,
      patientRecheckMs,
      visitOf: async (a) => (await visits.list({ organizationId: a.organizationId, appointmentId: a.id, limit: 1 }))[0],
    }),
    encounters: new EncounterForwarder({
      forwarding,
      visits,
      staffRole: async (id) => (await deps.staff.getStaff(id))?.role,
      sink,
      audit,
      clock,
      patientRecheckMs,
    }),
  };
}
