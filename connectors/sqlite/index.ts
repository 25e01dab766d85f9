import type { AuditLog } from '../../core/ports/audit-log.js';
import type { ReadingStore } from '../../core/ports/reading-store.js';
import type { RegistryStore } from '../../core/ports/registry-store.js';
import { prepareBatchWriter } from './batch-writer.js';
import { openSqlite, type SqliteOptions } from './database.js';
import { SqliteAuditLog } from './sqlite-audit-log.js';
import { SqliteReadingStore } from './sqlite-reading-store.js';
import { SqliteRegistryStore } from './sqlite-registry-store.js';
import { WorkerWriter } from './worker-writer.js';

export interface SqliteStores {
  readonly readings: ReadingStore;
  readonly registry: RegistryStore;
  readonly audit: AuditLog;
  close(): Promise<void>;
}

export interface SqliteStoreOptions extends SqliteOptions {
  /**
   * 'thread' commits reading batches in a writer thread so that inserts and fsync do not block
   * the event loop (the default for files); 'inline' commits on this thread (':memory:' must).
   */
  readonly writer?: 'thread' | 'inline';
}

/** The embedded default: every store in one SQLite file (WAL). */
export function createSqliteStores(options: SqliteStoreOptions): SqliteStores {
  const db = openSqlite(options);
  const inline = options.path === ':memory:' || options.writer === 'inline';
  const worker = inline ? undefined : new WorkerWriter({ path: options.path, synchronous: options.synchronous });
  const write = worker === undefined ? prepareBatchWriter(db) : (batch: Parameters<WorkerWriter['commit']>[0]) => worker.commit(batch);
  let closed = false;
  return {
    readings: new SqliteReadingStore(db, write),
    registry: new SqliteRegistryStore(db),
    audit: new SqliteAuditLog(db),
    async close() {
      if (closed) return;
      closed = true;
      await worker?.close();
      db.close();
    },
  };
}
