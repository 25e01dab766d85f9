import { rmSync } from 'node:fs';
import path from 'node:path';
import { forwardingStoreContract } from '../../core/contract/forwarding-store.contract.js';
import { tempDir } from '../../test/helpers/gateway.js';
import { makeReading } from '../../test/helpers/readings.js';
import { testCipher } from '../../test/helpers/secrets.js';
import { createSqliteStores } from './index.js';

/** The outbox shares the reading writer's transaction, so the contract runs with the writer thread. */
forwardingStoreContract(
  'SqliteForwardingStore (writer thread)',
  async () => {
    const dir = tempDir('rpm-sqlite-fwd-');
    const stores = createSqliteStores({ path: path.join(dir, 'rpm.sqlite'), synchronous: 'FULL', writer: 'thread', secrets: testCipher() });
    return {
      readings: stores.readings,
      forwarding: stores.forwarding,
      addOrganization: async (id) => {
        await stores.staff.createOrganization({ id, name: id, createdAtMs: 1 });
      },
      addPatient: async (id, organizationId) => {
        await stores.registry.createPatient({ id, organizationId, createdAtMs: 1 });
      },
      dispose: async () => {
        await stores.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  makeReading,
);
