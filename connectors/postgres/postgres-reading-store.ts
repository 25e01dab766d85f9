import type { ReadingKind } from '../../core/model/reading-kinds.js';
import type { Reading } from '../../core/model/reading.js';
import type { CommitBatch, CommitOutcome, ReadingQuery, ReadingStore, Rejection, SequencedReading } from '../../core/ports/reading-store.js';
import { inTransaction, lockFor, type Pool } from './database.js';
import { READING_COLUMNS, READING_RECORD, type ReadingRow, readingRecord, type RejectionRow, toReading, toRejection } from './reading-rows.js';

/** The advisory lock every reading commit holds from its first insert to COMMIT. */
export const READING_LOG_LOCK = 'rpm.reading-log';

/**
 * New readings of the batch, in batch order. `NOT EXISTS` filters keys already stored before the
 * identity default is evaluated, so a duplicate burns no log position (the rules engine reads
 * consecutive positions from memory and goes to the log only at a gap). ON CONFLICT stays as the
 * safety net the unique index gives anyway.
 */
const INSERT_READINGS = `
  INSERT INTO readings (${READING_COLUMNS}, value)
  SELECT ${READING_COLUMNS}, value FROM json_to_recordset($1::json) AS x(${READING_RECORD})
  WHERE NOT EXISTS (SELECT 1 FROM readings r WHERE r.device_id = x.device_id AND r.idem_key = x.idem_key)
  ORDER BY x.i
  ON CONFLICT (device_id, idem_key) DO NOTHING
  RETURNING seq, device_id, idem_key`;

const INSERT_OUTBOX = `
  INSERT INTO fhir_outbox (destination_id, reading_seq, status, attempts, created_at_ms, next_attempt_at_ms)
  SELECT d, s, 'pending', 0, t, t FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS x(d, s, t)
  ON CONFLICT (destination_id, reading_seq) DO NOTHING`;

const INSERT_REJECTIONS = `
  INSERT INTO rejections (device_id, received_at_ms, transport, code, path, message, client_id, payload_sha256)
  SELECT device_id, received_at_ms, transport, code, path, message, client_id, payload_sha256
  FROM json_to_recordset($1::json) AS x(i integer, device_id text, received_at_ms bigint, transport text, code text, path text, message text, client_id text, payload_sha256 text)
  ORDER BY x.i`;

const keyOf = (deviceId: string, idempotencyKey: string): string => `${deviceId}\u0000${idempotencyKey}`;

/**
 * ReadingStore on PostgreSQL. One batch (a group commit: many devices' requests and publishes)
 * is one transaction of at most three statements, each carrying the whole batch as one JSON or
 * array parameter. `commit` resolves after COMMIT returned, which with synchronous_commit=on
 * (set on every connection) means the WAL holding the batch was flushed to disk.
 *
 * Log order: every commit takes a transaction-scoped advisory lock before it inserts, so log
 * positions are assigned and made visible in the same order, even with several gateway processes
 * writing: a consumer that has read position n never later finds a committed reading below n.
 */
export class PostgresReadingStore implements ReadingStore {
  constructor(private readonly pool: Pool) {}

  async commit(batch: CommitBatch): Promise<CommitOutcome[]> {
    const { readings } = batch;
    // The first reading of a key in the batch is the one stored; later ones are its duplicates.
    const firstOf = new Map<string, number>();
    const records: Record<string, unknown>[] = [];
    for (let i = 0; i < readings.length; i++) {
      const r = readings[i] as Reading;
      const key = keyOf(r.deviceId, r.idempotencyKey);
      if (firstOf.has(key)) continue;
      firstOf.set(key, i);
      records.push(readingRecord(r, i));
    }
    const seqs = await inTransaction(this.pool, async (client) => {
      await lockFor(client, READING_LOG_LOCK);
      const inserted = new Map<string, number>();
      if (records.length > 0) {
        const res = await client.query<{ seq: number; device_id: string; idem_key: string }>({
          name: 'rpm_insert_readings',
          text: INSERT_READINGS,
          values: [JSON.stringify(records)],
        });
        for (const row of res.rows) inserted.set(keyOf(row.device_id, row.idem_key), row.seq);
      }
      const seqOf = (i: number): number | undefined => {
        const r = readings[i];
        if (r === undefined) return undefined;
        const key = keyOf(r.deviceId, r.idempotencyKey);
        return firstOf.get(key) === i ? inserted.get(key) : undefined;
      };
      const forwards = (batch.forwards ?? []).flatMap((f) => {
        const seq = seqOf(f.reading);
        // A duplicate got its deliveries with the original reading.
        return seq === undefined ? [] : [{ destinationId: f.destinationId, seq, atMs: (readings[f.reading] as Reading).receivedAtMs }];
      });
      if (forwards.length > 0) {
        await client.query({
          name: 'rpm_insert_outbox',
          text: INSERT_OUTBOX,
          values: [forwards.map((f) => f.destinationId), forwards.map((f) => f.seq), forwards.map((f) => f.atMs)],
        });
      }
      if (batch.rejections.length > 0) {
        await client.query({ name: 'rpm_insert_rejections', text: INSERT_REJECTIONS, values: [JSON.stringify(batch.rejections.map(rejectionRecord))] });
      }
      return readings.map((_, i) => seqOf(i));
    });
    return readings.map((r, i) => {
      const seq = seqs[i];
      return seq === undefined ? { status: 'duplicate', id: r.id } : { status: 'accepted', id: r.id, seq };
    });
  }

