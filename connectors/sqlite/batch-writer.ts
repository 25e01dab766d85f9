import type { Reading } from '../../core/model/reading.js';
import type { CommitBatch } from '../../core/ports/reading-store.js';
import type { SqliteDatabase } from './database.js';

export const READING_COLUMNS =
  'id, device_id, idem_key, client_id, hub_id, patient_id, kind, code, components, reported, measured_at, measured_at_ms, utc_offset_min, received_at_ms, entry_method, setting, meal_context, glucose_method, sequence, transport, flags, recorded_by, source';

/**
 * Per reading, in order: its log position (`seq`, > 0) if inserted; minus the stored reading's
 * position if a duplicate (key already stored).
 */
export type CommitStatuses = Float64Array;

/**
 * Prepare the write transaction of a batch: every reading with INSERT OR IGNORE (the unique
 * (device_id, idem_key) index is the dedupe), the outbox rows of the newly inserted ones (the
 * transactional outbox of FHIR forwarding) and every rejection, in one IMMEDIATE transaction.
 * Used in-thread and inside the writer worker alike.
 */
export function prepareBatchWriter(db: SqliteDatabase): (batch: CommitBatch) => CommitStatuses {
  // Positional parameters: binding by name costs a property lookup per column per row.
  const insertReading = db.prepare(
    `INSERT OR IGNORE INTO readings (${READING_COLUMNS}, value) VALUES (${Array.from({ length: 24 }, () => '?').join(', ')})`,
  );
  const insertRejection = db.prepare(
    'INSERT INTO rejections (device_id, received_at_ms, transport, code, path, message, client_id, payload_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const storedSeq = db.prepare('SELECT seq FROM readings WHERE device_id = ? AND idem_key = ?').pluck();
  const insertForward = db.prepare(
    "INSERT OR IGNORE INTO fhir_outbox (destination_id, reading_seq, status, attempts, created_at_ms, next_attempt_at_ms) VALUES (?, ?, 'pending', 0, ?, ?)",
  );
  const tx = db.transaction((batch: CommitBatch): CommitStatuses => {
    const statuses = new Float64Array(batch.readings.length);
    const forwards = batch.forwards ?? [];
    for (let i = 0; i < batch.readings.length; i++) {
      const r = batch.readings[i] as Reading;
      const info = insertReading.run(
        r.id,
        r.deviceId,
        r.idempotencyKey,
        r.clientId,
        r.hubId,
        r.patientId,
        r.kind,
        r.code,
        JSON.stringify(r.components),
        JSON.stringify(r.reported),
        r.measuredAt,
        r.measuredAtMs,
        r.utcOffsetMinutes,
        r.receivedAtMs,
        r.entryMethod,
        r.setting,
        r.mealContext,
        r.glucoseMethod,
        r.sequence,
        r.transport,
        r.flags.join(','),
        r.recordedBy ?? null,
        r.source === undefined || r.source === null ? null : JSON.stringify(r.source),
        r.components[0]?.value ?? null,
      );
      // A duplicate costs one lookup on the dedupe index, so its answer can say where it is stored.
      statuses[i] = info.changes === 1 ? Number(info.lastInsertRowid) : -Number(storedSeq.get(r.deviceId, r.idempotencyKey) ?? 0);
    }
    for (const f of forwards) {
      const seq = statuses[f.reading] ?? 0;
      // A duplicate (≤ 0) got its deliveries with the original reading.
      if (seq <= 0) continue;
      const r = batch.readings[f.reading] as Reading;
      insertForward.run(f.destinationId, seq, r.receivedAtMs, r.receivedAtMs);
    }
    for (const j of batch.rejections) {
      insertRejection.run(j.deviceId, j.receivedAtMs, j.transport, j.code, j.path, j.message, j.clientId, j.payloadSha256);
    }
    return statuses;
  });
  return (batch) => tx.immediate(batch);
}

/**
 * The readiness probe (`ReadingStore.probeWrite`): one row rewritten in its own IMMEDIATE
 * transaction, a WAL append and (under FULL) an fsync like a commit's. Run by whoever runs the
 * commits (the writer thread), so it queues behind them instead of waiting for their lock on the
 * event loop.
 */
export function prepareProbeWriter(db: SqliteDatabase): () => void {
  const upsert = db.prepare('INSERT INTO store_probe (id, at_ms) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms');
  const tx = db.transaction(() => upsert.run(Date.now()));
  return () => {
    tx.immediate();
  };
}
