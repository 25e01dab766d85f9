import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../test/helpers/clock.js';
import { request } from '../../test/helpers/gateway.js';
import { sample, startVendorGateway, type VendorGateway, vendorFixture } from '../../test/helpers/vendors.js';
import { sha256Hex } from './translation.js';

const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('BodyTrace scale messages, end to end', () => {
  let g: VendorGateway;
  const URL_PATH = '/vendors/bodytrace/org-v/measurements';
  const auth = { authorization: basic('bodytrace', 'scale password 123') };

  beforeAll(async () => {
    g = await startVendorGateway();
    await g.connect('bodytrace', { username: 'bodytrace', password: 'scale password 123' });
    await g.bind('bodytrace', '35366209132765', { id: 'bt-scale', kind: 'scale', patientId: 'bt-p1' });
  });
  afterAll(async () => g?.close());

  it('asks for basic credentials, and refuses wrong ones', async () => {
    const none = await g.post(URL_PATH, vendorFixture('bodytrace/weight.json'));
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Basic');
    expect((await g.post(URL_PATH, vendorFixture('bodytrace/weight.json'), { authorization: basic('bodytrace', 'wrong') })).body).toMatchObject({ code: 'RPM_ERR_AUTH_INVALID' });
  });

  it('stores the weight in grams as kilograms, whatever the display unit, with battery as device status', async () => {
    const body = vendorFixture('bodytrace/weight.json');
    const res = await g.post(URL_PATH, body, auth);
    expect(res.body).toMatchObject({ accepted: 1 });
    const [r] = await g.readings('bt-p1');
    expect(r).toMatchObject({ kind: 'body-weight', value: 69.8, unit: 'kg', reported: { unit: 'g', values: { value: 69800 } }, source: { vendor: 'bodytrace', payloadSha256: sha256Hex(body) } });
    expect((await g.admin('GET', '/v1/admin/devices/bt-scale')).body).toMatchObject({ batteryPercent: 63 });
  });

  it('refuses a tare or calibration error: flagged with its reason and payload hash, never stored as a weight', async () => {
    const body = vendorFixture('bodytrace/tare-error.json');
    const res = await g.post(URL_PATH, body, auth);
    expect(res.status).toBe(200);
    expect(res.body.outcomes).toEqual([expect.objectContaining({ status: 'rejected', code: 'RPM_ERR_READING_CALIBRATION', path: '/values/tare' })]);
    expect(await g.readings('bt-p1')).toHaveLength(1);
    const [rejection] = await g.rejections('bt-scale');
    expect(rejection).toMatchObject({ code: 'RPM_ERR_READING_CALIBRATION', payloadSha256: sha256Hex(body) });
    // A status-only message is battery, no reading.
    expect((await g.post(URL_PATH, vendorFixture('bodytrace/status-only.json'), auth)).body).toMatchObject({ accepted: 0, rejected: 0, outcomes: [] });
  });

  it("answers the README's sample as printed (not JSON) with a clear 400", async () => {
    const res = await g.post(URL_PATH, vendorFixture('bodytrace/readme-sample-as-printed.txt'), auth);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'RPM_ERR_REQUEST_MALFORMED_JSON' });
    const missing = await g.post(URL_PATH, '{"ts": 1764576575798}', auth);
    expect(missing.body).toMatchObject({ code: 'RPM_ERR_VENDOR_PAYLOAD_INVALID', path: '/deviceId' });
  });
});

