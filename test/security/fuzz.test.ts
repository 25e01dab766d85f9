import fc from 'fast-check';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalReadingProblems } from '../../core/model/canonical-reading.js';
import { ADMIN_TOKEN, request, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/*
 * Issue 11: a bounded property-based fuzz test over every public input that takes a body: the
 * HTTP reading body, the MQTT payload, the FHIR ingest body and the admin API bodies. Whatever
 * arrives: no 5xx, no crash (the gateway keeps answering; MQTT keeps acknowledging), and nothing
 * stored that fails the canonical reading schema (core/model/canonical-reading.ts).
 *
 * Bounded: a fixed number of runs per input and a fixed seed, so it is repeatable in CI; set
 * FUZZ_SEED and FUZZ_RUNS to explore further (`FUZZ_RUNS=2000 npx vitest run test/security/fuzz`).
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_101);
const RUNS = Number(process.env.FUZZ_RUNS ?? 120);
const settings = (runs = RUNS): fc.Parameters<unknown> => ({ seed: SEED, numRuns: runs, endOnFailure: true });

const PROTOTYPE_NAMES = ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable', '__defineGetter__', 'toLocaleString'];
const KINDS = ['blood-pressure', 'heart-rate', 'spo2', 'body-weight', 'body-temperature', 'blood-glucose', 'respiratory-rate'];
// Spelled out rather than imported: the test checks the contract independently (README, "Readings").
const KNOWN_UNITS = ['mmHg', 'mm[Hg]', 'kPa', '/min', 'bpm', 'beats/min', 'breaths/min', '%', 'kg', 'g', 'lb', 'lbs', '[lb_av]', 'Cel', '°C', 'C', '[degF]', '°F', 'F', 'mg/dL', 'mmol/L'];

// --- arbitraries ------------------------------------------------------------------------------

/** Strings that are likely to mean something to some lookup, and strings that are not. */
const nameLike = fc.oneof(fc.constantFrom(...PROTOTYPE_NAMES, ...KNOWN_UNITS, ...KINDS, '', ' ', 'MMHG', '°F', '\u0000', 'x'.repeat(40)), fc.string({ maxLength: 12 }));
const numberLike = fc.oneof(
  fc.double({ noNaN: false }),
  fc.integer({ min: -1000, max: 3000 }),
  fc.constantFrom(0, -0, 1e308, -1e308, 5e-324, 120, 80, 36.6, 98.6, 70),
  fc.constant(null),
  fc.string({ maxLength: 4 }),
);
const recent = fc.integer({ min: 1, max: 300 * 24 * 60 }).map((minutesAgo) => new Date(Date.now() - minutesAgo * 60_000));
const timeLike = fc.oneof(
  recent.map((d) => d.toISOString()),
  recent.map((d) => `${d.toISOString().slice(0, 19)}-05:00`),
  recent.map((d) => d.toISOString().slice(0, 19)),
  fc.constantFrom('2026-02-30T10:00:00Z', '9999-12-31T23:59:59+14:00', '0050-01-01T00:00:00Z', 'yesterday', '', '2026-12-01T24:00:00Z'),
  fc.string({ maxLength: 30 }),
);
/** Units each kind accepts, and values inside its plausible range. */
const VALID: Readonly<Record<string, { units: readonly string[]; value: fc.Arbitrary<Record<string, number>> }>> = {
  'heart-rate': { units: ['bpm', '/min', 'beats/min'], value: fc.integer({ min: 30, max: 200 }).map((value) => ({ value })) },
  spo2: { units: ['%'], value: fc.integer({ min: 70, max: 100 }).map((value) => ({ value })) },
  'body-weight': { units: ['kg', 'lb', 'g'], value: fc.integer({ min: 40, max: 150 }).map((value) => ({ value })) },
  'body-temperature': { units: ['Cel', '°C'], value: fc.double({ min: 35, max: 41, noNaN: true }).map((value) => ({ value })) },
  'blood-glucose': { units: ['mg/dL'], value: fc.integer({ min: 40, max: 500 }).map((value) => ({ value })) },
  'respiratory-rate': { units: ['/min', 'breaths/min'], value: fc.integer({ min: 8, max: 40 }).map((value) => ({ value })) },
  'blood-pressure': {
    units: ['mmHg', 'mm[Hg]'],
    value: fc.tuple(fc.integer({ min: 90, max: 200 }), fc.integer({ min: 40, max: 85 })).map(([systolic, diastolic]) => ({ systolic, diastolic })),
  },
};
const validReading = fc.constantFrom(...KINDS).chain((kind) => {
  const v = VALID[kind] as (typeof VALID)[string];
  return fc.record({ values: v.value, unit: fc.constantFrom(...v.units), measuredAt: recent.map((d) => d.toISOString()) }).map(({ values, unit, measuredAt }) => ({ kind, ...values, unit, measuredAt }) as Record<string, unknown>);
});

/** A reading with everything wrong that can be: any field wrong, missing or hostile. */
const anyReading = fc.record(
  {
    kind: fc.oneof(fc.constantFrom(...KINDS), nameLike),
    value: numberLike,
    systolic: numberLike,
    diastolic: numberLike,
    mean: numberLike,
    pulse: numberLike,
    unit: nameLike,
    measuredAt: timeLike,
    id: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:~-]{1,20}$/), nameLike),
    deviceId: fc.constantFrom('hub-fz', 'hrm-fz', 'ghost', ...PROTOTYPE_NAMES),
    batteryPercent: numberLike,
    mealContext: nameLike,
    method: fc.constantFrom('meter', 'cgm', 'constructor'),
    entryMethod: nameLike,
    setting: nameLike,
    sequence: numberLike,
    extra: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: ['kind', 'unit', 'measuredAt'] },
).map((r) => {
  // Keys that name Object.prototype members, as own JSON properties.
  const out: Record<string, unknown> = { ...r };
  for (const p of ['constructor', '__proto__', 'toString']) if (typeof r.id === 'string' && r.id.length % 3 === 0) Object.defineProperty(out, p, { value: r.extra, enumerable: true });
  delete out.extra;
  return out;
});

