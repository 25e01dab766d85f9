import type { RpmErrorCode } from '../../core/errors/codes.js';
import { RpmError } from '../../core/errors/rpm-error.js';
import type { DeliveryStatus, Destination, DestinationAuth, PatientMapping } from '../../core/model/destination.js';
import type { ReadingKind } from '../../core/model/reading-kinds.js';
import type {
  DeliveryQuery,
  DeliveryRecord,
  DeliveryUpdate,
  DestinationPatch,
  DueDelivery,
  ForwardingStore,
  NewDestination,
  RetrySelector,
} from '../../core/ports/forwarding-store.js';
import { READING_COLUMNS } from './batch-writer.js';
import { type PreparedStatement, type SqliteDatabase, statementCache } from './database.js';
import { type ReadingRow, toReading } from './sqlite-reading-store.js';

interface DestinationRow {
  id: string;
  organization_id: string;
  base_url: string;
  auth: string;
  patient_mapping: string;
  kinds: string;
  enabled: number;
  batch_size: number | null;
  created_at_ms: number;
  updated_at_ms: number;
}

interface OutboxRow {
  seq: number;
  destination_id: string;
  status: string;
  attempts: number;
  created_at_ms: number;
  next_attempt_at_ms: number;
  last_attempt_at_ms: number | null;
  delivered_at_ms: number | null;
  error_code: string | null;
  error_message: string | null;
  outcome: string | null;
  refs: string | null;
  reading_id: string;
  device_id: string;
  kind: string;
}

const toDestination = (r: DestinationRow): Destination => ({
  id: r.id,
  organizationId: r.organization_id,
  baseUrl: r.base_url,
  auth: JSON.parse(r.auth) as DestinationAuth,
  patientMapping: JSON.parse(r.patient_mapping) as PatientMapping,
  kinds: r.kinds.split(',') as ReadingKind[],
  enabled: r.enabled === 1,
  batchSize: r.batch_size,
  createdAtMs: r.created_at_ms,
  updatedAtMs: r.updated_at_ms,
});

const toRecord = (r: OutboxRow): DeliveryRecord => ({
  seq: r.seq,
  destinationId: r.destination_id,
  readingId: r.reading_id,
  deviceId: r.device_id,
  kind: r.kind as ReadingKind,
  status: r.status as DeliveryStatus,
  attempts: r.attempts,
  createdAtMs: r.created_at_ms,
  lastAttemptAtMs: r.last_attempt_at_ms,
  nextAttemptAtMs: r.status === 'pending' || r.status === 'failed' ? r.next_attempt_at_ms : null,
  deliveredAtMs: r.delivered_at_ms,
  errorCode: r.error_code as RpmErrorCode | null,
  errorMessage: r.error_message,
  outcome: r.outcome === null ? null : (JSON.parse(r.outcome) as unknown),
  refs: r.refs === null ? [] : (JSON.parse(r.refs) as string[]),
});

function constraintCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

const PREFIXED_READING_COLUMNS = READING_COLUMNS.split(', ')
  .map((c) => `r.${c}`)
  .join(', ');

/**
 * Destinations and the delivery outbox, in the readings database: the outbox rows are written by
 * the reading writer (batch-writer.ts) inside the reading's transaction; this class reads them and
 * records delivery attempts on the main connection, one small transaction per delivered chunk.
 */
export class SqliteForwardingStore implements ForwardingStore {
  private readonly due;
  private readonly nextDue;
  private readonly attemptDelivered;
  private readonly attemptFailed;
  private readonly attemptDead;

  private readonly sql: (sql: string) => PreparedStatement;

