import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewPatientIdentity, PatientIdentityStore } from '../ports/patient-identity-store.js';

export interface PatientIdentityFixture {
  readonly identities: PatientIdentityStore;
  readonly addPatient: (id: string, organizationId: string | null) => Promise<void>;
  /** Every stored text of the identity table (all columns), to prove nothing is kept in clear. */
  readonly storedText: () => Promise<string>;
  readonly dispose: () => Promise<void>;
}

export const ann = (over: Partial<NewPatientIdentity> = {}): NewPatientIdentity => ({
  patientId: 'p-1',
  givenName: 'Annabelle',
  familyName: 'Quintero-Vasquez',
  birthDate: '1948-02-29',
  mrn: 'MRN-77123',
  phone: '+15557654321',
  preferredLanguage: 'es-MX',
  timeZone: 'America/Chicago',
  updatedAtMs: 1000,
  updatedBy: 'staff:s-1',
  ...over,
});

/** The PatientIdentityStore contract, run by every adapter against its real backend. */
export function patientIdentityStoreContract(name: string, make: () => Promise<PatientIdentityFixture>): void {
  describe(`PatientIdentityStore contract: ${name}`, () => {
    let f: PatientIdentityFixture;
    beforeEach(async () => {
      f = await make();
      await f.addPatient('p-1', 'org-1');
      await f.addPatient('p-2', 'org-1');
      await f.addPatient('p-3', 'org-2');
    });
    afterEach(async () => f.dispose());

    it('keeps one identity per existing patient, versioned, in its organization', async () => {
      const first = await f.identities.putIdentity(ann());
      expect(first).toMatchObject({ patientId: 'p-1', organizationId: 'org-1', version: 1, givenName: 'Annabelle', mrn: 'MRN-77123', phone: '+15557654321' });
      expect(await f.identities.getIdentity('p-1')).toEqual(first);
      const second = await f.identities.putIdentity(ann({ phone: null, updatedAtMs: 2000 }), { expectedVersion: 1 });
      expect(second).toMatchObject({ version: 2, phone: null, updatedAtMs: 2000 });
      await expect(f.identities.putIdentity(ann(), { expectedVersion: 1 })).rejects.toMatchObject({ code: 'RPM_ERR_PATIENT_IDENTITY_CONFLICT' });
      await expect(f.identities.putIdentity(ann({ patientId: 'p-2', mrn: 'M2' }), { expectedVersion: 3 })).rejects.toMatchObject({ code: 'RPM_ERR_PATIENT_IDENTITY_CONFLICT' });
      expect(await f.identities.putIdentity(ann({ patientId: 'p-2', mrn: 'M2' }), { expectedVersion: 0 })).toMatchObject({ version: 1 });
      await expect(f.identities.putIdentity(ann({ patientId: 'ghost', mrn: 'M9' }))).rejects.toMatchObject({ code: 'RPM_ERR_PATIENT_NOT_FOUND' });
      expect(await f.identities.getIdentity('p-3')).toBeUndefined();
      expect((await f.identities.getIdentities(['p-2', 'p-3', 'p-1'])).map((i) => i.patientId).sort()).toEqual(['p-1', 'p-2']);
    });

    it('keeps MRNs unique within an organization (trimmed, any case), and finds patients by MRN and phone', async () => {
      await f.identities.putIdentity(ann());
      await expect(f.identities.putIdentity(ann({ patientId: 'p-2', mrn: 'mrn-77123' }))).rejects.toMatchObject({ code: 'RPM_ERR_PATIENT_MRN_EXISTS' });
      // Another organization may use the same MRN.
      await f.identities.putIdentity(ann({ patientId: 'p-3' }));
      expect(await f.identities.findByMrn('org-1', ' mrn-77123 ')).toBe('p-1');
      expect(await f.identities.findByMrn('org-2', 'MRN-77123')).toBe('p-3');
      expect(await f.identities.findByMrn('org-1', 'MRN-0')).toBeUndefined();
      expect(await f.identities.findByPhone('+15557654321')).toEqual(['p-1', 'p-3']);
      // A changed MRN frees the old one.
      await f.identities.putIdentity(ann({ mrn: 'MRN-1' }));
      expect(await f.identities.findByMrn('org-1', 'MRN-77123')).toBeUndefined();
      await f.identities.putIdentity(ann({ patientId: 'p-2', mrn: 'MRN-77123' }));
      expect(await f.identities.findByMrn('org-1', 'MRN-77123')).toBe('p-2');
    });

    it('lets only one of two concurrent writers take an MRN or a version', async () => {
      const results = await Promise.allSettled([
        f.identities.putIdentity(ann({ mrn: 'SAME' })),
        f.identities.putIdentity(ann({ patientId: 'p-2', mrn: 'same' })),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const versions = await Promise.allSettled([
        f.identities.putIdentity(ann({ patientId: 'p-3', givenName: 'A' }), { expectedVersion: 0 }),
        f.identities.putIdentity(ann({ patientId: 'p-3', givenName: 'B' }), { expectedVersion: 0 }),
      ]);
      expect(versions.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(versions.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'RPM_ERR_PATIENT_IDENTITY_CONFLICT' } });
    });

    it('stores no name, date of birth, MRN or phone in clear', async () => {
      await f.identities.putIdentity(ann());
      const text = await f.storedText();
      expect(text).toContain('p-1');
      for (const plain of ['Annabelle', 'Quintero', '1948-02-29', '77123', '5557654321', 'Chicago']) expect(text).not.toContain(plain);
    });

    it('appends telehealth consents and answers them newest first', async () => {
      const c1 = await f.identities.recordConsent({ patientId: 'p-1', granted: true, method: 'verbal', obtainedAtMs: 1000, recordedBy: 'staff:s-1', recordedAtMs: 1100 });
      const c2 = await f.identities.recordConsent({ patientId: 'p-1', granted: false, method: 'written', obtainedAtMs: 5000, recordedBy: 'admin', recordedAtMs: 5100 });
      expect(c1).toMatchObject({ patientId: 'p-1', granted: true, method: 'verbal', recordedBy: 'staff:s-1' });
      expect(await f.identities.consents('p-1')).toEqual([c2, c1]);
      expect(await f.identities.consents('p-2')).toEqual([]);
      await expect(f.identities.recordConsent({ patientId: 'ghost', granted: true, method: 'verbal', obtainedAtMs: 1, recordedBy: 'admin', recordedAtMs: 1 })).rejects.toMatchObject({
        code: 'RPM_ERR_PATIENT_NOT_FOUND',
      });
    });
  });
}
