import { rmSync } from 'node:fs';
import path from 'node:path';
import { visitStoreContract } from '../../core/contract/visit-store.contract.js';
import { tempDir } from '../../test/helpers/gateway.js';
import { createSqliteStores } from './index.js';

/** Visits live in clinical.sqlite beside the time log; each test on its own files. */
visitStoreContract('SqliteVisitStore', async () => {
  const dir = tempDir('rpm-sqlite-visits-');
  const stores = createSqliteStores({ path: path.join(dir, 'rpm.sqlite'), synchronous: 'FULL' });
  return {
    visits: stores.visits,
    alerts: stores.alerts,
    jobs: stores.jobs,
    dispose: async () => {
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
