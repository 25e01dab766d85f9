import { RpmError } from '../errors/rpm-error.js';
import { type IdentityFields, normalizeMrn } from '../model/patient-identity.js';
import { FieldCipher } from './field-encryption.js';

/**
 * How a PatientIdentityStore keeps identity at rest, the same in every adapter (SQLite,
 * PostgreSQL): the identity fields encrypted together with the field cipher, bound to the
 * patient's row (a value copied to another row does not decrypt there), and two blind indexes
 * (keyed HMACs, never the value) so the store can find a patient by MRN within an organization
 * (and keep MRNs unique there) or by phone number (an SMS reply) without storing either in clear.
 */
export class IdentitySecrets {
  constructor(private readonly secrets: FieldCipher | undefined) {}

  get canSeal(): boolean {
    return this.secrets !== undefined;
  }

  seal(patientId: string, fields: IdentityFields): string {
    const f: IdentityFields = {
      givenName: fields.givenName,
      familyName: fields.familyName,
      birthDate: fields.birthDate,
      mrn: fields.mrn,
      phone: fields.phone,
      preferredLanguage: fields.preferredLanguage,
      timeZone: fields.timeZone,
    };
    return this.cipher().encrypt(JSON.stringify(f), identityContext(patientId));
  }

  open(patientId: string, stored: string): IdentityFields {
    return JSON.parse(this.cipher().decrypt(stored, identityContext(patientId))) as IdentityFields;
  }

  /** The MRN's blind index within its organization (`''` for a patient without one). */
  mrnIndex(organizationId: string | null, mrn: string): string {
    return this.cipher().blindIndex(`${organizationId ?? ''}\u0000${normalizeMrn(mrn)}`, 'patient_identities.mrn');
  }

  phoneIndex(phone: string): string {
    return this.cipher().blindIndex(phone, 'patient_identities.phone');
  }

  needsRotation(stored: string): boolean {
    return this.secrets !== undefined && this.secrets.needsRotation(stored);
  }

  private cipher(): FieldCipher {
    if (this.secrets === undefined) throw new RpmError('RPM_ERR_INTERNAL', 'storing patient identity needs a field cipher (the store was opened without one)');
    return this.secrets;
  }
}

const identityContext = (patientId: string): string => `patient_identities.identity:${patientId}`;