describe('Open mHealth data points, end to end', () => {
  let g: VendorGateway;
  const TOKEN = 'omh-platform-token-0123456789abcdef';
  const URL_PATH = '/vendors/open-mhealth/org-v/users/user1432/data-points';

  beforeAll(async () => {
    // The library's test data is from 2020 and 2023.
    g = await startVendorGateway({}, { clock: new ManualClock(Date.parse('2023-02-06T00:00:00Z')) });
    await g.connect('open-mhealth', { token: TOKEN });
    await g.bind('open-mhealth', 'user1432', { id: 'omh-dev', kind: 'multi-parameter', patientId: 'omh-p1' });
  });
  afterAll(async () => g?.close());

  it('stores the six clinical schemas and refuses statistics, bad units and unknown users, each with its reason', async () => {
    expect((await g.post(URL_PATH, vendorFixture('open-mhealth/data-points.json'))).status).toBe(401);
    expect((await g.post(URL_PATH, vendorFixture('open-mhealth/data-points.json'), { authorization: 'Bearer nope' })).body).toMatchObject({ code: 'RPM_ERR_AUTH_INVALID' });
    const auth = { authorization: `Bearer ${TOKEN}` };
    const ok = await g.post(URL_PATH, vendorFixture('open-mhealth/data-points.json'), auth);
    expect(ok.body).toMatchObject({ accepted: 6, rejected: 0 });
    const readings = await g.readings('omh-p1');
    expect(readings.map((r) => r.kind).sort()).toEqual(['blood-glucose', 'blood-pressure', 'body-temperature', 'body-weight', 'heart-rate', 'spo2']);
    expect(readings.find((r) => r.kind === 'body-temperature')).toMatchObject({ value: 36.1111, reported: { unit: '[degF]', values: { value: 97 } } });
    const bad = await g.post(URL_PATH, vendorFixture('open-mhealth/should-refuse.json'), auth);
    expect(bad.body.outcomes.map((o: { code?: string }) => o.code)).toEqual([
      'RPM_ERR_READING_INVALID',
      'RPM_ERR_READING_UNIT_UNSUPPORTED',
      'RPM_ERR_READING_INVALID',
      'RPM_ERR_READING_UNIT_UNSUPPORTED',
      'RPM_ERR_READING_TIME_INVALID',
    ]);
    expect(bad.body.ignored).toEqual({ 'unsupported-schema': 1 });
    const stranger = await g.post('/vendors/open-mhealth/org-v/users/someone-else/data-points', vendorFixture('open-mhealth/data-points.json'), auth);
    expect(stranger.body).toMatchObject({ accepted: 0, rejected: 6 });
    expect(stranger.body.outcomes[0]).toMatchObject({ code: 'RPM_ERR_VENDOR_DEVICE_UNBOUND' });
  });
});

describe('Validic Inform measurements, end to end', () => {
  let g: VendorGateway;
  const clock = new ManualClock(Date.parse('2025-02-24T14:00:00Z'));
  const SETTINGS = { organizationAccessToken: 'e61467e3845e8a66f7453dc55ea3fc445d1b879a6f96ebe7b243badbeae04f63', applicationSecret: '123ABC', replayWindowSeconds: 300 };
  const URL_PATH = '/vendors/validic/org-v/measurements';
  /** Signed as Validic signs: base64(HMAC-SHA1(secret, token + "notification" + timestamp)). */
  const signed = (atMs: number): Record<string, string> => {
    const ts = `${new Date(atMs).toISOString().slice(0, 19)}${String(atMs % 1000).padStart(3, '0')}095657000`;
    return { 'x-validic-timestamp': ts, 'x-validic-signature': createHmac('sha1', SETTINGS.applicationSecret).update(`${SETTINGS.organizationAccessToken}notification${ts}`).digest('base64') };
  };

  beforeAll(async () => {
    g = await startVendorGateway({}, { clock });
    await g.connect('validic', SETTINGS);
    await g.bind('validic', 'rpm-user-0042', { id: 'vd-dev', kind: 'multi-parameter', patientId: 'vd-p1' });
  });
  afterAll(async () => g?.close());

  it('verifies the signature and the replay window', async () => {
    const body = vendorFixture('validic/push-measurements.json');
    expect((await g.post(URL_PATH, body)).body).toMatchObject({ code: 'RPM_ERR_AUTH_MISSING' });
    const forged = { ...signed(clock.now()), 'x-validic-signature': 'iYg596AeXNSgUqEPJHu6LKIVUGU=' };
    expect((await g.post(URL_PATH, body, forged)).body).toMatchObject({ code: 'RPM_ERR_AUTH_INVALID' });
    const stale = await g.post(URL_PATH, body, signed(clock.now() - 301_000));
    expect(stale.status).toBe(401);
    expect(stale.body).toMatchObject({ code: 'RPM_ERR_AUTH_SIGNATURE_EXPIRED' });
    expect(await g.readings('vd-p1')).toEqual([]);
  });

  it('stores the documented records: BP and pulse of one log id, glucose with its meal note; the log id kept; a resend is a duplicate', async () => {
    const body = vendorFixture('validic/push-measurements.json');
    const headers = signed(clock.now());
    const res = await g.post(URL_PATH, body, headers);
    expect(res.body).toMatchObject({ accepted: 3, rejected: 0 });
    const readings = await g.readings('vd-p1');
    expect(readings.map((r) => [r.kind, r.measuredAt, r.source.recordId]).sort()).toEqual([
      ['blood-glucose', '2025-02-24T08:05:41-05:00', 'validic-test-measurement-record-2'],
      ['blood-pressure', '2025-02-24T12:30:09Z', 'validic-test-measurement-record-1'],
      ['heart-rate', '2025-02-24T12:30:09Z', 'validic-test-measurement-record-1'],
    ]);
    expect(readings.find((r) => r.kind === 'blood-glucose')).toMatchObject({ mealContext: 'before-meal', glucoseMethod: 'meter' });
    // Validic retries with the same signature and body: idempotent. The same signature with another body: refused.
    expect((await g.post(URL_PATH, body, headers)).body).toMatchObject({ accepted: 0, duplicate: 3 });
    const swapped = await g.post(URL_PATH, body.replace('110.0', '190.0'), headers);
    expect(swapped.status).toBe(401);
    expect(await g.readings('vd-p1')).toHaveLength(3);
    const m = await g.metrics();
    expect(sample(m, 'rpm_vendor_requests_total', { vendor: 'validic', outcome: 'expired' })).toBe(1);
    expect(sample(m, 'rpm_vendor_requests_total', { vendor: 'validic', outcome: 'unauthorized' })).toBe(3);
  });
});

