import type { AuditEntry, AuditLog } from '../../core/ports/audit-log.js';
import { inTransaction, lockFor, type Pool } from './database.js';

interface AuditRow {
  at_ms: number;
  actor: string;
  action: string;
  subject: string;
  outcome: string;
  source_ip: string | null;
  details: AuditEntry['details'];
}

/** The advisory lock that makes the order of `seq` the order of commits. */
export const AUDIT_LOG_LOCK = 'rpm.audit-log';

const COLUMNS = 'at_ms, actor, action, subject, outcome, source_ip, details';

/**
 * AuditLog on PostgreSQL. The table is append-only in the database itself (a trigger refuses
 * UPDATE, DELETE and TRUNCATE; migrations.ts version 5).
 *
 * Each record is inserted under a transaction-scoped advisory lock and takes the next position
 * (newest + 1) under it, so positions are contiguous from 1 and become visible in one order even
 * when several processes record at once: the entry with the highest `seq` is always the last one
 * committed. That is what a hash chain needs (the next entry's hash covers the newest entry's,
 * read in the same transaction, under the same lock), and it is why `list` answers in recording
 * order rather than by `atMs`.
 */
export class PostgresAuditLog implements AuditLog {
  constructor(private readonly pool: Pool) {}

  async record(e: AuditEntry): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await lockFor(client, AUDIT_LOG_LOCK);
      await client.query({
        name: 'rpm_audit_insert',
        // Under the lock nobody else inserts: the next position is the newest one plus one.
        text: `INSERT INTO audit_log (seq, ${COLUMNS}) VALUES ((SELECT COALESCE(max(seq), 0) + 1 FROM audit_log), $1, $2, $3, $4, $5, $6, $7)`,
        values: [e.atMs, e.actor, e.action, e.subject, e.outcome, e.sourceIp, e.details === null ? null : JSON.stringify(e.details)],
      });
    });
  }

  async list(options: { limit: number; subjectId?: string }): Promise<AuditEntry[]> {
    const { rows } =
      options.subjectId === undefined
        ? await this.pool.query<AuditRow>(`SELECT ${COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT $1`, [options.limit])
        : await this.pool.query<AuditRow>(`SELECT ${COLUMNS} FROM audit_log WHERE subject = $1 ORDER BY seq DESC LIMIT $2`, [options.subjectId, options.limit]);
    return rows.map((r) => ({
      atMs: r.at_ms,
      actor: r.actor,
      action: r.action,
      subject: r.subject,
      outcome: r.outcome as AuditEntry['outcome'],
      sourceIp: r.source_ip,
      details: r.details,
    }));
  }
}
