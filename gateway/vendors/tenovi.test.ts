import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sample, startVendorGateway, type VendorGateway, vendorFixture } from '../../test/helpers/vendors.js';
import { sha256Hex } from './translation.js';

const KEY = 'tenovi-webhook-key-0123456789';
const BPM = '7c1e5f0a-2b8d-4e39-9a61-0f3c5d2e8b14';
const OX = '0d9a4c1e-6f2b-47a8-b5d3-9e1f2a7c6b30';
const URL_PATH = '/vendors/tenovi/org-v/measurements';

describe('Tenovi measurement webhooks, end to end', () => {
  let g: VendorGateway;
  const auth = { 'x-tenovi-key': KEY };

  beforeAll(async () => {
    g = await startVendorGateway();
    await g.connect('tenovi', { authHeader: 'X-Tenovi-Key', authKey: KEY });
    await g.bind('tenovi', BPM, { id: 'tn-cuff', kind: 'bp-cuff', patientId: 'tn-p1' });
    await g.bind('tenovi', OX, { id: 'tn-ox', kind: 'pulse-oximeter', patientId: 'tn-p2' });
  });
  afterAll(async () => g?.close());

  it('refuses a missing or wrong key, and an organization without a Tenovi connection, with problem+json', async () => {
    const body = vendorFixture('tenovi/bpm-post-as-array.json');
    const missing = await g.post(URL_PATH, body);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    expect(missing.body).toMatchObject({ code: 'RPM_ERR_AUTH_MISSING' });
    expect((await g.post(URL_PATH, body, { 'x-tenovi-key': `${KEY}x` })).body).toMatchObject({ code: 'RPM_ERR_AUTH_INVALID' });
    // The key in another header than the configured one does not count.
    expect((await g.post(URL_PATH, body, { authorization: KEY })).status).toBe(401);
    expect((await g.post('/vendors/tenovi/nowhere/measurements', body, auth)).body).toMatchObject({ code: 'RPM_ERR_AUTH_INVALID' });
    expect(await g.readings('tn-p1')).toEqual([]);
  });

  it('stores a BP cuff reading posted as an array: BP and pulse, attributed, with the vendor, payload hash and index; battery as device status', async () => {
    const body = vendorFixture('tenovi/bpm-post-as-array.json');
    const res = await g.post(URL_PATH, body, auth);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: 2, duplicate: 0, rejected: 0 });
    const readings = (await g.readings('tn-p1')).sort((a, b) => a.kind.localeCompare(b.kind));
    expect(readings.map((r) => [r.kind, r.deviceId, r.measuredAt])).toEqual([
      ['blood-pressure', 'tn-cuff', '2025-03-02T09:04:58-05:00'],
      ['heart-rate', 'tn-cuff', '2025-03-02T09:04:58-05:00'],
    ]);
    const bp = readings[0];
    expect(bp.components.map((c: { name: string; value: number }) => [c.name, c.value])).toEqual([
      ['systolic', 148],
      ['diastolic', 92],
    ]);
    expect(bp.source).toEqual({ vendor: 'tenovi', payloadSha256: sha256Hex(body), details: { measurementIndex: 3, sensorCode: '10', deviceName: 'Tenovi BPM - L', irregularHeartbeat: true } });
    const device = await g.admin('GET', '/v1/admin/devices/tn-cuff');
    expect(device.body).toMatchObject({ batteryPercent: 64, batteryAt: '2025-03-02T14:04:58.000Z' });

    // Tenovi delivers again (a retry): the same readings, answered duplicate, never stored twice.
    const again = await g.post(URL_PATH, body, auth);
    expect(again.body).toMatchObject({ accepted: 0, duplicate: 2 });
    expect(await g.readings('tn-p1')).toHaveLength(2);
    // The same measurement sent as separate posts (post_as_array off) is the same reading too.
    const [bpOnly] = JSON.parse(body) as unknown[];
    expect((await g.post(URL_PATH, JSON.stringify(bpOnly), auth)).body).toMatchObject({ accepted: 0, duplicate: 1 });
  });

  it('keeps coincident same-type readings apart by measurement index, and flags estimated timestamps', async () => {
    const res = await g.post(URL_PATH, vendorFixture('tenovi/pulse-ox-coincident.json'), auth);
    expect(res.body).toMatchObject({ accepted: 3, duplicate: 0, rejected: 0, ignored: { 'non-vital': 1 } });
    const readings = await g.readings('tn-p2');
    expect(readings.filter((r) => r.kind === 'spo2').map((r) => r.value).sort()).toEqual([93, 96]);
    expect(readings.every((r) => r.flags.includes('time-estimated'))).toBe(true);
    expect(new Set(readings.map((r) => r.id)).size).toBe(3);
  });

  it('answers a malformed payload with a clear problem+json carrying its SHA-256, and records it', async () => {
    const res = await g.post(URL_PATH, '{"metric": "blood_pressure", ', auth);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'RPM_ERR_REQUEST_MALFORMED_JSON', payloadSha256: sha256Hex('{"metric": "blood_pressure", ') });
    const wrongShape = await g.post(URL_PATH, '"a string"', auth);
    expect(wrongShape.body).toMatchObject({ code: 'RPM_ERR_VENDOR_PAYLOAD_INVALID' });
    const recorded = await g.rejections('tenovi:org-v:payload');
    expect(recorded.map((r) => r.code)).toEqual(['RPM_ERR_VENDOR_PAYLOAD_INVALID', 'RPM_ERR_REQUEST_MALFORMED_JSON']);
    expect(recorded[1].payloadSha256).toBe(sha256Hex('{"metric": "blood_pressure", '));
  });

  it('refuses a measurement of an unbound device (recorded under its hwi_device_id, with the payload hash) while storing the others', async () => {
    const body = JSON.stringify([
      { metric: 'pulse', hwi_device_id: 'not-bound-0001', hardware_uuid: 'ZZZ', timestamp: '2025-03-04T10:00:00Z', value_1: '70' },
      { metric: 'pulse', hwi_device_id: BPM, timestamp: '2025-03-04T10:00:00Z', value_1: '71' },
    ]);
    const res = await g.post(URL_PATH, body, auth);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: 1, rejected: 1 });
    expect(res.body.outcomes[0]).toMatchObject({ status: 'rejected', code: 'RPM_ERR_VENDOR_DEVICE_UNBOUND', path: '/0' });
    const recorded = await g.rejections('tenovi:not-bound-0001');
    expect(recorded[0]).toMatchObject({ code: 'RPM_ERR_VENDOR_DEVICE_UNBOUND', payloadSha256: sha256Hex(body) });
  });

  it('refuses measurements of a bound device that was revoked, one by one', async () => {
    await g.bind('tenovi', 'revoked-hwi-1', { id: 'tn-old', kind: 'bp-cuff', patientId: 'tn-p3' });
    expect((await g.admin('POST', '/v1/admin/devices/tn-old/revoke', {})).status).toBe(200);
    const res = await g.post(URL_PATH, JSON.stringify({ metric: 'pulse', hwi_device_id: 'revoked-hwi-1', timestamp: '2025-03-05T10:00:00Z', value_1: '66' }), auth);
    expect(res.body.outcomes).toEqual([expect.objectContaining({ status: 'rejected', code: 'RPM_ERR_AUTH_DEVICE_REVOKED' })]);
    expect(await g.readings('tn-p3')).toEqual([]);
  });

  it('counts requests, readings, ignored metrics and device status per vendor on /metrics', async () => {
    const m = await g.metrics();
    expect(sample(m, 'rpm_vendor_requests_total', { vendor: 'tenovi', outcome: 'ok' })).toBeGreaterThanOrEqual(6);
    expect(sample(m, 'rpm_vendor_requests_total', { vendor: 'tenovi', outcome: 'unauthorized' })).toBe(4);
    expect(sample(m, 'rpm_vendor_requests_total', { vendor: 'tenovi', outcome: 'invalid' })).toBe(2);
    expect(sample(m, 'rpm_vendor_readings_total', { vendor: 'tenovi', outcome: 'accepted' })).toBe(6);
    expect(sample(m, 'rpm_vendor_readings_total', { vendor: 'tenovi', outcome: 'duplicate' })).toBe(3);
    expect(sample(m, 'rpm_vendor_ignored_total', { vendor: 'tenovi', reason: 'non-vital' })).toBe(1);
    expect(sample(m, 'rpm_vendor_device_status_total', { vendor: 'tenovi' })).toBe(2);
    expect(m).not.toContain(BPM);
  });
});
