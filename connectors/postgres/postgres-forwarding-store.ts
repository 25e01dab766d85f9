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
import { isForeignKeyViolation, isUniqueViolation, type Pool } from './database.js';
import { PREFIXED_READING_COLUMNS, type ReadingRow, toReading } from './reading-rows.js';

interface DestinationRow {
  id: string;
  organization_id: string;
  base_url: string;
  auth: DestinationAuth;
  patient_mapping: PatientMapping;
  kinds: string[];
  enabled: boolean;
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
  outcome: unknown;
  refs: string[] | null;
  reading_id: string;
  device_id: string;
  kind: string;
}

const DESTINATION_COLUMNS = 'id, organization_id, base_url, auth, patient_mapping, kinds, enabled, batch_size, created_at_ms, updated_at_ms';
const OUTBOX_COLUMNS =
  'o.seq, o.destination_id, o.status, o.attempts, o.created_at_ms, o.next_attempt_at_ms, o.last_attempt_at_ms, o.delivered_at_ms, o.error_code, o.error_message, o.outcome, o.refs';

const toDestination = (r: DestinationRow): Destination => ({
  id: r.id,
  organizationId: r.organization_id,
  baseUrl: r.base_url,
  auth: r.auth,
  patientMapping: r.patient_mapping,
  kinds: r.kinds as ReadingKind[],
  enabled: r.enabled,
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
  outcome: r.outcome ?? null,
  refs: r.refs ?? [],
});

/**
 * One statement records every attempt of a delivered chunk. Per status, as the SQLite store:
 * delivered clears the error and keeps the refs; failed sets the next attempt and the error;
 * dead keeps the error and the server's OperationOutcome.
 */
const RECORD_ATTEMPTS = `
  UPDATE fhir_outbox o SET
    status = u.status,
    attempts = o.attempts + 1,
    last_attempt_at_ms = u.at_ms,
    delivered_at_ms = CASE WHEN u.status = 'delivered' THEN u.at_ms ELSE o.delivered_at_ms END,
    refs = CASE WHEN u.status = 'delivered' THEN u.refs ELSE o.refs END,
    next_attempt_at_ms = CASE WHEN u.status = 'failed' THEN u.next_attempt_at_ms ELSE o.next_attempt_at_ms END,
    error_code = CASE WHEN u.status = 'delivered' THEN NULL ELSE u.code END,
    error_message = CASE WHEN u.status = 'delivered' THEN NULL ELSE u.message END,
    outcome = CASE WHEN u.status = 'delivered' THEN NULL WHEN u.status = 'dead' THEN u.outcome ELSE o.outcome END
  FROM json_to_recordset($1::json) AS u(seq bigint, status text, at_ms bigint, next_attempt_at_ms bigint, code text, message text, outcome json, refs json)
  WHERE o.seq = u.seq`;

/**
 * Destinations and the delivery outbox on PostgreSQL. Outbox rows are written by
 * PostgresReadingStore.commit inside the reading's transaction; this class reads them and
 * records delivery attempts, one statement per delivered chunk.
 */
export class PostgresForwardingStore implements ForwardingStore {
  constructor(private readonly pool: Pool) {}

