import { rmSync } from 'node:fs';
import path from 'node:path';
import { alertStoreContract } from '../../core/contract/alert-store.contract.js';
import { auditLogContract } from '../../core/contract/audit-log.contract.js';
import { tempDir } from '../../test/helpers/gateway.js';
import { createSqliteStores } from './index.js';

/** The clinical database (clinical.sqlite) and the audit log, each test on its own files. */
async function fresh() {
  const dir = tempDir('rpm-sqlite-clinical-');
  const stores = createSqliteStores({ path: path.join(dir, 'rpm.sqlite'), synchronous: 'FULL' });
  return {
    stores,
    dispose: async () => {
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

alertStoreContract('SqliteAlertStore', async () => {
  const { stores, dispose } = await fresh();
  return { store: stores.alerts, dispose };
});

auditLogContract('SqliteAuditLog', async () => {
  const { stores, dispose } = await fresh();
  return { log: stores.audit, dispose };
});
