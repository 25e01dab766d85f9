import { rmSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { vendorStoreContract } from '../../core/contract/vendor-store.contract.js';
import { FieldCipher } from '../../core/crypto/field-encryption.js';
import { tempDir } from '../../test/helpers/gateway.js';
import { testCipher } from '../../test/helpers/secrets.js';
import { createSqliteStores } from './index.js';

vendorStoreContract('SqliteVendorStore', async () => {
  const dir = tempDir('rpm-sqlite-vendor-');
  const file = path.join(dir, 'rpm.sqlite');
  const stores = createSqliteStores({ path: file, synchronous: 'FULL', writer: 'inline', secrets: testCipher() });
  return {
    vendors: stores.vendors,
    addOrganization: async (id) => {
      await stores.staff.createOrganization({ id, name: id, createdAtMs: 1 });
    },
    addDevice: async (id) => {
      await stores.registry.createDevice(
        { id, kind: 'multi-parameter', manufacturer: null, model: null, serial: null, hubId: null, createdAtMs: 1 },
        { id: `cred-${id}`, deviceId: id, secretHash: 'x', createdAtMs: 1 },
      );
    },
    storedSecrets: async () => {
      const db = new Database(file, { readonly: true });
      try {
        const rows = [
          ...(db.prepare('SELECT config AS v FROM vendor_connections').all() as { v: string }[]),
          ...(db.prepare('SELECT credentials AS v FROM vendor_bindings WHERE credentials IS NOT NULL').all() as { v: string }[]),
        ];
        return rows.map((r) => r.v);
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

describe('SqliteVendorStore keys', () => {
  it('re-encrypts vendor credentials under a new active key at open, and refuses to start without the old key', async () => {
    const dir = tempDir('rpm-sqlite-vendor-');
    const file = path.join(dir, 'rpm.sqlite');
    const oldKey = { id: 'old', key: randomBytes(32) };
    const newKey = { id: 'new', key: randomBytes(32) };
    const a = createSqliteStores({ path: file, synchronous: 'FULL', writer: 'inline', secrets: new FieldCipher([oldKey]) });
    await a.staff.createOrganization({ id: 'org-1', name: 'org-1', createdAtMs: 1 });
    await a.vendors.putConnection({ organizationId: 'org-1', vendor: 'bodytrace', settings: { username: 'bt', password: 'a long password' }, enabled: true, createdAtMs: 1, updatedAtMs: 1 });
    await a.close();

    // Without the old key the start stops, naming the key it lacks.
    expect(() => createSqliteStores({ path: file, synchronous: 'FULL', writer: 'inline', secrets: new FieldCipher([newKey]) })).toThrow(/old/);
    // With both (new first): re-encrypted under the new key, still readable.
    const b = createSqliteStores({ path: file, synchronous: 'FULL', writer: 'inline', secrets: new FieldCipher([newKey, oldKey]) });
    expect(b.sealedSecrets).toBe(1);
    expect(await b.vendors.getConnection('org-1', 'bodytrace')).toMatchObject({ settings: { username: 'bt', password: 'a long password' } });
    await b.close();
    const db = new Database(file, { readonly: true });
    expect((db.prepare('SELECT config FROM vendor_connections').get() as { config: string }).config).toMatch(/^enc1\.new\./);
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
