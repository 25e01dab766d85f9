import type { RpmErrorCode } from '../../core/errors/codes.js';
import type { ComponentName, ReadingKind } from '../../core/model/reading-kinds.js';
import type { EntryMethod, GlucoseMethod, MealContext, Reading, ReadingComponent, ReadingFlag, ReadingSource, Setting, Transport } from '../../core/model/reading.js';
import type { Rejection } from '../../core/ports/reading-store.js';

/** Columns of a reading, as the reading and forwarding stores select them. */
export const READING_COLUMNS =
  'id, device_id, idem_key, client_id, hub_id, patient_id, kind, code, components, reported, measured_at, measured_at_ms, utc_offset_min, received_at_ms, entry_method, setting, meal_context, glucose_method, sequence, transport, flags, recorded_by, source';

/** The same columns of the readings table aliased `r`. */
export const PREFIXED_READING_COLUMNS = READING_COLUMNS.split(', ')
  .map((c) => `r.${c}`)
  .join(', ');

/** One reading as the driver returns it (int8 parsed to number, json parsed, text[] as an array). */
export interface ReadingRow {
  id: string;
  device_id: string;
  idem_key: string;
  client_id: string | null;
  hub_id: string | null;
  patient_id: string | null;
  kind: string;
  code: string;
  components: ReadingComponent[];
  reported: { unit: string; values: Partial<Record<ComponentName, number>> };
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
  flags: string[];
  recorded_by: string | null;
  /** The vendor that delivered it (json, parsed by the driver); NULL for our own JSON and FHIR. */
  source: ReadingSource | null;
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
    components: row.components,
    reported: row.reported,
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
    flags: row.flags as ReadingFlag[],
    recordedBy: row.recorded_by,
    // Absent, not null, for readings no vendor delivered: they read as they did before vendors.
    ...(row.source === null ? {} : { source: row.source }),
  };
}

/**
 * A reading as one element of the JSON array `rpm_commit_readings` expands with
 * `json_to_recordset` (migrations.ts version 8, which replaced version 6's to carry `source`; its
 * record definition names these keys: a change here is a new migration). One parameter for the whole batch, however large: no
 * 65 535-parameter limit, one native JSON.stringify instead of per-element array escaping.
 * `i` is the index in the batch: rows are inserted in that order, so log positions follow
 * arrival. A missing required field becomes NULL and fails NOT NULL.
 */
export function readingRecord(r: Reading, i: number): Record<string, unknown> {
  return {
    i,
    id: r.id,
    device_id: r.deviceId,
    idem_key: r.idempotencyKey,
    client_id: r.clientId,
    hub_id: r.hubId,
    patient_id: r.patientId,
    kind: r.kind,
    code: r.code,
    components: r.components,
    reported: r.reported,
    measured_at: r.measuredAt,
    measured_at_ms: r.measuredAtMs,
    utc_offset_min: r.utcOffsetMinutes,
    received_at_ms: r.receivedAtMs,
    entry_method: r.entryMethod,
    setting: r.setting,
    meal_context: r.mealContext,
    glucose_method: r.glucoseMethod,
    sequence: r.sequence,
    transport: r.transport,
    flags: r.flags,
    recorded_by: r.recordedBy ?? null,
    value: r.components?.[0]?.value ?? null,
    source: r.source ?? null,
  };
}

/** A rejection as one element of the JSON array `rpm_commit_readings` expands (same rules). */
export function rejectionRecord(j: Rejection, i: number): Record<string, unknown> {
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

export interface RejectionRow {
  device_id: string;
  received_at_ms: number;
  transport: string;
  code: string;
  path: string | null;
  message: string;
  client_id: string | null;
  payload_sha256: string | null;
}

export const toRejection = (r: RejectionRow): Rejection => ({
  deviceId: r.device_id,
  receivedAtMs: r.received_at_ms,
  transport: r.transport as Transport,
  code: r.code as RpmErrorCode,
  path: r.path,
  message: r.message,
  clientId: r.client_id,
  payloadSha256: r.payload_sha256,
});
