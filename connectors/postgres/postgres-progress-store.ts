import type { ProgressStore } from '../../core/ports/progress-store.js';
import type { Pool } from './database.js';

/** ProgressStore in `log_progress` (positions of the reading log's followers). */
export class PostgresProgressStore implements ProgressStore {
  constructor(private readonly pool: Pool) {}

  async position(name: string): Promise<number> {
    const { rows } = await this.pool.query<{ seq: number }>({ name: 'rpm_progress_get', text: 'SELECT seq FROM log_progress WHERE name = $1', values: [name] });
    return rows[0]?.seq ?? 0;
  }

  async advance(name: string, seq: number): Promise<void> {
    await this.pool.query({
      name: 'rpm_progress_set',
      text: 'INSERT INTO log_progress (name, seq) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET seq = GREATEST(log_progress.seq, excluded.seq)',
      values: [name, seq],
    });
  }
}
