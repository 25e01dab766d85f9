import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ann, patientIdentityStoreContract } from '../../core/contract/patient-identity-store.contract.js';
import { FieldCipher } from '../../core/crypto/field-encryption.js';
import { tempDir } from '../../test/helpers/gateway.js';
import { testCipher } from '../../test/helpers/secrets.js';
import { createSqliteStores } from './index.js';

patientIdentityStoreContract('SqlitePatientIdentityStore', async () => {
  const dir = tempDir('rpm-sqlite-identity-');
  const file = path.join(dir, 'rpm.sqlite');
  const stores = createSqliteStores({ path: file, synchronous: 'FULL', writer: 'inline', secrets: testCipher() });
  return {
    identities: stores.identities,
    addPatient: async (id, organizationId) => {
      if (organizationId !== null && (await stores.staff.getOrganization(organizationId)) === undefined) {
        await stores.staff.createOrganization({ id: organizationId, name: organizationId, createdAtMs: 1 });
      }
      await stores.registry.createPatient({ id, organizationId, createdAtMs: 1 });
    },
    storedText: async () => {
      const db = new Database(file, { readonly: true });
      try {
        return JSON.stringify(db.prepare('SELECT * FROM patient_identities').all());
      } finally {
        db.close();
      }
    },
    dispose: async () => {
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

/** Every byte of the database files (main file and WAL), as latin1 so any UTF-8 substring shows. */
function rawBytes(dir: string): string {
  return readdirSync(dir)
    .filter((f) => f.includes('.sqlite'))
    .map((f) => readFileSync(path.join(dir, f)).toString('latin1'))
    .join('\n');
}

describe('SqlitePatientIdentityStore at rest', () => {
  it('leaves no plaintext name, phone, MRN or date of birth in the raw database files (main file and WAL)', async () => {
    const dir = tempDir('rpm-sqlite-identity-raw-');
    const file = path.join(dir, 'rpm.sqlite');
    const stores = createSqliteStores({ path: file, synchronous: 'FULL', writer: 'inline', secrets: testCipher() });
    await stores.staff.createOrganization({ id: 'org-1', name: 'org-1', createdAtMs: 1 });
    await stores.registry.createPatient({ id: 'p-1', organizationId: 'org-1', createdAtMs: 1 });
    await stores.identities.putIdentity(ann());
    // Overwritten values must not linger in free pages either.
    await stores.identities.putIdentity(ann({ givenName: 'Bernadette', phone: '+15550001111' }));
    const whileOpen = rawBytes(dir);
    await stores.close();
    const afterClose = rawBytes(dir);
    for (const raw of [whileOpen, afterClose]) {
      expect(raw).toContain('p-1');
      for (const plain of ['Annabelle', 'Bernadette', 'Quintero-Vasquez', '5557654321', '5550001111', 'MRN-77123', '1948-02-29']) expect(raw).not.toContain(plain);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('re-encrypts identities (and their MRN and phone indexes) under a new active key at open', async () => {
    const dir = tempDir('rpm-sqlite-identity-keys-');
    const file = path.join(dir, 'rpm.sqlite');
    const oldKey = { id: 'old', key: randomBytes(32) };
    const newKey = { id: 'new', key: randomBytes(32) };
    const a = createSqliteStores({ path: file, synchronous: 'FULL', writer: 'inline', secrets: new FieldCipher([oldKey]) });
    await a.staff.createOrganization({ id: 'org-1', name: 'org-1', createdAtMs: 1 });
    await a.registry.createPatient({ id: 'p-1', organizationId: 'org-1', createdAtMs: 1 });
    await a.identities.putIdentity(ann());
    await a.close();
    expect(() => createSqliteStores({ path: file, synchronous: 'FULL', writer: 'inline', secrets: new FieldCipher([newKey]) })).toThrow(/old/);
    const b = createSqliteStores({ path: file, synchronous: 'FULL', writer: 'inline', secrets: new FieldCipher([newKey, oldKey]) });
    expect(b.sealedSecrets).toBe(1);
    expect(await b.identities.getIdentity('p-1')).toMatchObject({ givenName: 'Annabelle', version: 1 });
    expect(await b.identities.findByMrn('org-1', 'MRN-77123')).toBe('p-1');
    expect(await b.identities.findByPhone('+15557654321')).toEqual(['p-1']);
    await b.close();
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT identity, mrn_index FROM patient_identities').get()).toMatchObject({ identity: expect.stringMatching(/^enc1\.new\./), mrn_index: expect.stringMatching(/^bi1\.new\./) });
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
