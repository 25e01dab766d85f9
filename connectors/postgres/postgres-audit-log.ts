import { type ChainVerification, seal, verifyByPages } from '../../core/audit/chain.js';
import type { AuditEntry, AuditHead, AuditLog, SealedAuditEntry } from '../../core/ports/audit-log.js';
import { inTransaction, lockFor, type Pool } from './database.js';

interface AuditRow {
  seq: number;
  at_ms: number;
  actor: string;
  action: string;
  subject: string;
  outcome: string;
  source_ip: string | null;
  details: AuditEntry['details'];
  prev_hash: string;
  hash: string;
  patients: string[];
}

/** The advisory lock every append holds from reading the head to COMMIT. */
export const AUDIT_LOG_LOCK = 'rpm.audit-log';

const COLUMNS = `a.seq, a.at_ms, a.actor, a.action, a.subject, a.outcome, a.source_ip, a.details, a.prev_hash, a.hash,
  (SELECT coalesce(json_agg(p.patient_id), '[]'::json) FROM audit_log_patients p WHERE p.seq = a.seq) AS patients`;

/**
 * AuditLog on PostgreSQL: the hash chain of core/audit/chain.ts in append-only tables (triggers
 * refuse UPDATE, DELETE and TRUNCATE for every role; migrations.ts version 5).
 *
 * Each record takes a transaction-scoped advisory lock, reads the head, and appends the next
 * sealed entry (newest + 1) in the same transaction, so writers in several processes never fork
 * the chain, positions are contiguous from 1, and seq order is commit order: the entry with the
 * highest `seq` is always the last one committed. That is why `list` answers in recording order
 * rather than by `atMs`.
 */
export class PostgresAuditLog implements AuditLog {
  constructor(private readonly pool: Pool) {}

  async record(e: AuditEntry): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await lockFor(client, AUDIT_LOG_LOCK);
      const { rows } = await client.query<AuditHead>({ name: 'rpm_audit_head', text: 'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1' });
      const s = seal(rows[0] ?? null, e);
      await client.query({
        name: 'rpm_audit_append',
        text: 'INSERT INTO audit_log (seq, at_ms, actor, action, subject, outcome, source_ip, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
        values: [s.seq, s.atMs, s.actor, s.action, s.subject, s.outcome, s.sourceIp, s.details === null ? null : JSON.stringify(s.details), s.prevHash, s.hash],
      });
      if (s.patientIds.length > 0) {
        await client.query({
          name: 'rpm_audit_patients',
          text: 'INSERT INTO audit_log_patients (patient_id, seq) SELECT unnest($1::text[]), $2',
          values: [s.patientIds, s.seq],
        });
      }
    });
  }

  async list(options: { limit: number; subjectId?: string; beforeSeq?: number }): Promise<SealedAuditEntry[]> {
    const before = options.beforeSeq ?? Number.MAX_SAFE_INTEGER;
    const subject = options.subjectId;
    let rows: AuditRow[];
    if (subject === undefined) {
      ({ rows } = await this.pool.query<AuditRow>(`SELECT ${COLUMNS} FROM audit_log a WHERE a.seq < $1 ORDER BY a.seq DESC LIMIT $2`, [before, options.limit]));
    } else if (subject.startsWith('patient:')) {
      // As the subject, or among the patients an access disclosed.
      ({ rows } = await this.pool.query<AuditRow>(
        `SELECT ${COLUMNS} FROM audit_log a WHERE a.seq IN (
           SELECT seq FROM audit_log WHERE subject = $1 AND seq < $3
           UNION SELECT seq FROM audit_log_patients WHERE patient_id = $2 AND seq < $3)
         ORDER BY a.seq DESC LIMIT $4`,
        [subject, subject.slice('patient:'.length), before, options.limit],
      ));
    } else {
      ({ rows } = await this.pool.query<AuditRow>(`SELECT ${COLUMNS} FROM audit_log a WHERE a.subject = $1 AND a.seq < $2 ORDER BY a.seq DESC LIMIT $3`, [
        subject,
        before,
        options.limit,
      ]));
    }
    return rows.map(toEntry);
  }

  async range(options: { afterSeq: number; limit: number }): Promise<SealedAuditEntry[]> {
    const { rows } = await this.pool.query<AuditRow>(`SELECT ${COLUMNS} FROM audit_log a WHERE a.seq > $1 ORDER BY a.seq LIMIT $2`, [options.afterSeq, options.limit]);
    return rows.map(toEntry);
  }

  async head(): Promise<AuditHead | null> {
    const { rows } = await this.pool.query<AuditHead>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    return rows[0] ?? null;
  }

  async verify(): Promise<ChainVerification> {
    return verifyByPages((options) => this.range(options));
  }
}

function toEntry(r: AuditRow): SealedAuditEntry {
  return {
    seq: r.seq,
    atMs: r.at_ms,
    actor: r.actor,
    action: r.action,
    subject: r.subject,
    outcome: r.outcome as AuditEntry['outcome'],
    sourceIp: r.source_ip,
    details: r.details,
    patientIds: [...r.patients].sort(),
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}
