import { inPartition, type RulePartition } from '../../core/cluster/partitions.js';
import type { ComponentName, ReadingKind } from '../../core/model/reading-kinds.js';
import type { EntryMethod, GlucoseMethod, MealContext, Reading, ReadingComponent, ReadingFlag, ReadingSource, Setting, Transport } from '../../core/model/reading.js';
import type { RpmErrorCode } from '../../core/errors/codes.js';
import { confirmationEntries } from '../../core/model/attribution.js';
import type { AttributedForward, AttributionRecord, CommitBatch, CommitOutcome, PartitionSlice, ReadingQuery, ReadingStore, Rejection, SequencedReading, UserDecision } from '../../core/ports/reading-store.js';
import { type CommitStatuses, READING_COLUMNS } from './batch-writer.js';
import { type PreparedStatement, type SqliteDatabase, statementCache } from './database.js';

export interface ReadingRow {
  id: string;
  device_id: string;
  idem_key: string;
  client_id: string | null;
  hub_id: string | null;
  patient_id: string | null;
  kind: string;
  code: string;
  components: string;
  reported: string;
  measured_at: string;
  measured_at_ms: number;
  utc_offset_min: number;
  received_at_ms: number;
  entry_method: string;
  setting: string;
  meal_context: string | null;
  glucose_method: string | null;
  sequence: number | null;
  transport: string;
  flags: string;
  recorded_by: string | null;
  source: string | null;
}

export function toReading(row: ReadingRow): Reading {
  return {
    id: row.id,
    clientId: row.client_id,
    idempotencyKey: row.idem_key,
    deviceId: row.device_id,
    hubId: row.hub_id,
    patientId: row.patient_id,
    kind: row.kind as ReadingKind,
    code: row.code,
    components: JSON.parse(row.components) as ReadingComponent[],
    reported: JSON.parse(row.reported) as { unit: string; values: Partial<Record<ComponentName, number>> },
    measuredAt: row.measured_at,
    measuredAtMs: row.measured_at_ms,
    utcOffsetMinutes: row.utc_offset_min,
    receivedAtMs: row.received_at_ms,
    entryMethod: row.entry_method as EntryMethod,
    setting: row.setting as Setting,
    mealContext: row.meal_context as MealContext | null,
    glucoseMethod: row.glucose_method as GlucoseMethod | null,
    sequence: row.sequence,
    transport: row.transport as Transport,
    flags: row.flags === '' ? [] : (row.flags.split(',') as ReadingFlag[]),
    recordedBy: row.recorded_by,
    ...(row.source === null ? {} : { source: JSON.parse(row.source) as ReadingSource }),
  };
}

/** How batches reach the disk: in this thread, or in the writer thread. */
export type BatchWrite = (batch: CommitBatch) => CommitStatuses | Promise<CommitStatuses>;
/** The readiness probe write, run where the batches are (batch-writer.ts `prepareProbeWriter`). */
export type ProbeWrite = () => void | Promise<void>;

/**
 * ReadingStore on SQLite. A batch is one IMMEDIATE transaction; with WAL and
 * synchronous=FULL the commit is on disk (fsync'd) before `commit` resolves. Writes go through
 * `write` (normally the writer thread); reads use this thread's connection, which WAL lets run
 * beside the writer.
 */
export class SqliteReadingStore implements ReadingStore {
  private readonly byKey;
  private readonly attribute;
  private readonly rejectionsOf;
  private readonly count;
  private readonly since;
  private readonly countSince;
  private readonly lastOfKind;
  private readonly atSeq;

