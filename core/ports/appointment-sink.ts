import type { Destination } from '../model/destination.js';
import type { Appointment } from '../model/scheduling.js';
import type { DeliveryResult, PatientTarget } from './clinical-record-sink.js';

/**
 * Visits sent to an EHR (FHIR R4 Appointment: connectors/fhir), beside the readings of
 * ClinicalRecordSink and through the same destinations, credentials and patient mapping.
 *
 * Promises: idempotent at the EHR (one resource per visit, written at a deterministic id, so a
 * resend after a lost answer or a crash updates it in place; a later state replaces an earlier);
 * the identifier we mint is a hash, never PHI; failures of the exchange are thrown as our coded
 * errors, a refusal of the resource is a `dead` result with the EHR's OperationOutcome.
 */
export interface AppointmentSink {
  sendAppointment(destination: Destination, visit: AppointmentRecord, patient: PatientTarget, signal?: AbortSignal): Promise<DeliveryResult>;
}

export interface AppointmentRecord {
  readonly appointment: Appointment;
  /** The visit type's name ("Monthly check-in"): no clinical detail. */
  readonly typeName: string;
  /** The video visit started from the appointment, if any: a running one makes a booked appointment `arrived` at the EHR. */
  readonly visit?: { readonly startedAtMs: number | null; readonly endedAtMs: number | null } | undefined;
}
