import type { RulePartition } from '../../core/cluster/partitions.js';
import type { ReadingKind } from '../../core/model/reading-kinds.js';
import type { Reading } from '../../core/model/reading.js';
import { confirmationEntries } from '../../core/model/attribution.js';
import type { AttributedForward, AttributionRecord, CommitBatch, CommitOutcome, PartitionSlice, ReadingQuery, ReadingStore, Rejection, SequencedReading, UserDecision } from '../../core/ports/reading-store.js';
import { inTransaction, lockFor, type Pool } from './database.js';
import { READING_COLUMNS, type ReadingRow, readingRecord, rejectionRecord, type RejectionRow, toReading, toRejection } from './reading-rows.js';

/**
 * One group commit is one call of `rpm_commit_readings` (migrations.ts version 6, replaced by 8): one round
 * trip, one implicit transaction that takes the reading-log lock, inserts the new readings, their
 * outbox rows and the rejections, and answers the inserted positions.
 */
const COMMIT_READINGS = 'SELECT seq, device_id, idem_key, inserted FROM rpm_commit_readings($1::json, $2::json, $3::json)';

/** The advisory lock `rpm_commit_readings` takes (its key is this name, ':' and the schema). */
export const READING_LOG_LOCK = 'rpm.reading-log';

const keyOf = (deviceId: string, idempotencyKey: string): string => `${deviceId}\u0000${idempotencyKey}`;

