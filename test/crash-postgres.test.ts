import { describeCrashUnderLoad } from './helpers/crash-under-load.js';
import { createTestDatabase } from './helpers/postgres.js';

/**
 * The same SIGKILL-under-load scenario with every store on PostgreSQL (RPM_STORE=postgres): an
 * acknowledgement means PostgreSQL committed (synchronous_commit on), so nothing acknowledged is
 * lost when the gateway dies, and the unique (device, key) index keeps resends single.
 */
describeCrashUnderLoad('crash safety on PostgreSQL (SIGKILL under load)', async () => {
  const db = await createTestDatabase();
  return { env: { RPM_STORE: 'postgres', RPM_DATABASE_URL: db.url }, dispose: () => db.drop() };
});
