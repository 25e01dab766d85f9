import { afterAll } from 'vitest';
import { schedulingStoreContract } from '../../core/contract/scheduling-store.contract.js';
import { createTestDatabase, freshSchemaName, type TestDatabase } from '../../test/helpers/postgres.js';
import { testCipher } from '../../test/helpers/secrets.js';
import { createPostgresStores } from './index.js';

let database: Promise<TestDatabase> | undefined;
const db = (): Promise<TestDatabase> => (database ??= createTestDatabase());
afterAll(async () => {
  if (database !== undefined) await (await database).drop();
});

schedulingStoreContract('PostgresSchedulingStore', async () => {
  const stores = await createPostgresStores({ url: (await db()).url, schema: freshSchemaName(), poolSize: 8, statementTimeoutMs: 20_000, applicationName: 'rpm-test', secrets: testCipher() });
  return { scheduling: stores.scheduling, jobs: stores.jobs, dispose: () => stores.close() };
});
