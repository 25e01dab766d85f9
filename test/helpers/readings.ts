import type { Reading } from '../../core/model/reading.js';
import { idempotencyKey, readingId } from '../../pipeline/reading-id.js';

let counter = 0;

/** A valid canonical reading for store and pipeline tests; override what the test is about. */
export function makeReading(overrides: Partial<Reading> & { deviceId?: string } = {}): Reading {
  counter += 1;
  const deviceId = overrides.deviceId ?? 'dev-1';
  const measuredAtMs = overrides.measuredAtMs ?? Date.parse('2026-11-30T12:00:00Z') + counter * 1000;
  const clientId = overrides.clientId === undefined ? `c-${counter}` : overrides.clientId;
  const kind = overrides.kind ?? 'heart-rate';
  const key = overrides.idempotencyKey ?? idempotencyKey(kind, measuredAtMs);
  return {
    id: overrides.id ?? readingId(deviceId, key),
    clientId,
    idempotencyKey: key,
    deviceId,
    hubId: null,
    patientId: 'p-1',
    kind,
    code: '8867-4',
    components: [{ name: 'value', code: '8867-4', value: 60 + (counter % 40), unit: '/min' }],
    reported: { unit: 'bpm', values: { value: 60 + (counter % 40) } },
    measuredAt: new Date(measuredAtMs).toISOString(),
    measuredAtMs,
    utcOffsetMinutes: 0,
    receivedAtMs: measuredAtMs + 5000,
    entryMethod: 'device',
    setting: 'home',
    mealContext: null,
    glucoseMethod: null,
    sequence: counter,
    transport: 'http',
    flags: [],
    recordedBy: null,
    ...overrides,
  };
}
