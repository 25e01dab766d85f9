import { rmSync } from 'node:fs';
import path from 'node:path';
import { alertStoreContract } from '../../core/contract/alert-store.contract.js';
import { tempDir } from '../../test/helpers/gateway.js';
import { createSqliteStores } from './index.js';

/** The clinical database (clinical.sqlite), each test on its own files. */
alertStoreContract('SqliteAlertStore', async () => {
  const dir = tempDir('rpm-sqlite-clinical-');
  const stores = createSqliteStores({ path: path.join(dir, 'rpm.sqlite'), synchronous: 'FULL' });
  return {
    store: stores.alerts,
    progress: stores.progress,
    dispose: async () => {
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