/** Mostly valid readings (so that something is stored), valid ones with one field made hostile, and anything. */
const readingLike = fc.oneof(
  { weight: 3, arbitrary: validReading },
  {
    weight: 3,
    arbitrary: fc.tuple(validReading, anyReading, fc.constantFrom('kind', 'value', 'systolic', 'unit', 'measuredAt', 'id', 'deviceId', 'batteryPercent', 'mealContext', 'sequence')).map(([valid, hostile, field]) => ({
      ...valid,
      [field]: hostile[field] ?? hostile.unit,
    })),
  },
  { weight: 2, arbitrary: anyReading },
);

/** A body as text: a well-formed envelope most of the time, anything else some of the time. */
const readingsBody = fc.oneof(
  { weight: 6, arbitrary: fc.array(readingLike, { minLength: 1, maxLength: 5 }).map((readings) => JSON.stringify({ readings })) },
  { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.array(readingLike, { minLength: 1, maxLength: 2 }).map((readings) => `\uFEFF${JSON.stringify({ readings })}`) },
  { weight: 1, arbitrary: readingLike.map((r) => `{"readings": [${JSON.stringify(r)}], "readings": []}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
);

const coding = fc.record({ system: fc.constantFrom('http://loinc.org', 'urn:iso:std:iso:11073:10101', 'constructor'), code: fc.oneof(fc.constantFrom('8867-4', '85354-9', '8480-6', '8462-4', '59408-5', '29463-7', '8310-5', '41653-7', '99504-3', '150020'), nameLike) });
const quantity = fc.record({ value: numberLike, unit: nameLike, system: fc.constantFrom('http://unitsofmeasure.org', 'urn:other', '__proto__'), code: nameLike }, { requiredKeys: [] });
const observationLike = fc.record(
  {
    resourceType: fc.constantFrom('Observation', 'Observation', 'Patient', '__proto__'),
    status: fc.constantFrom('final', 'amended', 'preliminary', 'constructor'),
    code: fc.record({ coding: fc.array(coding, { maxLength: 3 }) }),
    identifier: fc.array(fc.record({ system: nameLike, value: fc.string({ maxLength: 10 }) }), { maxLength: 2 }),
    effectiveDateTime: timeLike,
    valueQuantity: quantity,
    component: fc.array(fc.record({ code: fc.record({ coding: fc.array(coding, { maxLength: 2 }) }), valueQuantity: quantity }), { maxLength: 4 }),
    device: fc.record({ reference: fc.constantFrom('Device/hrm-fz', 'Device/hub-fz', 'Device/constructor', 'Device/') }),
  },
  { requiredKeys: ['resourceType'] },
);
const fhirRequest = fc.oneof(
  { weight: 3, arbitrary: observationLike.map((o) => ({ path: '/fhir/Observation', body: JSON.stringify(o) })) },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom('batch', 'transaction', 'history'), fc.array(observationLike, { maxLength: 4 })).map(([type, obs]) => ({
      path: '/fhir',
      body: JSON.stringify({ resourceType: 'Bundle', type, entry: obs.map((resource) => ({ resource, request: { method: 'POST', url: 'Observation' } })) }),
    })),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 100 }).map((body) => ({ path: '/fhir/Observation', body })) },
);

/** Admin API bodies: the right fields with any values, hostile keys, and anything at all. */
const idLike = fc.oneof(fc.stringMatching(/^[a-z0-9-]{1,12}$/), nameLike);
const adminRequest = fc.oneof(
  fc.record({ id: idLike, organizationId: fc.oneof(idLike, fc.constant('org-fz')) }, { requiredKeys: [] }).map((b) => ({ path: '/v1/admin/patients', body: b })),
  fc.record({ id: idLike, name: nameLike }, { requiredKeys: [] }).map((b) => ({ path: '/v1/admin/organizations', body: b })),
  fc
    .record({ id: idLike, kind: fc.oneof(fc.constantFrom('bp-cuff', 'hub', 'scale'), nameLike), patientId: fc.oneof(idLike, fc.constant('p-fz')), hubId: idLike, assignedFrom: timeLike, serial: nameLike }, { requiredKeys: [] })
    .map((b) => ({ path: '/v1/admin/devices', body: b })),
  fc.record({ patientId: fc.oneof(idLike, fc.constant('p-fz')), from: timeLike }, { requiredKeys: [] }).map((b) => ({ path: '/v1/admin/devices/hrm-fz/assignments', body: b })),
  fc.record({ graceSeconds: numberLike }, { requiredKeys: [] }).map((b) => ({ path: '/v1/admin/devices/cuff-fz/rotate-secret', body: b })),
  fc.record({ id: idLike, organizationId: fc.oneof(idLike, fc.constant('org-fz')), name: nameLike }, { requiredKeys: [] }).map((b) => ({ path: '/v1/admin/care-teams', body: b })),
  fc.record({ patientId: idLike }, { requiredKeys: [] }).map((b) => ({ path: '/v1/admin/care-teams/team-fz/patients', body: b })),
  fc.record({ staffId: idLike }, { requiredKeys: [] }).map((b) => ({ path: '/v1/admin/care-teams/team-fz/members', body: b })),
  fc.jsonValue({ maxDepth: 3 }).map((b) => ({ path: '/v1/admin/patients', body: b })),
  fc.record({ path: fc.constantFrom('/v1/admin/organizations', '/v1/admin/devices', '/v1/admin/care-teams'), text: fc.string({ maxLength: 60 }) }).map(({ path, text }) => ({ path, body: undefined, text })),
);
/** Staff creation hashes a password (slow): fewer runs. */
const staffBody = fc.record(
  {
    email: fc.oneof(fc.emailAddress(), nameLike),
    password: fc.oneof(fc.constant('a long enough passphrase'), fc.string({ maxLength: 20 })),
    role: fc.oneof(fc.constantFrom('nurse', 'admin'), nameLike),
    organizationId: fc.oneof(fc.constant('org-fz'), idLike),
    phone: fc.oneof(fc.constant('+15551230000'), nameLike),
    displayName: nameLike,
  },
  { requiredKeys: [] },
);

// --- the properties ---------------------------------------------------------------------------

describe('fuzz: no input makes the gateway fail, crash or store a non-canonical reading', { timeout: 240_000 }, () => {
  let t: TestGateway;
  let device: string;
  let hub: string;
  let client: MqttClient;

  beforeAll(async () => {
    t = await startTestGateway({ RPM_RATE_LIMIT_PER_DEVICE_PER_MIN: '100000' });
    await t.admin.createOrganization('org-fz');
    await t.admin.createPatient('p-fz', { organizationId: 'org-fz' });
    device = await t.admin.createDevice({ id: 'hrm-fz', kind: 'heart-rate-monitor', patientId: 'p-fz' });
    hub = await t.admin.createDevice({ id: 'hub-fz', kind: 'hub' });
    await t.admin.createDevice({ id: 'cuff-fz', kind: 'bp-cuff', patientId: 'p-fz', hubId: 'hub-fz' });
    await t.admin.createCareTeam('team-fz', 'org-fz');
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${t.mqttPort}`, { protocolVersion: 4, reconnectPeriod: 0, clean: false, clientId: 'fz', username: 'hub-fz', password: hub });
  });
  afterAll(async () => {
    await client?.endAsync(true);
    await t.close();
  });

  const post = (path: string, text: string, token: string, contentType = 'application/json') => request(`${t.baseUrl}${path}`, { token, body: text, headers: { 'content-type': contentType } });

  it('HTTP: POST /v1/readings answers 202, 4xx, or 429, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(readingsBody, fc.boolean(), async (body, viaHub) => {
        const res = await post('/v1/readings', body, viaHub ? hub : device);
        expect(res.status, `${res.status} ${JSON.stringify(res.body)} for ${body}`).toBeLessThan(500);
      }),
      settings(),
    );
  });

  it('MQTT: every QoS 1 payload is acknowledged and the connection stays up', async () => {
    await fc.assert(
      fc.asyncProperty(readingsBody, async (body) => {
        await Promise.race([
          client.publishAsync('devices/hub-fz/readings', body, { qos: 1 }),
          new Promise((_, reject) => setTimeout(() => reject(new Error(`no PUBACK for ${body}`)), 5000)),
        ]);
        expect(client.connected, `connection closed after ${body}`).toBe(true);
      }),
      settings(),
    );
  });

  it('FHIR: POST /fhir and /fhir/Observation answer an OperationOutcome or Bundle, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fhirRequest, async ({ path, body }) => {
        const res = await post(path, body, device, 'application/fhir+json');
        expect(res.status, `${res.status} ${JSON.stringify(res.body)} for ${body}`).toBeLessThan(500);
        expect(['OperationOutcome', 'Bundle']).toContain((res.body as { resourceType?: string }).resourceType);
      }),
      settings(),
    );
  });

  it('admin API: any body answers 2xx or 4xx with problem+json, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(adminRequest, async (r) => {
        const text = 'text' in r && r.text !== undefined ? r.text : JSON.stringify(r.body);
        const res = await post(r.path, text, ADMIN_TOKEN);
        expect(res.status, `${res.status} ${JSON.stringify(res.body)} for ${r.path} ${text}`).toBeLessThan(500);
        if (res.status >= 400) expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      }),
      settings(),
    );
    await fc.assert(
      fc.asyncProperty(staffBody, async (body) => {
        const res = await post('/v1/admin/staff', JSON.stringify(body), ADMIN_TOKEN);
        expect(res.status, `${res.status} ${JSON.stringify(res.body)} for ${JSON.stringify(body)}`).toBeLessThan(500);
      }),
      settings(Math.max(10, Math.floor(RUNS / 4))),
    );
  });

  it('afterwards: still alive, every stored reading is canonical, the audit chain verifies', async () => {
    expect((await request(`${t.baseUrl}/healthz`)).status).toBe(200);
    const stored = await t.gw.ctx.readings.readingsSince(0, 1_000_000);
    expect(stored.length).toBeGreaterThan(0);
    const bad = stored.map((s) => ({ id: s.reading.id, problems: canonicalReadingProblems(s.reading) })).filter((b) => b.problems.length > 0);
    expect(bad).toEqual([]);
    expect((await t.gw.ctx.audit.verify()).ok).toBe(true);
  });
});
