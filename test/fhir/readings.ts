import type { Destination } from '../../core/model/destination.js';
import { READING_KINDS } from '../../core/model/reading-kinds.js';
import type { Reading } from '../../core/model/reading.js';
import type { Device } from '../../core/model/registry.js';
import { normalizeReading } from '../../pipeline/normalize.js';
import { idempotencyKey, readingId } from '../../pipeline/reading-id.js';

/** A committed reading exactly as ingest builds it (real normalization), for FHIR tests. */
export function fhirReading(input: Record<string, unknown>, overrides: Partial<Reading> = {}, receivedAtMs = Date.now()): Reading {
  const result = normalizeReading(
    { measuredAt: new Date(receivedAtMs - 60_000).toISOString(), ...input },
    { transport: 'http', receivedAtMs, limits: { futureToleranceMs: 300_000, maxReadingAgeMs: 365 * 86_400_000 }, defaultGlucoseMethod: 'meter' },
  );
  if (!result.ok) throw new Error(`test reading refused: ${result.problem.message}`);
  const d = result.draft;
  const deviceId = overrides.deviceId ?? 'cuff-1';
  const key = idempotencyKey(d.kind, d.measuredAtMs);
  return {
    id: readingId(deviceId, key),
    clientId: d.clientId,
    idempotencyKey: key,
    deviceId,
    hubId: null,
    patientId: 'p-1',
    kind: d.kind,
    code: d.code,
    components: d.components,
    reported: d.reported,
    measuredAt: d.measuredAt,
    measuredAtMs: d.measuredAtMs,
    utcOffsetMinutes: d.utcOffsetMinutes,
    receivedAtMs: d.receivedAtMs,
    entryMethod: d.entryMethod,
    setting: d.setting,
    mealContext: d.mealContext,
    glucoseMethod: d.glucoseMethod,
    sequence: d.sequence,
    transport: d.transport,
    flags: [],
    recordedBy: null,
    ...overrides,
  };
}

export function registryDevice(overrides: Partial<Device> = {}): Device {
  return {
    id: 'cuff-1',
    kind: 'bp-cuff',
    manufacturer: 'Omron',
    model: 'BP7450',
    serial: 'SN-0042',
    hubId: null,
    simulated: false,
    status: 'active',
    createdAtMs: 0,
    revokedAtMs: null,
    lastSeenAtMs: null,
    online: false,
    battery: null,
    ...overrides,
  };
}

export function destination(baseUrl: string, overrides: Partial<Destination> = {}): Destination {
  return {
    id: 'ehr-1',
    organizationId: 'org-1',
    baseUrl,
    auth: { type: 'none' },
    patientMapping: { type: 'reference', template: 'Patient/{patientId}' },
    kinds: READING_KINDS,
    enabled: true,
    batchSize: null,
    createdAtMs: 1,
    updatedAtMs: 1,
    ...overrides,
  };
}