  constructor(private readonly db: SqliteDatabase) {
    this.sql = statementCache(db);
    this.due = db.prepare(
      `SELECT o.seq AS o_seq, o.destination_id AS o_destination_id, o.attempts AS o_attempts, ${PREFIXED_READING_COLUMNS}
       FROM fhir_outbox o JOIN readings r ON r.seq = o.reading_seq
       WHERE o.destination_id = ? AND o.status IN ('pending', 'failed') AND o.next_attempt_at_ms <= ?
       ORDER BY o.next_attempt_at_ms, o.seq LIMIT ?`,
    );
    this.nextDue = db.prepare(
      "SELECT min(next_attempt_at_ms) AS t FROM fhir_outbox WHERE destination_id = ? AND status IN ('pending', 'failed')",
    );
    this.attemptDelivered = db.prepare(
      "UPDATE fhir_outbox SET status = 'delivered', attempts = attempts + 1, last_attempt_at_ms = ?, delivered_at_ms = ?, refs = ?, error_code = NULL, error_message = NULL, outcome = NULL WHERE seq = ?",
    );
    this.attemptFailed = db.prepare(
      "UPDATE fhir_outbox SET status = 'failed', attempts = attempts + 1, last_attempt_at_ms = ?, next_attempt_at_ms = ?, error_code = ?, error_message = ? WHERE seq = ?",
    );
    this.attemptDead = db.prepare(
      "UPDATE fhir_outbox SET status = 'dead', attempts = attempts + 1, last_attempt_at_ms = ?, error_code = ?, error_message = ?, outcome = ? WHERE seq = ?",
    );
  }

