import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isoMinutesAgo, request, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/*
 * Issue 11, item 2: a unit that names an Object.prototype member crashed ingest (HTTP 500 for
 * the whole batch, FHIR 500, MQTT no PUBACK and a disconnect, so a persistent session redelivered
 * it forever). Each input must reject that one reading and keep the rest.
 */
const PROTOTYPE_NAMES = ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty'];

/** The old code never acknowledged: fail in seconds rather than at the test timeout. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

describe('readings whose unit names an Object.prototype member', () => {
  let t: TestGateway;
  let secret: string;
  let minutesAgo = 100;

  beforeAll(async () => {
    t = await startTestGateway();
    await t.admin.createPatient('p-proto');
    secret = await t.admin.createDevice({ id: 'hrm-proto', kind: 'heart-rate-monitor', patientId: 'p-proto' });
  });
  afterAll(async () => t.close());

  const heartRate = (unit: string, value = 70) => ({ kind: 'heart-rate', value, unit, measuredAt: isoMinutesAgo(minutesAgo--) });

  it('HTTP: 202 with that reading rejected and the rest of the batch accepted', async () => {
    const readings = [heartRate('bpm', 61), ...PROTOTYPE_NAMES.map((u) => heartRate(u)), heartRate('bpm', 62)];
    const res = await request(`${t.baseUrl}/v1/readings`, { token: secret, json: { readings } });
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(2);
    expect(res.body.outcomes.slice(1, -1).map((o: { code: string; path: string }) => [o.code, o.path])).toEqual(
      PROTOTYPE_NAMES.map((_, i) => ['RPM_ERR_READING_UNIT_UNSUPPORTED', `/readings/${i + 1}/unit`]),
    );
  });

  it('FHIR: an OperationOutcome naming the unit, not a 500', async () => {
    for (const code of PROTOTYPE_NAMES) {
      const res = await request(`${t.baseUrl}/fhir/Observation`, {
        token: secret,
        headers: { 'content-type': 'application/fhir+json' },
        body: JSON.stringify({
          resourceType: 'Observation',
          status: 'final',
          code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
          effectiveDateTime: isoMinutesAgo(minutesAgo--),
          valueQuantity: { value: 70, system: 'http://unitsofmeasure.org', code },
        }),
      });
      expect(res.status, code).toBe(422);
      expect(JSON.stringify(res.body)).toContain('RPM_ERR_READING_UNIT_UNSUPPORTED');
    }
  });

  it('MQTT: the publish is acknowledged, the reading rejected, and later readings of the persistent session go through', async () => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${t.mqttPort}`, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      clean: false,
      clientId: 'hrm-proto-session',
      username: 'hrm-proto',
      password: secret,
    });
    try {
      for (const unit of PROTOTYPE_NAMES) {
        // publishAsync resolves on PUBACK; the old code closed the connection instead.
        await within(5000, 'PUBACK', client.publishAsync('devices/hrm-proto/readings', JSON.stringify({ readings: [heartRate(unit)] }), { qos: 1 }));
      }
      await client.publishAsync('devices/hrm-proto/readings', JSON.stringify({ readings: [heartRate('bpm', 99)] }), { qos: 1 });
      expect(client.connected).toBe(true);
    } finally {
      await client.endAsync(true);
    }
    const stored = await t.admin.readings('p-proto');
    expect(stored.map((r: { reported: { unit: string } }) => r.reported.unit).every((u: string) => u === 'bpm')).toBe(true);
    expect(stored.some((r: { reported: { values: { value: number } } }) => r.reported.values.value === 99)).toBe(true);
    const rejections = await t.admin.get('/v1/admin/devices/hrm-proto/rejections?limit=100');
    const codes = (rejections.body.rejections as { code: string; transport: string }[]).filter((r) => r.transport === 'mqtt').map((r) => r.code);
    expect(codes).toEqual(PROTOTYPE_NAMES.map(() => 'RPM_ERR_READING_UNIT_UNSUPPORTED'));
  });
});
