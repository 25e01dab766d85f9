import type { Logger } from '../../core/logging.js';
import type { Destination } from '../../core/model/destination.js';
import type { ClinicalRecordSink, DeliveryItem, DeliveryResult, PatientIdentifier, PatientLookup, SinkDescription } from '../../core/ports/clinical-record-sink.js';
import type { AppointmentRecord, AppointmentSink } from '../../core/ports/appointment-sink.js';
import type { EncounterRecord, EncounterSink } from '../../core/ports/encounter-sink.js';
import type { EhrPatientLookup, EhrPatients } from '../../core/ports/ehr-patients.js';
import type { PatientTarget } from '../../core/ports/clinical-record-sink.js';
import { DestinationSession } from './destination-session.js';
import { type FhirSystems, fhirSystems } from './fhir-codes.js';
import { InFlightKeys } from './in-flight.js';

export interface FhirSinkOptions {
  /** RPM_FHIR_SYSTEM_BASE: names our identifier systems and meta.source. */
  readonly systemBase: string;
  readonly timeoutMs: number;
  readonly log: Logger;
}

/**
 * Delivers readings to FHIR R4 servers as Observations (with their Devices), through
 * fhir-kit-client. One session per destination holds what was learned about the server; a
 * changed destination (or `forget`) starts a new one, so new credentials and URLs apply at once.
 */
export class FhirSink implements ClinicalRecordSink, AppointmentSink, EncounterSink, EhrPatients {
  private readonly sessions = new Map<string, DestinationSession>();
  /** Per destination, outliving its sessions: an exchange of an old session may still be in flight. */
  private readonly inFlight = new Map<string, InFlightKeys>();
  private readonly systems: FhirSystems;

  constructor(private readonly options: FhirSinkOptions) {
    this.systems = fhirSystems(options.systemBase);
  }

  deliver(destination: Destination, items: readonly DeliveryItem[], signal?: AbortSignal): Promise<DeliveryResult[]> {
    return this.session(destination).deliver(items, signal);
  }

  findPatient(destination: Destination, identifier: PatientIdentifier, signal?: AbortSignal): Promise<PatientLookup> {
    return this.session(destination).findPatient(identifier, signal);
  }

  sendAppointment(destination: Destination, visit: AppointmentRecord, patient: PatientTarget, signal?: AbortSignal): Promise<DeliveryResult> {
    return this.session(destination).sendAppointment(visit, patient, signal);
  }

  sendEncounter(destination: Destination, record: EncounterRecord, patient: PatientTarget, signal?: AbortSignal): Promise<DeliveryResult> {
    return this.session(destination).sendEncounter(record, patient, signal);
  }

  patientByIdentifier(destination: Destination, identifier: PatientIdentifier, signal?: AbortSignal): Promise<EhrPatientLookup> {
    return this.session(destination).patientByIdentifier(identifier, signal);
  }

  forget(destinationId: string): void {
    this.sessions.delete(destinationId);
  }

  describe(destinationId: string): SinkDescription | undefined {
    return this.sessions.get(destinationId)?.describe();
  }

  private session(destination: Destination): DestinationSession {
    const current = this.sessions.get(destination.id);
    if (current !== undefined && current.destination.updatedAtMs === destination.updatedAtMs) return current;
    let inFlight = this.inFlight.get(destination.id);
    if (inFlight === undefined) this.inFlight.set(destination.id, (inFlight = new InFlightKeys()));
    const fresh = new DestinationSession(destination, { systems: this.systems, timeoutMs: this.options.timeoutMs, log: this.options.log, inFlight });
    this.sessions.set(destination.id, fresh);
    return fresh;
  }
}
