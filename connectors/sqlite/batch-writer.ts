import type { Reading } from '../../core/model/reading.js';
import type { CommitBatch } from '../../core/ports/reading-store.js';
import type { SqliteDatabase } from './database.js';

export const READING_COLUMNS =
  'id, device_id, idem_key, client_id, hub_id, patient_id, kind, code, components, reported, measured_at, measured_at_ms, utc_offset_min, received_at_ms, entry_method, setting, meal_context, glucose_method, sequence, transport, flags';

/** 1 = accepted (inserted), 0 = duplicate (key already stored). One per reading, in order. */
export type CommitStatuses = Uint8Array;

/**
 * Prepare the write transaction of a batch: every reading with INSERT OR IGNORE (the unique
 * (device_id, idem_key) index is the dedupe), the outbox rows of the newly inserted ones (the
 * transactional outbox of FHIR forwarding) and every rejection, in one IMMEDIATE transaction.
 * Used in-thread and inside the writer worker alike.
 */
export function prepareBatchWriter(db: SqliteDatabase): (batch: CommitBatch) => CommitStatuses {
  // Positional parameters: binding by name costs a property lookup per column per row.
  const insertReading = db.prepare(
    `INSERT OR IGNORE INTO readings (${READING_COLUMNS}, value) VALUES (${Array.from({ length: 22 }, () => '?').join(', ')})`,
  );
  const insertRejection = db.prepare(
    'INSERT INTO rejections (device_id, received_at_ms, transport, code, path, message, client_id, payload_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insertForward = db.prepare(
    "INSERT OR IGNORE INTO fhir_outbox (destination_id, reading_seq, status, attempts, created_at_ms, next_attempt_at_ms) VALUES (?, ?, 'pending', 0, ?, ?)",
  );
  const tx = db.transaction((batch: CommitBatch): CommitStatuses => {
    const statuses = new Uint8Array(batch.readings.length);
    const forwards = batch.forwards ?? [];
    // Row ids of inserted readings, only collected when the batch has forward jobs.
    const seqs = forwards.length === 0 ? undefined : new Float64Array(batch.readings.length);
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
        r.components[0]?.value ?? null,
      );
      statuses[i] = info.changes;
      if (seqs !== undefined && info.changes === 1) seqs[i] = Number(info.lastInsertRowid);
    }
    if (seqs !== undefined) {
      for (const f of forwards) {
        // A duplicate (status 0) got its deliveries with the original reading.
        if (statuses[f.reading] !== 1) continue;
        const r = batch.readings[f.reading] as Reading;
        insertForward.run(f.destinationId, seqs[f.reading], r.receivedAtMs, r.receivedAtMs);
      }
    }
    for (const j of batch.rejections) {
      insertRejection.run(j.deviceId, j.receivedAtMs, j.transport, j.code, j.path, j.message, j.clientId, j.payloadSha256);
    }
    return statuses;
  });
  return (batch) => tx.immediate(batch);
}