/**
 * ReadingStore on PostgreSQL. One batch (a group commit: many devices' requests and publishes)
 * is one statement and its own transaction, carrying the whole batch as JSON parameters.
 * `commit` resolves after the statement's commit, which with synchronous_commit=on (set on every
 * connection) means the WAL holding the batch was flushed to disk.
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
    const isFirst = (i: number): boolean => {
      const r = readings[i];
      return r !== undefined && firstOf.get(keyOf(r.deviceId, r.idempotencyKey)) === i;
    };
    // Deliveries of a reading's first occurrence; the database keeps those of readings it inserted.
    const forwards = (batch.forwards ?? []).flatMap((f) => {
      const r = readings[f.reading];
      return r !== undefined && isFirst(f.reading) ? [{ device_id: r.deviceId, idem_key: r.idempotencyKey, destination_id: f.destinationId }] : [];
    });
    const { rows } = await this.pool.query<{ seq: number; device_id: string; idem_key: string; inserted: boolean }>({
      name: 'rpm_commit_readings',
      text: COMMIT_READINGS,
      values: [JSON.stringify(records), JSON.stringify(forwards), JSON.stringify(batch.rejections.map(rejectionRecord))],
    });
    const inserted = new Map<string, number>();
    const stored = new Map<string, number>();
    for (const row of rows) (row.inserted ? inserted : stored).set(keyOf(row.device_id, row.idem_key), row.seq);
    return readings.map((r, i) => {
      const key = keyOf(r.deviceId, r.idempotencyKey);
      const seq = isFirst(i) ? inserted.get(key) : undefined;
      if (seq !== undefined) return { status: 'accepted', id: r.id, seq };
      // Stored before, or earlier in this batch: say where the stored reading is.
      const at = stored.get(key) ?? inserted.get(key);
      return at === undefined ? { status: 'duplicate', id: r.id } : { status: 'duplicate', id: r.id, seq: at };
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
      `SELECT ${READING_COLUMNS} FROM readings WHERE ${where.join(' AND ')} ORDER BY ${q.newestFirst === true ? 'measured_at_ms DESC, id DESC' : 'measured_at_ms, id'} LIMIT ${limit}`,
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

  /**
   * Under the reading-log lock, so no commit adds an unassigned reading of the device between the
   * outbox rows and the update: the outbox rows first, while the readings still read as
   * unassigned (exactly the ones this attribution gives the patient), then the attribution.
   */
  async attributeUnassigned(deviceId: string, patientId: string, fromMs: number, toMs: number | null, forwards: readonly AttributedForward[] = []): Promise<number> {
    const until = toMs ?? Number.MAX_SAFE_INTEGER;
    return inTransaction(this.pool, async (client) => {
      await lockFor(client, READING_LOG_LOCK);
      for (const f of forwards) {
        if (f.kinds.length === 0) continue;
        await client.query(
          `INSERT INTO fhir_outbox (destination_id, reading_seq, status, attempts, created_at_ms, next_attempt_at_ms)
           SELECT $1, seq, 'pending', 0, $2, $2 FROM readings
           WHERE device_id = $3 AND patient_id IS NULL AND measured_at_ms >= $4 AND measured_at_ms < $5 AND kind = ANY($6::text[])
           ON CONFLICT (destination_id, reading_seq) DO NOTHING`,
          [f.destinationId, f.atMs, deviceId, fromMs, until, f.kinds],
        );
      }
      const res = await client.query(
        `UPDATE readings SET patient_id = $1, flags = array_replace(flags, 'unassigned', 'attributed')
         WHERE device_id = $2 AND patient_id IS NULL AND measured_at_ms >= $3 AND measured_at_ms < $4`,
        [patientId, deviceId, fromMs, until],
      );
      const changes = res.rowCount ?? 0;
      if (changes > 0) {
        await client.query('INSERT INTO attributions (device_id, patient_id, from_ms, to_ms, at_ms) VALUES ($1, $2, $3, $4, $5)', [deviceId, patientId, fromMs, toMs, Date.now()]);
      }
      return changes;
    });
  }

  async attributionsSince(afterSeq: number, limit: number): Promise<AttributionRecord[]> {
    const { rows } = await this.pool.query<{ seq: number; device_id: string; patient_id: string; from_ms: number; to_ms: number | null; reading_ids: string[] | null; at_ms: number }>({
      name: 'rpm_attributions_since',
      text: 'SELECT seq, device_id, patient_id, from_ms, to_ms, reading_ids, at_ms FROM attributions WHERE seq > $1 ORDER BY seq LIMIT $2',
      values: [afterSeq, limit],
    });
    return rows.map((r) => ({ seq: r.seq, deviceId: r.device_id, patientId: r.patient_id, fromMs: r.from_ms, toMs: r.to_ms, readingIds: r.reading_ids, atMs: r.at_ms }));
  }

  async probeWrite(): Promise<void> {
    // A committed, fsync'd transaction (synchronous_commit=on) that holds nothing of value.
    await this.pool.query({ name: 'rpm_probe', text: 'INSERT INTO store_probe (id, at_ms) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms', values: [Date.now()] });
  }

  /**
   * One UPDATE, so atomic by itself: the row locks it takes make a second decision on the same
   * reading wait, and then (its WHERE rechecked against the committed row) find the flag gone and
   * change nothing, so a reading is decided once. The flag is replaced in place, keeping the
   * order of the others.
   */
  async decideUser(patientId: string, readingIds: readonly string[], decision: UserDecision): Promise<SequencedReading[]> {
    if (readingIds.length === 0) return [];
    return inTransaction(this.pool, async (client) => {
      // A confirmed reading is the patient's from now on, as if attributed late (judged from the log).
      const { rows } = await client.query<ReadingRow & { seq: number }>({
        name: 'rpm_decide_user',
        text: `UPDATE readings
               SET flags = CASE WHEN $3 = 'confirmed'
                             THEN (CASE WHEN 'attributed' = ANY(flags) THEN array_remove(flags, 'user-unconfirmed') ELSE array_replace(flags, 'user-unconfirmed', 'attributed') END)
                             ELSE array_replace(flags, 'user-unconfirmed', 'user-rejected') END
               WHERE patient_id = $1 AND id = ANY($2::text[]) AND 'user-unconfirmed' = ANY(flags)
               RETURNING seq, ${READING_COLUMNS}`,
        values: [patientId, [...new Set(readingIds)], decision],
      });
      const out = rows.map((r) => ({ seq: r.seq, reading: toReading(r) })).sort((a, b) => a.seq - b.seq);
      if (decision === 'confirmed') {
        for (const e of confirmationEntries(patientId, out)) {
          await client.query('INSERT INTO attributions (device_id, patient_id, from_ms, to_ms, reading_ids, at_ms) VALUES ($1, $2, $3, $4, $5, $6)', [e.deviceId, patientId, e.fromMs, e.toMs, e.readingIds, Date.now()]);
        }
      }
      return out;
    });
  }

  async readingAt(seq: number): Promise<Reading | undefined> {
    const { rows } = await this.pool.query<ReadingRow>({ name: 'rpm_reading_at', text: `SELECT ${READING_COLUMNS} FROM readings WHERE seq = $1`, values: [seq] });
    const row = rows[0];
    return row === undefined ? undefined : toReading(row);
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

  async partitionSince(afterSeq: number, window: number, partition: RulePartition): Promise<PartitionSlice> {
    // The window is the next `window` positions of the whole log (bounded work per call, and the
    // cursor moves even when none of them is this partition's). Only this partition's rows leave
    // the server: every partition reads the same window, so shipping and parsing all of it would
    // cost each reading once per partition. The patient's hash comes from the patients table (a
    // generated column), computed on the fly only for a reading without a row there.
    const through = (
      await this.pool.query<{ through: number | null }>({
        name: 'rpm_partition_window',
        text: 'SELECT max(seq) AS through FROM (SELECT seq FROM readings WHERE seq > $1 ORDER BY seq LIMIT $2) w',
        values: [afterSeq, window],
      })
    ).rows[0]?.through;
    if (through === null || through === undefined) return { readings: [], throughSeq: afterSeq };
    const { rows } = await this.pool.query<ReadingRow & { seq: number }>({
      name: 'rpm_partition_since',
      text: `SELECT r.seq, ${READING_COLUMNS.split(', ').map((c) => `r.${c}`).join(', ')}
             FROM readings r LEFT JOIN patients p ON p.id = r.patient_id
             WHERE r.seq > $1 AND r.seq <= $2 AND r.patient_id IS NOT NULL
               AND COALESCE(p.rules_hash, rpm_patient_hash(r.patient_id)) % $3 = $4
             ORDER BY r.seq`,
      values: [afterSeq, through, partition.count, partition.index],
    });
    return { readings: rows.map((r) => ({ seq: r.seq, reading: toReading(r) })), throughSeq: Number(through) };
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
