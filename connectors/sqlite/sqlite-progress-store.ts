import type { ProgressStore } from '../../core/ports/progress-store.js';
import type { SqliteDatabase } from './database.js';

/** ProgressStore on the clinical database (positions of the reading log's followers). */
export class SqliteProgressStore implements ProgressStore {
  private readonly get;
  private readonly set;

  constructor(db: SqliteDatabase) {
    this.get = db.prepare('SELECT seq FROM log_progress WHERE name = ?');
    this.set = db.prepare('INSERT INTO log_progress (name, seq) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET seq = max(seq, excluded.seq)');
  }

  async position(name: string): Promise<number> {
    return (this.get.get(name) as { seq: number } | undefined)?.seq ?? 0;
  }

  async advance(name: string, seq: number): Promise<void> {
    this.set.run(name, seq);
  }
}
