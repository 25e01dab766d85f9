import type { Destination } from '../model/destination.js';
import type { StaffRole } from '../model/staff.js';
import type { Visit } from '../model/visit.js';
import type { DeliveryResult, PatientTarget } from './clinical-record-sink.js';

/**
 * Video visits sent to an EHR as FHIR R4 Encounters (connectors/fhir), beside Appointments and
 * readings, through the same destinations, credentials and patient mapping.
 *
 * Promises: idempotent at the EHR (one Encounter per visit, written by a conditional update on the
 * identifier we mint, so a resend after a lost answer or a crash, or a later state, updates the
 * one resource and never adds a second); the identifier is a hash of our random visit id, never
 * PHI; the treating staff member is the destination's Practitioner when it names one
 * (`Destination.practitioners`), else a role without a name; failures of the exchange are thrown
 * as our coded errors, a refusal of the resource is a `dead` result with the EHR's OperationOutcome.
 */
export interface EncounterSink {
  sendEncounter(destination: Destination, record: EncounterRecord, patient: PatientTarget, signal?: AbortSignal): Promise<DeliveryResult>;
}

export interface EncounterRecord {
  readonly visit: Visit;
  /** The treating staff member's role (the display when the EHR does not know her): no name. */
  readonly staffRole: StaffRole;
}
