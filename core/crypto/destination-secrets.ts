import { RpmError } from '../errors/rpm-error.js';
import type { DestinationAuth } from '../model/destination.js';
import { FieldCipher } from './field-encryption.js';

/**
 * How a ForwardingStore keeps the secrets of FHIR forwarding at rest, the same in every adapter
 * (SQLite, PostgreSQL): a destination's whole `auth` JSON and a patient's identifier at an EHR,
 * each encrypted with the field cipher and bound to its row (a value copied to another row does
 * not decrypt there). Plain text found in a store (written before encryption, or a credential-free
 * `auth: none` stored without a cipher) still reads, and `needsRotation` finds it for sealing.
 */
export class DestinationSecrets {
  constructor(private readonly secrets: FieldCipher | undefined) {}

  /** Whether stored values can be re-encrypted (a cipher is configured). */
  get canSeal(): boolean {
    return this.secrets !== undefined;
  }

  sealAuth(destinationId: string, auth: DestinationAuth): string {
    if (auth.type === 'none' && this.secrets === undefined) return JSON.stringify(auth);
    return this.cipher().encrypt(JSON.stringify(auth), authContext(destinationId));
  }

  openAuth(destinationId: string, stored: string): DestinationAuth {
    if (FieldCipher.keyIdOf(stored) === undefined) return JSON.parse(stored) as DestinationAuth;
    return JSON.parse(this.cipher().decrypt(stored, authContext(destinationId))) as DestinationAuth;
  }

  sealIdentifier(destinationId: string, patientId: string, identifier: string): string {
    return this.cipher().encrypt(identifier, identifierContext(destinationId, patientId));
  }

  openIdentifier(destinationId: string, patientId: string, stored: string): string {
    if (FieldCipher.keyIdOf(stored) === undefined) return stored;
    return this.cipher().decrypt(stored, identifierContext(destinationId, patientId));
  }

  /** Plain text, or encrypted under a key other than the active one (false without a cipher). */
  needsRotation(stored: string): boolean {
    return this.secrets !== undefined && this.secrets.needsRotation(stored);
  }

  private cipher(): FieldCipher {
    if (this.secrets === undefined) throw new RpmError('RPM_ERR_INTERNAL', 'storing a secret needs a field cipher (the store was opened without one)');
    return this.secrets;
  }
}

/** Where each encrypted value belongs (the AAD): its table, column and row. */
const authContext = (destinationId: string): string => `fhir_destinations.auth:${destinationId}`;
const identifierContext = (destinationId: string, patientId: string): string => `fhir_patient_links.identifier:${destinationId}:${patientId}`;
