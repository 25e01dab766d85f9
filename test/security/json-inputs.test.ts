import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, isoMinutesAgo, request, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/*
 * Issue 11, item 9: HTTP accepted a UTF-8 byte order mark that MQTT refused, and duplicate JSON
 * keys were silently last-wins. One parser now reads every input: a leading BOM is ignored
 * everywhere, a repeated key is refused everywhere.
 */
const BOM = '\uFEFF';

describe('one JSON parser for HTTP, MQTT and FHIR', () => {
  let t: TestGateway;
  let secret: string;
  let minutesAgo = 200;
  const reading = (value: number) => ({ kind: 'heart-rate', value, unit: 'bpm', measuredAt: isoMinutesAgo(minutesAgo--) });

  beforeAll(async () => {
    t = await startTestGateway();
    await t.admin.createPatient('p-json');
    secret = await t.admin.createDevice({ id: 'hrm-json', kind: 'heart-rate-monitor', patientId: 'p-json' });
  });
  afterAll(async () => t.close());

  const publish = async (payload: string | Buffer): Promise<void> => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${t.mqttPort}`, { protocolVersion: 4, reconnectPeriod: 0, username: 'hrm-json', password: secret });
    try {
      await client.publishAsync('devices/hrm-json/readings', payload, { qos: 1 });
    } finally {
      await client.endAsync();
    }
  };
  const values = async (): Promise<number[]> => (await t.admin.readings('p-json')).map((r: { reported: { values: { value: number } } }) => r.reported.values.value);
  const rejectionCodes = async (transport: string): Promise<string[]> =>
    ((await t.admin.get('/v1/admin/devices/hrm-json/rejections?limit=100')).body.rejections as { code: string; transport: string }[])
      .filter((r) => r.transport === transport)
      .map((r) => r.code);

  it('ignores a leading byte order mark on HTTP and on MQTT alike', async () => {
    const http = await request(`${t.baseUrl}/v1/readings`, { token: secret, headers: { 'content-type': 'application/json' }, body: BOM + JSON.stringify({ readings: [reading(71)] }) });
    expect(http.status).toBe(202);
    await publish(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ readings: [reading(72)] }))]));
    expect(await values()).toEqual(expect.arrayContaining([71, 72]));
    expect(await rejectionCodes('mqtt')).toEqual([]);
  });

  it('refuses a repeated key on HTTP, MQTT, FHIR and the admin API, naming where it is', async () => {
    const duplicated = `{"readings": [{"kind": "heart-rate", "value": 73, "value": 250, "unit": "bpm", "measuredAt": "${isoMinutesAgo(minutesAgo--)}"}]}`;
    const http = await request(`${t.baseUrl}/v1/readings`, { token: secret, headers: { 'content-type': 'application/json' }, body: duplicated });
    expect(http.status).toBe(400);
    expect(http.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(http.body).toMatchObject({ code: 'RPM_ERR_REQUEST_DUPLICATE_KEY', path: '/readings/0/value' });

    await publish(duplicated);
    expect(await rejectionCodes('mqtt')).toEqual(['RPM_ERR_REQUEST_DUPLICATE_KEY']);
    expect(await values()).not.toContain(73);
    expect(await values()).not.toContain(250);

    const fhir = await request(`${t.baseUrl}/fhir/Observation`, {
      token: secret,
      headers: { 'content-type': 'application/fhir+json' },
      body: '{"resourceType": "Observation", "status": "final", "status": "cancelled"}',
    });
    expect(fhir.status).toBe(400);
    expect(JSON.stringify(fhir.body)).toContain('RPM_ERR_REQUEST_DUPLICATE_KEY');

    const admin = await request(`${t.baseUrl}/v1/admin/patients`, {
      token: ADMIN_TOKEN,
      headers: { 'content-type': 'application/json' },
      body: '{"id": "p-one", "id": "p-two"}',
    });
    expect(admin.status).toBe(400);
    expect(admin.body.code).toBe('RPM_ERR_REQUEST_DUPLICATE_KEY');
    expect((await t.admin.get('/v1/admin/patients/p-two')).status).toBe(404);
  });
});