describe('Nightscout entries, end to end', () => {
  let g: VendorGateway;
  const SECRET = 'nightscout site secret 42';
  const apiSecret = { 'api-secret': createHash('sha1').update(SECRET).digest('hex') };
  const URL_PATH = '/vendors/nightscout/org-v/site-ann/api/v1/entries';

  beforeAll(async () => {
    g = await startVendorGateway();
    await g.connect('nightscout', {});
    await g.bind('nightscout', 'site-ann', { id: 'ns-cgm', kind: 'cgm', patientId: 'ns-p1' }, { nightscout: { apiSecret: SECRET } });
  });
  afterAll(async () => g?.close());

  it("authenticates the uploader with the SHA-1 of the site's secret", async () => {
    const body = vendorFixture('nightscout/entries-xdrip.json');
    expect((await g.post(URL_PATH, body)).body).toMatchObject({ code: 'RPM_ERR_AUTH_MISSING' });
    expect((await g.post(URL_PATH, body, { 'api-secret': SECRET })).body).toMatchObject({ code: 'RPM_ERR_AUTH_INVALID' });
    expect((await g.post('/vendors/nightscout/org-v/site-bob/api/v1/entries', body, apiSecret)).status).toBe(401);
  });

  it('stores sgv with its trend and noise as CGM glucose; the same entry from a second uploader is one reading', async () => {
    const res = await g.post(URL_PATH, vendorFixture('nightscout/entries-xdrip.json'), apiSecret);
    expect(res.body).toMatchObject({ accepted: 3, ignored: { 'sensor-condition': 1, calibration: 1 } });
    const readings = await g.readings('ns-p1');
    const first = readings.find((r) => r.measuredAtUtc === '2025-12-01T08:05:00.000Z');
    expect(first).toMatchObject({ kind: 'blood-glucose', glucoseMethod: 'cgm', value: 99, code: { code: '99504-3' }, source: { vendor: 'nightscout', details: { direction: 'FortyFiveDown', noise: 1, uploader: 'xDrip-DexcomG6' } } });
    const bridge = await g.post('/vendors/nightscout/org-v/site-ann/api/v1/entries.json', vendorFixture('nightscout/entries-share-bridge.json'), apiSecret);
    expect(bridge.body).toMatchObject({ accepted: 0, duplicate: 1 });
    expect(bridge.body.outcomes[0].id).toBe(first.id);
    expect(await g.readings('ns-p1')).toHaveLength(3);
  });
});

