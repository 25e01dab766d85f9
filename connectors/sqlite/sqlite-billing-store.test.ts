import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { billingStoreContract } from '../../core/contract/billing-store.contract.js';
import { tempDir } from '../../test/helpers/gateway.js';
import { createSqliteStores } from './index.js';

billingStoreContract('SqliteBillingStore', async () => {
  const stores = createSqliteStores({ path: path.join(tempDir('rpm-sqlite-billing-'), 'rpm.sqlite'), synchronous: 'FULL', writer: 'inline' });
  return { store: stores.billing, dispose: () => stores.close() };
});

describe('SqliteBillingStore append-only', () => {
  it('refuses to rewrite or delete a sign-off, even with SQL', async () => {
    const dir = tempDir('rpm-sqlite-billing-');
    const stores = createSqliteStores({ path: path.join(dir, 'rpm.sqlite'), synchronous: 'FULL', writer: 'inline' });
    await stores.billing.signOff({ organizationId: 'o', patientId: 'p', periodKey: 'p/device/2026-03-10', signedBy: 'dr', signedAtMs: 1, line: {}, lineSha256: 'x' });
    await stores.close();
    const db = new Database(path.join(dir, 'clinical.sqlite'));
    try {
      expect(() => db.prepare("UPDATE billing_sign_offs SET signed_by = 'someone'").run()).toThrow(/append-only/);
      expect(() => db.prepare('DELETE FROM billing_sign_offs').run()).toThrow(/append-only/);
    } finally {
      db.close();
    }
  });
});
