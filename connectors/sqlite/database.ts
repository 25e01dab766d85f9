import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { type Migration, MIGRATIONS } from './migrations.js';

export type SqliteDatabase = Database.Database;

export interface SqliteOptions {
  /** File path, or ':memory:'. */
  readonly path: string;
  /** FULL: a commit survives power loss. NORMAL: it survives a process crash only. */
  readonly synchronous: 'FULL' | 'NORMAL';
}

/**
 * The database holds PHI: its directory is created 0700 and its files 0600. SQLite gives the
 * `-wal` and `-shm` files it creates the database file's own mode, so creating that file 0600
 * before SQLite opens it covers all three; files of an older install are tightened.
 */
function privateFiles(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      if ((fs.statSync(f).mode & 0o077) !== 0) fs.chmodSync(f, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

/** Open (creating if needed) and migrate the database. WAL lets readers run beside the writer. */
export function openSqlite(options: SqliteOptions, migrations: readonly Migration[] = MIGRATIONS): SqliteDatabase {
  if (options.path !== ':memory:') privateFiles(options.path);
  const db = new Database(options.path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous}`);
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.pragma('cache_size = -65536');
  db.pragma('temp_store = MEMORY');
  // Checkpoint every ~40 MB of WAL instead of SQLite's 1000 pages (~4 MB): each checkpoint
  // fsyncs the WAL and the database, and at ingest rates 1000 pages fill every few group
  // commits (benchmarks/README.md). Durability is unchanged: every commit is still fsync'd
  // to the WAL under synchronous=FULL.
  db.pragma('wal_autocheckpoint = 10000');
  migrate(db, migrations);
  return db;
}

function migrate(db: SqliteDatabase, migrations: readonly Migration[]): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)');
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
  );
  for (const m of migrations) {
    if (applied.has(m.version)) continue;
    // SQLite ignores this pragma inside a transaction, so it is set around it.
    if (m.rebuildsTables === true) db.pragma('foreign_keys = OFF');
    try {
      db.transaction(() => {
        db.exec(m.sql);
        if (m.rebuildsTables === true && (db.pragma('foreign_key_check') as unknown[]).length > 0) {
          throw new Error(`migration ${m.version} (${m.name}) would leave rows pointing at nothing`);
        }
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
      }).immediate();
    } finally {
      if (m.rebuildsTables === true) db.pragma('foreign_keys = ON');
    }
  }
}

export type PreparedStatement = Database.Statement;

/**
 * Prepared statements by SQL text, for queries a store builds per call. Preparing is a parse and
 * plan each time (a profile of the rules engine showed `prepare` at ~10 % of the gateway's CPU);
 * a statement is reusable once `all`/`get`/`run` returns. The set of SQL texts is small (a few
 * shapes per method), so the cache is bounded only as a guard.
 */
export function statementCache(db: SqliteDatabase, max = 500): (sql: string) => PreparedStatement {
  const cache = new Map<string, PreparedStatement>();
  return (sql) => {
    let stmt = cache.get(sql);
    if (stmt === undefined) {
      stmt = db.prepare(sql);
      if (cache.size >= max) cache.clear();
      cache.set(sql, stmt);
    }
    return stmt;
  };
}