describe('vendor connections and bindings (admin API)', () => {
  let g: VendorGateway;
  beforeAll(async () => {
    g = await startVendorGateway();
  });
  afterAll(async () => g?.close());

  it('documents every vendor endpoint and the admin API in the OpenAPI document', async () => {
    const doc = await request(`${g.baseUrl}/docs/json`, { token: 'test-admin-token-0123456789' });
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/vendors/tenovi/{org}/measurements',
        '/vendors/withings/{org}/notify/{token}',
        '/vendors/bodytrace/{org}/measurements',
        '/vendors/open-mhealth/{org}/users/{user}/data-points',
        '/vendors/validic/{org}/measurements',
        '/vendors/nightscout/{org}/{site}/api/v1/entries',
        '/v1/admin/organizations/{org}/vendors',
        '/v1/admin/organizations/{org}/vendors/{vendor}',
        '/v1/admin/organizations/{org}/vendors/{vendor}/bindings',
        '/v1/admin/organizations/{org}/vendors/withings/bindings/{externalId}/backfill',
        '/v1/admin/organizations/{org}/vendors/{vendor}/pulls',
        '/v1/patients/{id}/readings/{readingId}/user',
      ]),
    );
    expect(doc.body.paths['/vendors/tenovi/{org}/measurements'].post.responses['200']).toBeDefined();
  });

  it('keeps credentials write-only, validates settings per vendor, and audits changes', async () => {
    const bad = await g.admin('PUT', '/v1/admin/organizations/org-v/vendors/tenovi', { authKey: 'short' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'RPM_ERR_REQUEST_INVALID', path: '/body/authKey' });
    expect((await g.admin('PUT', '/v1/admin/organizations/nowhere/vendors/tenovi', { authKey: 'k'.repeat(20) })).status).toBe(404);
    const put = await g.admin('PUT', '/v1/admin/organizations/org-v/vendors/tenovi', { authHeader: 'X-Tenovi-Key', authKey: 'secret-webhook-key-0123', weightUnit: 'lb' });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ vendor: 'tenovi', endpoint: 'POST /vendors/tenovi/org-v/measurements', settings: { authHeader: 'X-Tenovi-Key', weightUnit: 'lb' } });
    const listed = await g.admin('GET', '/v1/admin/organizations/org-v/vendors');
    expect(JSON.stringify(listed.body)).not.toContain('secret-webhook-key-0123');
    await g.admin('POST', '/v1/admin/patients', { id: 'adm-p1', organizationId: 'org-v' });
    await g.admin('POST', '/v1/admin/devices', { id: 'adm-dev', kind: 'bp-cuff', patientId: 'adm-p1' });
    const bound = await g.admin('POST', '/v1/admin/organizations/org-v/vendors/tenovi/bindings', { externalId: 'hwi-1', deviceId: 'adm-dev' });
    expect(bound.status).toBe(201);
    expect((await g.admin('POST', '/v1/admin/organizations/org-v/vendors/tenovi/bindings', { externalId: 'hwi-1', deviceId: 'adm-dev' })).body).toMatchObject({ code: 'RPM_ERR_VENDOR_BINDING_EXISTS' });
    expect((await g.admin('POST', '/v1/admin/organizations/org-v/vendors/tenovi/bindings', { externalId: 'hwi-2', deviceId: 'ghost' })).body).toMatchObject({ code: 'RPM_ERR_DEVICE_NOT_FOUND' });
    expect((await g.admin('POST', '/v1/admin/organizations/org-v/vendors/nightscout/bindings', { externalId: 'site', deviceId: 'adm-dev' })).body).toMatchObject({ code: 'RPM_ERR_REQUEST_INVALID' });
    const withingsNoTokens = await g.admin('POST', '/v1/admin/organizations/org-v/vendors/withings/bindings', { externalId: '55', deviceId: 'adm-dev' });
    expect(withingsNoTokens.body).toMatchObject({ code: 'RPM_ERR_REQUEST_INVALID', path: '/body/withings' });
    // Unbinding takes effect at once: the next payload from hwi-1 is refused as unbound.
    expect((await g.admin('DELETE', '/v1/admin/organizations/org-v/vendors/tenovi/bindings/hwi-1')).status).toBe(204);
    const after = await g.post('/vendors/tenovi/org-v/measurements', JSON.stringify({ metric: 'pulse', hwi_device_id: 'hwi-1', timestamp: '2026-12-01T10:00:00Z', value_1: '70' }), { 'x-tenovi-key': 'secret-webhook-key-0123' });
    expect(after.body.outcomes[0]).toMatchObject({ code: 'RPM_ERR_VENDOR_DEVICE_UNBOUND' });
    // Removing the connection refuses the vendor's requests at once.
    expect((await g.admin('DELETE', '/v1/admin/organizations/org-v/vendors/tenovi')).status).toBe(204);
    expect((await g.post('/vendors/tenovi/org-v/measurements', '{}', { 'x-tenovi-key': 'secret-webhook-key-0123' })).status).toBe(401);
    const audit = await request(`${g.baseUrl}/v1/admin/audit?limit=50`, { token: 'test-admin-token-0123456789' });
    const actions = audit.body.entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['vendor.connection.put', 'vendor.binding.create', 'vendor.binding.delete', 'vendor.connection.delete']));
  });
});
