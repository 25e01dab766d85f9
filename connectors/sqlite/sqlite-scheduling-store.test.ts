import { rmSync } from 'node:fs';
import path from 'node:path';
import { schedulingStoreContract } from '../../core/contract/scheduling-store.contract.js';
import { tempDir } from '../../test/helpers/gateway.js';
import { testCipher } from '../../test/helpers/secrets.js';
import { createSqliteStores } from './index.js';

schedulingStoreContract('SqliteSchedulingStore', async () => {
  const dir = tempDir('rpm-sqlite-scheduling-');
  const stores = createSqliteStores({ path: path.join(dir, 'rpm.sqlite'), synchronous: 'FULL', writer: 'inline', secrets: testCipher() });
  return {
    scheduling: stores.scheduling,
    jobs: stores.jobs,
    dispose: async () => {
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
