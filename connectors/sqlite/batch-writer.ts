import type { CommitBatch } from '../../core/ports/reading-store.js';
import type { SqliteDatabase } from './database.js';

export const READING_COLUMNS =
  'id, device_id, idem_key, client_id, hub_id, patient_id, kind, code, components, reported, measured_at, measured_at_ms, utc_offset_min, received_at_ms, entry_method, setting, meal_context, glucose_method, sequence, transport, flags, recorded_by, source';

/** Values per reading in `WireBatch.r`: the INSERT's parameters, READING_COLUMNS then value. */
export const READING_ROW_WIDTH = 24;
/** Values per rejection in `WireBatch.j`. */
export const REJECTION_ROW_WIDTH = 8;

/**
 * A batch as the writer takes it: flat arrays of the rows' parameter values, no object per
 * reading. It crosses to the writer thread as one JSON string, and an array of scalars is cheaper
 * to stringify on the event loop and far cheaper to parse in the writer thread than an object per
 * reading with nested components (`benchmarks/writer-hop.ts`); each reading's `components`,
 * `reported` and `source` are stringified once, here, instead of as part of the batch's JSON and
 * again for their columns.
 */
export interface WireBatch {
  /** READING_ROW_WIDTH values per reading (device_id at +1, idem_key at +2, received_at_ms at +13). */
  readonly r: (string | number | null)[];
  /** Outbox jobs as pairs: index of the reading in the batch, destination id. */
  readonly f: (number | string)[];
  /** REJECTION_ROW_WIDTH values per rejection. */
  readonly j: (string | number | null)[];
}

export function encodeBatch(batch: CommitBatch): WireBatch {
  const r: (string | number | null)[] = new Array(batch.readings.length * READING_ROW_WIDTH);
  let o = 0;
  for (const x of batch.readings) {
    r[o] = x.id;
    r[o + 1] = x.deviceId;
    r[o + 2] = x.idempotencyKey;
    r[o + 3] = x.clientId;
    r[o + 4] = x.hubId;
    r[o + 5] = x.patientId;
    r[o + 6] = x.kind;
    r[o + 7] = x.code;
    r[o + 8] = JSON.stringify(x.components);
    r[o + 9] = JSON.stringify(x.reported);
    r[o + 10] = x.measuredAt;
    r[o + 11] = x.measuredAtMs;
    r[o + 12] = x.utcOffsetMinutes;
    r[o + 13] = x.receivedAtMs;
    r[o + 14] = x.entryMethod;
    r[o + 15] = x.setting;
    r[o + 16] = x.mealContext;
    r[o + 17] = x.glucoseMethod;
    r[o + 18] = x.sequence;
    r[o + 19] = x.transport;
    r[o + 20] = x.flags.join(',');
    r[o + 21] = x.recordedBy ?? null;
    r[o + 22] = x.source === undefined || x.source === null ? null : JSON.stringify(x.source);
    r[o + 23] = x.components[0]?.value ?? null;
    o += READING_ROW_WIDTH;
  }
  const f: (number | string)[] = [];
  for (const job of batch.forwards ?? []) f.push(job.reading, job.destinationId);
  const j: (string | number | null)[] = [];
  for (const x of batch.rejections) j.push(x.deviceId, x.receivedAtMs, x.transport, x.code, x.path, x.message, x.clientId, x.payloadSha256);
  return { r, f, j };
}

/**
 * Per reading, in order: its log position (`seq`, > 0) if inserted; minus the stored reading's
 * position if a duplicate (key already stored).
 */
export type CommitStatuses = Float64Array;

/**
 * Prepare the write transaction of a batch (`encodeBatch` first): every reading with INSERT OR
 * IGNORE (the unique (device_id, idem_key) index is the dedupe), the outbox rows of the newly
 * inserted ones (the transactional outbox of FHIR forwarding) and every rejection, in one
 * IMMEDIATE transaction. Used in-thread and inside the writer worker alike.
 */
export function prepareBatchWriter(db: SqliteDatabase): (batch: WireBatch) => CommitStatuses {
  // Positional parameters: binding by name costs a property lookup per column per row.
  const insertReading = db.prepare(
    `INSERT OR IGNORE INTO readings (${READING_COLUMNS}, value) VALUES (${Array.from({ length: READING_ROW_WIDTH }, () => '?').join(', ')})`,
  );
  const insertRejection = db.prepare(
    'INSERT INTO rejections (device_id, received_at_ms, transport, code, path, message, client_id, payload_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const storedSeq = db.prepare('SELECT seq FROM readings WHERE device_id = ? AND idem_key = ?').pluck();
  const insertForward = db.prepare(
    "INSERT OR IGNORE INTO fhir_outbox (destination_id, reading_seq, status, attempts, created_at_ms, next_attempt_at_ms) VALUES (?, ?, 'pending', 0, ?, ?)",
  );
  const tx = db.transaction((batch: WireBatch): CommitStatuses => {
    const r = batch.r;
    const n = r.length / READING_ROW_WIDTH;
    const statuses = new Float64Array(n);
    for (let i = 0, o = 0; i < n; i++, o += READING_ROW_WIDTH) {
      // prettier-ignore
      const info = insertReading.run(
        r[o], r[o + 1], r[o + 2], r[o + 3], r[o + 4], r[o + 5], r[o + 6], r[o + 7], r[o + 8], r[o + 9], r[o + 10], r[o + 11],
        r[o + 12], r[o + 13], r[o + 14], r[o + 15], r[o + 16], r[o + 17], r[o + 18], r[o + 19], r[o + 20], r[o + 21], r[o + 22], r[o + 23],
      );
      // A duplicate costs one lookup on the dedupe index, so its answer can say where it is stored.
      statuses[i] = info.changes === 1 ? Number(info.lastInsertRowid) : -Number(storedSeq.get(r[o + 1], r[o + 2]) ?? 0);
    }
    const f = batch.f;
    for (let k = 0; k < f.length; k += 2) {
      const index = f[k] as number;
      const seq = statuses[index] ?? 0;
      // A duplicate (≤ 0) got its deliveries with the original reading.
      if (seq <= 0) continue;
      const receivedAtMs = r[index * READING_ROW_WIDTH + 13];
      insertForward.run(f[k + 1], seq, receivedAtMs, receivedAtMs);
    }
    const j = batch.j;
    for (let k = 0; k < j.length; k += REJECTION_ROW_WIDTH) {
      insertRejection.run(j[k], j[k + 1], j[k + 2], j[k + 3], j[k + 4], j[k + 5], j[k + 6], j[k + 7]);
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