  async queryReadings(q: ReadingQuery): Promise<Reading[]> {
    const where = ['patient_id = $1'];
    const params: unknown[] = [q.patientId];
    const param = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    if (q.kinds !== undefined && q.kinds.length > 0) where.push(`kind = ANY(${param(q.kinds)}::text[])`);
    if (q.fromMs !== undefined) where.push(`measured_at_ms >= ${param(q.fromMs)}`);
    if (q.toMs !== undefined) where.push(`measured_at_ms < ${param(q.toMs)}`);
    if (q.maxSeq !== undefined) where.push(`seq <= ${param(q.maxSeq)}`);
    if (q.after !== undefined) where.push(`(measured_at_ms, id) > (${param(q.after.measuredAtMs)}, ${param(q.after.id)})`);
    const limit = param(q.limit);
    const { rows } = await this.pool.query<ReadingRow>(
      `SELECT ${READING_COLUMNS} FROM readings WHERE ${where.join(' AND ')} ORDER BY measured_at_ms, id LIMIT ${limit}`,
      params,
    );
    return rows.map(toReading);
  }

  async getReading(deviceId: string, idempotencyKey: string): Promise<Reading | undefined> {
    const { rows } = await this.pool.query<ReadingRow>({
      name: 'rpm_reading_by_key',
      text: `SELECT ${READING_COLUMNS} FROM readings WHERE device_id = $1 AND idem_key = $2`,
      values: [deviceId, idempotencyKey],
    });
    const row = rows[0];
    return row === undefined ? undefined : toReading(row);
  }

  async attributeUnassigned(deviceId: string, patientId: string, fromMs: number, toMs: number | null): Promise<number> {
    const res = await this.pool.query(
      `UPDATE readings SET patient_id = $1, flags = array_remove(flags, 'unassigned')
       WHERE device_id = $2 AND patient_id IS NULL AND measured_at_ms >= $3 AND measured_at_ms < $4`,
      [patientId, deviceId, fromMs, toMs ?? Number.MAX_SAFE_INTEGER],
    );
    return res.rowCount ?? 0;
  }

  async listRejections(deviceId: string, limit: number): Promise<Rejection[]> {
    const { rows } = await this.pool.query<RejectionRow>(
      'SELECT device_id, received_at_ms, transport, code, path, message, client_id, payload_sha256 FROM rejections WHERE device_id = $1 ORDER BY seq DESC LIMIT $2',
      [deviceId, limit],
    );
    return rows.map(toRejection);
  }

  async readingsSince(afterSeq: number, limit: number): Promise<SequencedReading[]> {
    const { rows } = await this.pool.query<ReadingRow & { seq: number }>({
      name: 'rpm_readings_since',
      text: `SELECT seq, ${READING_COLUMNS} FROM readings WHERE seq > $1 ORDER BY seq LIMIT $2`,
      values: [afterSeq, limit],
    });
    return rows.map((r) => ({ seq: r.seq, reading: toReading(r) }));
  }

  async countReadingsSince(afterSeq: number): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>({ name: 'rpm_count_since', text: 'SELECT count(*) AS n FROM readings WHERE seq > $1', values: [afterSeq] });
    return rows[0]?.n ?? 0;
  }

  async lastMeasuredAt(patientId: string, kind: ReadingKind): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ t: number | null }>({
      name: 'rpm_last_measured',
      text: 'SELECT max(measured_at_ms) AS t FROM readings WHERE patient_id = $1 AND kind = $2',
      values: [patientId, kind],
    });
    return rows[0]?.t ?? undefined;
  }

  async countReadings(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>('SELECT count(*) AS n FROM readings');
    return rows[0]?.n ?? 0;
  }

  async close(): Promise<void> {
    // The pool is owned and closed by PostgresStores.
  }
}

function rejectionRecord(j: Rejection, i: number): Record<string, unknown> {
  return {
    i,
    device_id: j.deviceId,
    received_at_ms: j.receivedAtMs,
    transport: j.transport,
    code: j.code,
    path: j.path,
    message: j.message,
    client_id: j.clientId,
    payload_sha256: j.payloadSha256,
  };
}
