import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { ann, patientIdentityStoreContract } from '../../core/contract/patient-identity-store.contract.js';
import { FieldCipher } from '../../core/crypto/field-encryption.js';
import { createTestDatabase, freshSchemaName, type TestDatabase } from '../../test/helpers/postgres.js';
import { testCipher } from '../../test/helpers/secrets.js';
import { createPostgresStores, type PostgresStores } from './index.js';

let database: Promise<TestDatabase> | undefined;
const db = (): Promise<TestDatabase> => (database ??= createTestDatabase());
afterAll(async () => {
  if (database !== undefined) await (await database).drop();
});

async function open(schema: string, secrets: FieldCipher = testCipher()): Promise<PostgresStores> {
  return createPostgresStores({ url: (await db()).url, schema, poolSize: 4, statementTimeoutMs: 20_000, applicationName: 'rpm-test', secrets });
}

async function sqlIn(schema: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: (await db()).url, options: `-c search_path=${schema}` });
  await client.connect();
  return client;
}

patientIdentityStoreContract('PostgresPatientIdentityStore', async () => {
  const schema = freshSchemaName();
  const stores = await open(schema);
  const raw = await sqlIn(schema);
  return {
    identities: stores.identities,
    addPatient: async (id, organizationId) => {
      if (organizationId !== null && (await stores.staff.getOrganization(organizationId)) === undefined) {
        await stores.staff.createOrganization({ id: organizationId, name: organizationId, createdAtMs: 1 });
      }
      await stores.registry.createPatient({ id, organizationId, createdAtMs: 1 });
    },
    storedText: async () => JSON.stringify((await raw.query('SELECT * FROM patient_identities')).rows),
    dispose: async () => {
      await raw.end();
      await stores.close();
    },
  };
});

describe('PostgresPatientIdentityStore keys and append-only consents', () => {
  it('re-encrypts identities under a new active key at open; consents refuse UPDATE and DELETE', async () => {
    const schema = freshSchemaName();
    const oldKey = { id: 'old', key: randomBytes(32) };
    const newKey = { id: 'new', key: randomBytes(32) };
    const a = await open(schema, new FieldCipher([oldKey]));
    await a.staff.createOrganization({ id: 'org-1', name: 'org-1', createdAtMs: 1 });
    await a.registry.createPatient({ id: 'p-1', organizationId: 'org-1', createdAtMs: 1 });
    await a.identities.putIdentity(ann());
    await a.identities.recordConsent({ patientId: 'p-1', granted: true, method: 'verbal', obtainedAtMs: 1, recordedBy: 'admin', recordedAtMs: 1 });
    await a.close();
    await expect(open(schema, new FieldCipher([newKey]))).rejects.toThrow(/old/);
    const b = await open(schema, new FieldCipher([newKey, oldKey]));
    expect(b.sealedSecrets).toBe(1);
    expect(await b.identities.findByMrn('org-1', 'mrn-77123')).toBe('p-1');
    expect(await b.identities.getIdentity('p-1')).toMatchObject({ familyName: 'Quintero-Vasquez' });
    await b.close();
    const raw = await sqlIn(schema);
    try {
      expect((await raw.query('SELECT identity FROM patient_identities')).rows[0].identity).toMatch(/^enc1\.new\./);
      await expect(raw.query('UPDATE telehealth_consents SET granted = false')).rejects.toThrow(/append-only/);
      await expect(raw.query('DELETE FROM telehealth_consents')).rejects.toThrow(/append-only/);
    } finally {
      await raw.end();
    }
  });
});
