import type { Destination } from '../model/destination.js';
import type { PatientIdentifier } from './clinical-record-sink.js';

/**
 * Reading a patient's demographics from an EHR (FHIR R4 Patient: connectors/fhir), to fill our
 * identity record from the system of record instead of retyping it. The identifier (an MRN)
 * travels in a request body (`POST Patient/_search`), never in a URL. Failures of the exchange
 * are thrown as our coded errors.
 */
export interface EhrPatients {
  patientByIdentifier(destination: Destination, identifier: PatientIdentifier, signal?: AbortSignal): Promise<EhrPatientLookup>;
}

export type EhrPatientLookup =
  | { readonly status: 'found'; readonly patient: EhrPatient }
  | { readonly status: 'unknown' }
  | { readonly status: 'ambiguous'; readonly matches: number };

/** What a FHIR Patient says of who the patient is; absent parts are null. */
export interface EhrPatient {
  readonly reference: string;
  readonly givenName: string | null;
  readonly familyName: string | null;
  readonly birthDate: string | null;
  /** E.164 when the EHR's number is written so (a leading +), else null. */
  readonly phone: string | null;
  /** BCP 47 from `communication` (the preferred one first). */
  readonly preferredLanguage: string | null;
  /** IANA, from the `http://hl7.org/fhir/StructureDefinition/timezone` extension when present. */
  readonly timeZone: string | null;
}