  async createDestination(d: NewDestination): Promise<Destination> {
    try {
      const { rows } = await this.pool.query<DestinationRow>(
        `INSERT INTO fhir_destinations (${DESTINATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING ${DESTINATION_COLUMNS}`,
        [d.id, d.organizationId, d.baseUrl, JSON.stringify(d.auth), JSON.stringify(d.patientMapping), d.kinds, d.enabled, d.batchSize, d.createdAtMs],
      );
      const row = rows[0];
      if (row === undefined) throw new RpmError('RPM_ERR_INTERNAL', 'destination vanished after insert');
      return toDestination(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw new RpmError('RPM_ERR_FHIR_DESTINATION_EXISTS', `FHIR destination '${d.id}' already exists`, { cause: err });
      if (isForeignKeyViolation(err)) {
        throw new RpmError('RPM_ERR_ORGANIZATION_NOT_FOUND', `organization '${d.organizationId}' not found`, { cause: err, path: '/organizationId' });
      }
      throw err;
    }
  }

  async updateDestination(id: string, patch: DestinationPatch, atMs: number): Promise<Destination | undefined> {
    const sets: string[] = [];
    const params: unknown[] = [];
    const set = (column: string, value: unknown): void => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    if (patch.baseUrl !== undefined) set('base_url', patch.baseUrl);
    if (patch.auth !== undefined) set('auth', JSON.stringify(patch.auth));
    if (patch.patientMapping !== undefined) set('patient_mapping', JSON.stringify(patch.patientMapping));
    if (patch.kinds !== undefined) set('kinds', patch.kinds);
    if (patch.enabled !== undefined) set('enabled', patch.enabled);
    if (patch.batchSize !== undefined) set('batch_size', patch.batchSize);
    set('updated_at_ms', atMs);
    params.push(id);
    const { rows } = await this.pool.query<DestinationRow>(
      `UPDATE fhir_destinations SET ${sets.join(', ')} WHERE id = $${params.length} RETURNING ${DESTINATION_COLUMNS}`,
      params,
    );
    const row = rows[0];
    return row === undefined ? undefined : toDestination(row);
  }

  async getDestination(id: string): Promise<Destination | undefined> {
    const { rows } = await this.pool.query<DestinationRow>(`SELECT ${DESTINATION_COLUMNS} FROM fhir_destinations WHERE id = $1`, [id]);
    const row = rows[0];
    return row === undefined ? undefined : toDestination(row);
  }

  async listDestinations(filter: { readonly organizationId?: string } = {}): Promise<Destination[]> {
    const { rows } =
      filter.organizationId === undefined
        ? await this.pool.query<DestinationRow>(`SELECT ${DESTINATION_COLUMNS} FROM fhir_destinations ORDER BY id`)
        : await this.pool.query<DestinationRow>(`SELECT ${DESTINATION_COLUMNS} FROM fhir_destinations WHERE organization_id = $1 ORDER BY id`, [filter.organizationId]);
    return rows.map(toDestination);
  }

  async dueDeliveries(destinationId: string, nowMs: number, limit: number): Promise<DueDelivery[]> {
    const { rows } = await this.pool.query<ReadingRow & { o_seq: number; o_destination_id: string; o_attempts: number }>({
      name: 'rpm_due_deliveries',
      text: `SELECT o.seq AS o_seq, o.destination_id AS o_destination_id, o.attempts AS o_attempts, ${PREFIXED_READING_COLUMNS}
             FROM fhir_outbox o JOIN readings r ON r.seq = o.reading_seq
             WHERE o.destination_id = $1 AND o.status IN ('pending', 'failed') AND o.next_attempt_at_ms <= $2
             ORDER BY o.next_attempt_at_ms, o.seq LIMIT $3`,
      values: [destinationId, nowMs, limit],
    });
    return rows.map((r) => ({ seq: r.o_seq, destinationId: r.o_destination_id, attempts: r.o_attempts, reading: toReading(r) }));
  }

  async nextDueAt(destinationId: string): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ t: number | null }>({
      name: 'rpm_next_due',
      text: "SELECT min(next_attempt_at_ms) AS t FROM fhir_outbox WHERE destination_id = $1 AND status IN ('pending', 'failed')",
      values: [destinationId],
    });
    return rows[0]?.t ?? undefined;
  }

  async recordAttempts(updates: readonly DeliveryUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    // One row per outbox position: the last update of a position wins, as if applied in order.
    const last = new Map<number, DeliveryUpdate>();
    for (const u of updates) last.set(u.seq, u);
    const rows = [...last.values()].map((u) => ({
      seq: u.seq,
      status: u.status,
      at_ms: u.atMs,
      next_attempt_at_ms: u.status === 'failed' ? u.nextAttemptAtMs : null,
      code: u.status === 'delivered' ? null : u.code,
      message: u.status === 'delivered' ? null : u.message,
      outcome: u.status === 'dead' ? (u.outcome ?? null) : null,
      refs: u.status === 'delivered' ? u.refs : null,
    }));
    await this.pool.query({ name: 'rpm_record_attempts', text: RECORD_ATTEMPTS, values: [JSON.stringify(rows)] });
  }

  async listDeliveries(q: DeliveryQuery): Promise<DeliveryRecord[]> {
    const params: unknown[] = [q.afterSeq ?? 0];
    const where = ['o.seq > $1'];
    if (q.destinationId !== undefined) {
      params.push(q.destinationId);
      where.push(`o.destination_id = $${params.length}`);
    }
    if (q.statuses !== undefined && q.statuses.length > 0) {
      params.push(q.statuses);
      where.push(`o.status = ANY($${params.length}::text[])`);
    }
    params.push(q.limit);
    const { rows } = await this.pool.query<OutboxRow>(
      `SELECT ${OUTBOX_COLUMNS}, r.id AS reading_id, r.device_id, r.kind FROM fhir_outbox o JOIN readings r ON r.seq = o.reading_seq
       WHERE ${where.join(' AND ')} ORDER BY o.seq LIMIT $${params.length}`,
      params,
    );
    return rows.map(toRecord);
  }

  async countDeliveries(destinationId: string): Promise<Record<DeliveryStatus, number>> {
    const counts: Record<DeliveryStatus, number> = { pending: 0, failed: 0, delivered: 0, dead: 0 };
    const { rows } = await this.pool.query<{ status: DeliveryStatus; n: number }>(
      'SELECT status, count(*) AS n FROM fhir_outbox WHERE destination_id = $1 GROUP BY status',
      [destinationId],
    );
    for (const r of rows) counts[r.status] = r.n;
    return counts;
  }

  async retryDeliveries(selector: RetrySelector, nowMs: number): Promise<number> {
    if (selector.statuses.length === 0 || (selector.seqs !== undefined && selector.seqs.length === 0)) return 0;
    const params: unknown[] = [nowMs, selector.statuses];
    const where = ['status = ANY($2::text[])'];
    if (selector.destinationId !== undefined) {
      params.push(selector.destinationId);
      where.push(`destination_id = $${params.length}`);
    }
    if (selector.seqs !== undefined) {
      params.push(selector.seqs);
      where.push(`seq = ANY($${params.length}::bigint[])`);
    }
    const res = await this.pool.query(`UPDATE fhir_outbox SET status = 'pending', next_attempt_at_ms = $1 WHERE ${where.join(' AND ')}`, params);
    return res.rowCount ?? 0;
  }
}
