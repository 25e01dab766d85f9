import { type ChainVerification, GENESIS_HASH, seal, verifyByPages } from '../../core/audit/chain.js';
import type { AuditEntry, AuditHead, AuditLog, SealedAuditEntry } from '../../core/ports/audit-log.js';
import { type PreparedStatement, type SqliteDatabase, statementCache } from './database.js';

interface AuditRow {
  seq: number;
  at_ms: number;
  actor: string;
  action: string;
  subject: string;
  outcome: string;
  source_ip: string | null;
  details: string | null;
  prev_hash: string;
  hash: string;
  patients: string | null;
}

const COLUMNS = `a.seq, a.at_ms, a.actor, a.action, a.subject, a.outcome, a.source_ip, a.details, a.prev_hash, a.hash,
  (SELECT json_group_array(p.patient_id) FROM audit_log_patients p WHERE p.seq = a.seq) AS patients`;

/**
 * The audit log in the main SQLite file: a hash chain (core/audit/chain.ts) in an append-only
 * table (migration 5's triggers refuse UPDATE and DELETE). Each record reads the head and appends
 * the next sealed entry in one IMMEDIATE transaction, so concurrent writers cannot fork the chain.
 */
export class SqliteAuditLog implements AuditLog {
  private readonly sql: (sql: string) => PreparedStatement;
  private readonly append: (entry: AuditEntry) => void;

  constructor(private readonly db: SqliteDatabase) {
    this.sql = statementCache(db);
    const insert = db.prepare(
      'INSERT INTO audit_log (seq, at_ms, actor, action, subject, outcome, source_ip, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const insertPatient = db.prepare('INSERT INTO audit_log_patients (patient_id, seq) VALUES (?, ?)');
    const headQuery = db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    const tx = db.transaction((entry: AuditEntry) => {
      const head = (headQuery.get() as AuditHead | undefined) ?? null;
      const s = seal(head, entry);
      insert.run(s.seq, s.atMs, s.actor, s.action, s.subject, s.outcome, s.sourceIp, s.details === null ? null : JSON.stringify(s.details), s.prevHash, s.hash);
      for (const p of s.patientIds) insertPatient.run(p, s.seq);
    });
    this.append = (entry) => tx.immediate(entry);
    this.sealLegacyEntries();
  }

  async record(e: AuditEntry): Promise<void> {
    this.append(e);
  }

  async list(options: { limit: number; subjectId?: string; beforeSeq?: number }): Promise<SealedAuditEntry[]> {
    const before = options.beforeSeq ?? Number.MAX_SAFE_INTEGER;
    const subject = options.subjectId;
    let rows: AuditRow[];
    if (subject === undefined) {
      rows = this.sql(`SELECT ${COLUMNS} FROM audit_log a WHERE a.seq < ? ORDER BY a.seq DESC LIMIT ?`).all(before, options.limit) as AuditRow[];
    } else if (subject.startsWith('patient:')) {
      // As the subject, or among the patients an access disclosed.
      rows = this.sql(
        `SELECT ${COLUMNS} FROM audit_log a WHERE a.seq IN (
           SELECT seq FROM audit_log WHERE subject = @subject AND seq < @before
           UNION SELECT seq FROM audit_log_patients WHERE patient_id = @patient AND seq < @before)
         ORDER BY a.seq DESC LIMIT @limit`,
      ).all({ subject, patient: subject.slice('patient:'.length), before, limit: options.limit }) as AuditRow[];
    } else {
      rows = this.sql(`SELECT ${COLUMNS} FROM audit_log a WHERE a.subject = ? AND a.seq < ? ORDER BY a.seq DESC LIMIT ?`).all(subject, before, options.limit) as AuditRow[];
    }
    return rows.map(toEntry);
  }

  async range(options: { afterSeq: number; limit: number }): Promise<SealedAuditEntry[]> {
    const rows = this.sql(`SELECT ${COLUMNS} FROM audit_log a WHERE a.seq > ? ORDER BY a.seq LIMIT ?`).all(options.afterSeq, options.limit) as AuditRow[];
    return rows.map(toEntry);
  }

  async head(): Promise<AuditHead | null> {
    return (this.sql('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as AuditHead | undefined) ?? null;
  }

  async verify(): Promise<ChainVerification> {
    return verifyByPages((options) => this.range(options));
  }

  /**
   * Entries written before the chain existed (migration 5) are sealed once, in order; the
   * update trigger allows exactly this (a row without a hash) and nothing else.
   */
  private sealLegacyEntries(): void {
    const legacy = this.db.prepare('SELECT * FROM audit_log WHERE hash IS NULL ORDER BY seq').all() as Omit<AuditRow, 'patients' | 'hash' | 'prev_hash'>[];
    if (legacy.length === 0) return;
    const update = this.db.prepare('UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?');
    this.db
      .transaction(() => {
        let prevHash = GENESIS_HASH;
        for (const r of legacy) {
          // The entry keeps its number; a gap left by rows deleted before the chain existed stays
          // visible to `verify` as a gap.
          const s = seal({ seq: r.seq - 1, hash: prevHash }, toEntry({ ...r, prev_hash: '', hash: '', patients: null }));
          update.run(s.prevHash, s.hash, r.seq);
          prevHash = s.hash;
        }
      })
      .immediate();
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
    details: r.details === null ? null : (JSON.parse(r.details) as AuditEntry['details']),
    patientIds: r.patients === null ? [] : (JSON.parse(r.patients) as string[]).sort(),
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}
