import type { AuditEntry, AuditLog } from '../../core/ports/audit-log.js';
import { type PreparedStatement, type SqliteDatabase, statementCache } from './database.js';

interface AuditRow {
  at_ms: number;
  actor: string;
  action: string;
  subject: string;
  outcome: string;
  source_ip: string | null;
  details: string | null;
}

export class SqliteAuditLog implements AuditLog {
  private readonly insert;

  private readonly sql: (sql: string) => PreparedStatement;

  constructor(private readonly db: SqliteDatabase) {
    this.sql = statementCache(db);
    this.insert = db.prepare(
      'INSERT INTO audit_log (at_ms, actor, action, subject, outcome, source_ip, details) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
  }

  async record(e: AuditEntry): Promise<void> {
    this.insert.run(e.atMs, e.actor, e.action, e.subject, e.outcome, e.sourceIp, e.details === null ? null : JSON.stringify(e.details));
  }

  async list(options: { limit: number; subjectId?: string }): Promise<AuditEntry[]> {
    const rows = (
      options.subjectId === undefined
        ? this.sql('SELECT * FROM audit_log ORDER BY seq DESC LIMIT ?').all(options.limit)
        : this.sql('SELECT * FROM audit_log WHERE subject = ? ORDER BY seq DESC LIMIT ?').all(options.subjectId, options.limit)
    ) as AuditRow[];
    return rows.map((r) => ({
      atMs: r.at_ms,
      actor: r.actor,
      action: r.action,
      subject: r.subject,
      outcome: r.outcome as AuditEntry['outcome'],
      sourceIp: r.source_ip,
      details: r.details === null ? null : (JSON.parse(r.details) as AuditEntry['details']),
    }));
  }
}
