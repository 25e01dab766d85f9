import type { AuditLog } from '../../core/ports/audit-log.js';
import type { ReadingStore } from '../../core/ports/reading-store.js';
import type { RegistryStore } from '../../core/ports/registry-store.js';
import { openSqlite, type SqliteOptions } from './database.js';
import { SqliteAuditLog } from './sqlite-audit-log.js';
import { SqliteReadingStore } from './sqlite-reading-store.js';
import { SqliteRegistryStore } from './sqlite-registry-store.js';

export interface SqliteStores {
  readonly readings: ReadingStore;
  readonly registry: RegistryStore;
  readonly audit: AuditLog;
  close(): Promise<void>;
}

/** The embedded default: every store in one SQLite file (WAL). */
export function createSqliteStores(options: SqliteOptions): SqliteStores {
  const db = openSqlite(options);
  let closed = false;
  return {
    readings: new SqliteReadingStore(db),
    registry: new SqliteRegistryStore(db),
    audit: new SqliteAuditLog(db),
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