  async createDestination(d: NewDestination): Promise<Destination> {
    try {
      this.sql(
          `INSERT INTO fhir_destinations (id, organization_id, base_url, auth, patient_mapping, kinds, enabled, batch_size, created_at_ms, updated_at_ms)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          d.id,
          d.organizationId,
          d.baseUrl,
          JSON.stringify(d.auth),
          JSON.stringify(d.patientMapping),
          d.kinds.join(','),
          d.enabled ? 1 : 0,
          d.batchSize,
          d.createdAtMs,
          d.createdAtMs,
        );
    } catch (err) {
      const code = constraintCode(err);
      if (code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new RpmError('RPM_ERR_FHIR_DESTINATION_EXISTS', `FHIR destination '${d.id}' already exists`, { cause: err });
      if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
        throw new RpmError('RPM_ERR_ORGANIZATION_NOT_FOUND', `organization '${d.organizationId}' not found`, { cause: err, path: '/organizationId' });
      }
      throw err;
    }
    const created = await this.getDestination(d.id);
    if (created === undefined) throw new RpmError('RPM_ERR_INTERNAL', 'destination vanished after insert');
    return created;
  }

  async updateDestination(id: string, patch: DestinationPatch, atMs: number): Promise<Destination | undefined> {
    const sets: string[] = [];
    const params: (string | number | null)[] = [];
    const set = (column: string, value: string | number | null): void => {
      sets.push(`${column} = ?`);
      params.push(value);
    };
    if (patch.baseUrl !== undefined) set('base_url', patch.baseUrl);
    if (patch.auth !== undefined) set('auth', JSON.stringify(patch.auth));
    if (patch.patientMapping !== undefined) set('patient_mapping', JSON.stringify(patch.patientMapping));
    if (patch.kinds !== undefined) set('kinds', patch.kinds.join(','));
    if (patch.enabled !== undefined) set('enabled', patch.enabled ? 1 : 0);
    if (patch.batchSize !== undefined) set('batch_size', patch.batchSize);
    set('updated_at_ms', atMs);
    const changed = this.sql(`UPDATE fhir_destinations SET ${sets.join(', ')} WHERE id = ?`).run(...params, id).changes;
    return changed === 0 ? undefined : this.getDestination(id);
  }

  async getDestination(id: string): Promise<Destination | undefined> {
    const row = this.sql('SELECT * FROM fhir_destinations WHERE id = ?').get(id) as DestinationRow | undefined;
    return row === undefined ? undefined : toDestination(row);
  }

  async listDestinations(filter: { readonly organizationId?: string } = {}): Promise<Destination[]> {
    const rows = (
      filter.organizationId === undefined
        ? this.sql('SELECT * FROM fhir_destinations ORDER BY id').all()
        : this.sql('SELECT * FROM fhir_destinations WHERE organization_id = ? ORDER BY id').all(filter.organizationId)
    ) as DestinationRow[];
    return rows.map(toDestination);
  }

  async dueDeliveries(destinationId: string, nowMs: number, limit: number): Promise<DueDelivery[]> {
    const rows = this.due.all(destinationId, nowMs, limit) as (ReadingRow & { o_seq: number; o_destination_id: string; o_attempts: number })[];
    return rows.map((r) => ({ seq: r.o_seq, destinationId: r.o_destination_id, attempts: r.o_attempts, reading: toReading(r) }));
  }

  async nextDueAt(destinationId: string): Promise<number | undefined> {
    return (this.nextDue.get(destinationId) as { t: number | null }).t ?? undefined;
  }

  async recordAttempts(updates: readonly DeliveryUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    this.db
      .transaction(() => {
        for (const u of updates) {
          if (u.status === 'delivered') this.attemptDelivered.run(u.atMs, u.atMs, JSON.stringify(u.refs), u.seq);
          else if (u.status === 'failed') this.attemptFailed.run(u.atMs, u.nextAttemptAtMs, u.code, u.message, u.seq);
          else this.attemptDead.run(u.atMs, u.code, u.message, u.outcome === undefined || u.outcome === null ? null : JSON.stringify(u.outcome), u.seq);
        }
      })
      .immediate();
  }

  async listDeliveries(q: DeliveryQuery): Promise<DeliveryRecord[]> {
    const where = ['o.seq > ?'];
    const params: (string | number)[] = [q.afterSeq ?? 0];
    if (q.destinationId !== undefined) {
      where.push('o.destination_id = ?');
      params.push(q.destinationId);
    }
    if (q.statuses !== undefined && q.statuses.length > 0) {
      where.push(`o.status IN (${q.statuses.map(() => '?').join(', ')})`);
      params.push(...q.statuses);
    }
    params.push(q.limit);
    const rows = this.sql(
        `SELECT o.*, r.id AS reading_id, r.device_id, r.kind FROM fhir_outbox o JOIN readings r ON r.seq = o.reading_seq
         WHERE ${where.join(' AND ')} ORDER BY o.seq LIMIT ?`,
      )
      .all(...params) as OutboxRow[];
    return rows.map(toRecord);
  }

  async countDeliveries(destinationId: string): Promise<Record<DeliveryStatus, number>> {
    const counts: Record<DeliveryStatus, number> = { pending: 0, failed: 0, delivered: 0, dead: 0 };
    const rows = this.sql('SELECT status, count(*) AS n FROM fhir_outbox WHERE destination_id = ? GROUP BY status').all(destinationId) as {
      status: DeliveryStatus;
      n: number;
    }[];
    for (const r of rows) counts[r.status] = r.n;
    return counts;
  }

  async retryDeliveries(selector: RetrySelector, nowMs: number): Promise<number> {
    if (selector.statuses.length === 0 || (selector.seqs !== undefined && selector.seqs.length === 0)) return 0;
    const where = [`status IN (${selector.statuses.map(() => '?').join(', ')})`];
    const params: (string | number)[] = [...selector.statuses];
    if (selector.destinationId !== undefined) {
      where.push('destination_id = ?');
      params.push(selector.destinationId);
    }
    if (selector.seqs !== undefined) {
      where.push(`seq IN (${selector.seqs.map(() => '?').join(', ')})`);
      params.push(...selector.seqs);
    }
    return this.sql(`UPDATE fhir_outbox SET status = 'pending', next_attempt_at_ms = ? WHERE ${where.join(' AND ')}`).run(nowMs, ...params).changes;
  }
}