  private readonly sql: (sql: string) => PreparedStatement;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly write: BatchWrite,
    private readonly probe: ProbeWrite,
  ) {
    this.sql = statementCache(db);
    this.byKey = db.prepare(`SELECT ${READING_COLUMNS} FROM readings WHERE device_id = ? AND idem_key = ?`);
    this.attribute = db.prepare(
      'UPDATE readings SET patient_id = ?, flags = trim(replace(\',\' || flags || \',\', \',unassigned,\', \',attributed,\'), \',\') WHERE device_id = ? AND patient_id IS NULL AND measured_at_ms >= ? AND measured_at_ms < ?',
    );
    this.rejectionsOf = db.prepare(
      'SELECT device_id, received_at_ms, transport, code, path, message, client_id, payload_sha256 FROM rejections WHERE device_id = ? ORDER BY seq DESC LIMIT ?',
    );
    this.count = db.prepare('SELECT count(*) AS n FROM readings');
    this.since = db.prepare(`SELECT seq, ${READING_COLUMNS} FROM readings WHERE seq > ? ORDER BY seq LIMIT ?`);
    // seq is the rowid, and rows are never deleted (a rolled-back insert gives its rowid back), so
    // positions are dense and the backlog is a subtraction. A count(*) over the range would read
    // every row of the backlog on the event loop, seconds for a million-row backlog at each scrape.
    this.countSince = db.prepare('SELECT coalesce(max(seq), 0) AS last FROM readings');
    this.lastOfKind = db.prepare('SELECT max(measured_at_ms) AS t FROM readings WHERE patient_id = ? AND kind = ?');
    this.atSeq = db.prepare(`SELECT ${READING_COLUMNS} FROM readings WHERE seq = ?`);
  }

  async commit(batch: CommitBatch): Promise<CommitOutcome[]> {
    const statuses = await this.write(batch);
    const outcomes: CommitOutcome[] = new Array(batch.readings.length);
    for (let i = 0; i < outcomes.length; i++) {
      const seq = statuses[i] ?? 0;
      const id = (batch.readings[i] as Reading).id;
      outcomes[i] = seq > 0 ? { status: 'accepted', id, seq } : seq < 0 ? { status: 'duplicate', id, seq: -seq } : { status: 'duplicate', id };
    }
    return outcomes;
  }

  async queryReadings(q: ReadingQuery): Promise<Reading[]> {
    const where = ['patient_id = ?'];
    const params: (string | number)[] = [q.patientId];
    if (q.kinds !== undefined && q.kinds.length > 0) {
      where.push(`kind IN (${q.kinds.map(() => '?').join(', ')})`);
      params.push(...q.kinds);
    }
    if (q.fromMs !== undefined) {
      where.push('measured_at_ms >= ?');
      params.push(q.fromMs);
    }
    if (q.toMs !== undefined) {
      where.push('measured_at_ms < ?');
      params.push(q.toMs);
    }
    if (q.maxSeq !== undefined) {
      where.push('seq <= ?');
      params.push(q.maxSeq);
    }
    if (q.after !== undefined) {
      where.push('(measured_at_ms > ? OR (measured_at_ms = ? AND id > ?))');
      params.push(q.after.measuredAtMs, q.after.measuredAtMs, q.after.id);
    }
    params.push(q.limit);
    const order = q.newestFirst === true ? 'measured_at_ms DESC, id DESC' : 'measured_at_ms, id';
    const rows = this.sql(`SELECT ${READING_COLUMNS} FROM readings WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT ?`)
      .all(...params) as ReadingRow[];
    return rows.map(toReading);
  }

  async getReading(deviceId: string, idempotencyKey: string): Promise<Reading | undefined> {
    const row = this.byKey.get(deviceId, idempotencyKey) as ReadingRow | undefined;
    return row === undefined ? undefined : toReading(row);
  }

  async attributeUnassigned(deviceId: string, patientId: string, fromMs: number, toMs: number | null, forwards: readonly AttributedForward[] = []): Promise<number> {
    const until = toMs ?? Number.MAX_SAFE_INTEGER;
    return this.db
      .transaction(() => {
        // The outbox rows first, while the readings still read as unassigned: exactly the ones
        // this attribution gives the patient.
        for (const f of forwards) {
          if (f.kinds.length === 0) continue;
          this.sql(
            `INSERT OR IGNORE INTO fhir_outbox (destination_id, reading_seq, status, attempts, created_at_ms, next_attempt_at_ms)
             SELECT ?, seq, 'pending', 0, ?, ? FROM readings
             WHERE device_id = ? AND patient_id IS NULL AND measured_at_ms >= ? AND measured_at_ms < ? AND kind IN (${f.kinds.map(() => '?').join(', ')})`,
          ).run(f.destinationId, f.atMs, f.atMs, deviceId, fromMs, until, ...f.kinds);
        }
        const changes = this.attribute.run(patientId, deviceId, fromMs, until).changes;
        if (changes > 0) {
          this.sql('INSERT INTO attributions (device_id, patient_id, from_ms, to_ms, at_ms) VALUES (?, ?, ?, ?, ?)').run(deviceId, patientId, fromMs, toMs, Date.now());
        }
        return changes;
      })
      .immediate();
  }

  async attributionsSince(afterSeq: number, limit: number): Promise<AttributionRecord[]> {
    const rows = this.sql('SELECT seq, device_id, patient_id, from_ms, to_ms, reading_ids, at_ms FROM attributions WHERE seq > ? ORDER BY seq LIMIT ?').all(afterSeq, limit) as {
      seq: number;
      device_id: string;
      patient_id: string;
      from_ms: number;
      to_ms: number | null;
      reading_ids: string | null;
      at_ms: number;
    }[];
    return rows.map((r) => ({
      seq: r.seq,
      deviceId: r.device_id,
      patientId: r.patient_id,
      fromMs: r.from_ms,
      toMs: r.to_ms,
      readingIds: r.reading_ids === null ? null : (JSON.parse(r.reading_ids) as string[]),
      atMs: r.at_ms,
    }));
  }

  async decideUser(patientId: string, readingIds: readonly string[], decision: UserDecision): Promise<SequencedReading[]> {
    // flags is a comma-joined list: match and rewrite the whole item, never a substring of another.
    // A confirmed reading is the patient's from now on, as if attributed late (judged from the log).
    const update = this.sql(
      `UPDATE readings SET flags = trim(replace(',' || flags || ',', ',user-unconfirmed,',
         CASE WHEN ? = 'rejected' THEN ',user-rejected,' WHEN (',' || flags || ',') LIKE '%,attributed,%' THEN ',' ELSE ',attributed,' END), ',')
       WHERE patient_id = ? AND id = ? AND (',' || flags || ',') LIKE '%,user-unconfirmed,%'
       RETURNING seq, ${READING_COLUMNS}`,
    );
    return this.db
      .transaction(() => {
        const out: SequencedReading[] = [];
        for (const id of new Set(readingIds)) {
          for (const row of update.all(decision, patientId, id) as (ReadingRow & { seq: number })[]) out.push({ seq: row.seq, reading: toReading(row) });
        }
        if (decision === 'confirmed') for (const entry of confirmationEntries(patientId, out)) {
          this.sql('INSERT INTO attributions (device_id, patient_id, from_ms, to_ms, reading_ids, at_ms) VALUES (?, ?, ?, ?, ?, ?)').run(
            entry.deviceId, patientId, entry.fromMs, entry.toMs, JSON.stringify(entry.readingIds), Date.now(),
          );
        }
        return out.sort((a, b) => a.seq - b.seq);
      })
      .immediate();
  }

  async readingAt(seq: number): Promise<Reading | undefined> {
    const row = this.atSeq.get(seq) as ReadingRow | undefined;
    return row === undefined ? undefined : toReading(row);
  }

  async listRejections(deviceId: string, limit: number): Promise<Rejection[]> {
    const rows = this.rejectionsOf.all(deviceId, limit) as {
      device_id: string;
      received_at_ms: number;
      transport: string;
      code: string;
      path: string | null;
      message: string;
      client_id: string | null;
      payload_sha256: string | null;
    }[];
    return rows.map((r) => ({
      deviceId: r.device_id,
      receivedAtMs: r.received_at_ms,
      transport: r.transport as Transport,
      code: r.code as RpmErrorCode,
      path: r.path,
      message: r.message,
      clientId: r.client_id,
      payloadSha256: r.payload_sha256,
    }));
  }

  async readingsSince(afterSeq: number, limit: number): Promise<SequencedReading[]> {
    const rows = this.since.all(afterSeq, limit) as (ReadingRow & { seq: number })[];
    return rows.map((r) => ({ seq: r.seq, reading: toReading(r) }));
  }

  async partitionSince(afterSeq: number, window: number, partition: RulePartition): Promise<PartitionSlice> {
    const rows = this.since.all(afterSeq, window) as (ReadingRow & { seq: number })[];
    const last = rows[rows.length - 1];
    return {
      readings: rows.filter((r) => r.patient_id !== null && inPartition(r.patient_id, partition)).map((r) => ({ seq: r.seq, reading: toReading(r) })),
      throughSeq: last === undefined ? afterSeq : last.seq,
    };
  }

  async countReadingsSince(afterSeq: number): Promise<number> {
    return Math.max(0, (this.countSince.get() as { last: number }).last - afterSeq);
  }

  async lastMeasuredAt(patientId: string, kind: ReadingKind): Promise<number | undefined> {
    const row = this.lastOfKind.get(patientId, kind) as { t: number | null };
    return row.t ?? undefined;
  }

  async probeWrite(): Promise<void> {
    await this.probe();
  }

  async countReadings(): Promise<number> {
    return (this.count.get() as { n: number }).n;
  }

  async close(): Promise<void> {
    // The database handle is owned and closed by SqliteStores.
  }
}
