import type { Config } from '../core/config/schema.js';
import type { FieldCipher } from '../core/crypto/field-encryption.js';
import type { Logger } from '../core/logging.js';
import { createPostgresStores, type PostgresStores } from './postgres/index.js';
import { createSqliteStores, type SqliteStores } from './sqlite/index.js';

/**
 * The stores named by RPM_STORE: the embedded SQLite files (default), or every port on one
 * PostgreSQL database, migrated before the gateway listens.
 */
export async function openStores(config: Config, secrets: FieldCipher, log: Logger, applicationName = 'rpm-gateway'): Promise<SqliteStores | PostgresStores> {
  const store = config.store;
  if (store.kind === 'sqlite') return createSqliteStores({ path: store.path, synchronous: store.synchronous, secrets });
  const stores = await createPostgresStores({
    secrets,
    url: store.url,
    poolSize: store.poolSize,
    statementTimeoutMs: store.statementTimeoutMs,
    applicationName,
    // Idle connections cut by a server restart or the network; the pool replaces them on next use.
    onError: (err) => log.warn({ err }, 'PostgreSQL connection lost'),
  });
  const { durability } = stores;
  log.info({ serverVersion: durability.serverVersion, migrated: stores.migrated }, 'PostgreSQL store open');
  if (durability.fsync !== 'on') {
    log.warn('PostgreSQL runs with fsync=off: an acknowledged reading may be lost in an OS crash or power loss');
  }
  return stores;
}

