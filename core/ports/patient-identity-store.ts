import type { IdentityFields, PatientIdentity, TelehealthConsent, ConsentMethod } from '../model/patient-identity.js';

/**
 * Patients' identity and contact (PHI) and their telehealth consents.
 *
 * Guarantees (checked by core/contract/patient-identity-store.contract.ts):
 * - One identity per existing patient (RPM_ERR_PATIENT_NOT_FOUND otherwise), in the patient's
 *   organization; `putIdentity` creates or replaces it, its version +1 each time; with
 *   `expectedVersion` it changes only that version (RPM_ERR_PATIENT_IDENTITY_CONFLICT; 0 means
 *   "none recorded yet").
 * - MRNs are unique within an organization, compared trimmed and case-insensitively
 *   (RPM_ERR_PATIENT_MRN_EXISTS), also under concurrent writes.
 * - Encrypted at rest by the adapter (core/crypto/identity-secrets.ts): the stored rows hold no
 *   name, date of birth, MRN or phone in clear; the port speaks plain values. Lookups by MRN and
 *   phone go through keyed blind indexes.
 * - Consents are append-only, answered newest first.
 */
export interface PatientIdentityStore {
  putIdentity(identity: NewPatientIdentity, options?: { readonly expectedVersion?: number }): Promise<PatientIdentity>;
  getIdentity(patientId: string): Promise<PatientIdentity | undefined>;
  /** Identities of many patients at once (a day's schedule); absent ones are left out. */
  getIdentities(patientIds: readonly string[]): Promise<PatientIdentity[]>;
  /** The patient of the organization with this MRN. */
  findByMrn(organizationId: string, mrn: string): Promise<string | undefined>;
  /** Patients whose phone is this number (any organization), id order. */
  findByPhone(phone: string): Promise<string[]>;

  recordConsent(consent: NewTelehealthConsent): Promise<TelehealthConsent>;
  consents(patientId: string): Promise<TelehealthConsent[]>;
}

export interface NewPatientIdentity extends IdentityFields {
  readonly patientId: string;
  readonly updatedAtMs: number;
  readonly updatedBy: string;
}

export interface NewTelehealthConsent {
  readonly patientId: string;
  readonly granted: boolean;
  readonly method: ConsentMethod;
  readonly obtainedAtMs: number;
  readonly recordedBy: string;
  readonly recordedAtMs: number;
}
