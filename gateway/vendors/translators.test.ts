import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { vendorFixture as fixture } from '../../test/helpers/vendors.js';
import { batteryPercentOf, bodytraceAuthorized, translateBodyTrace } from './bodytrace.js';
import { nightscoutAuthorized, translateNightscout } from './nightscout.js';
import { translateOpenMhealth } from './open-mhealth.js';
import { tenoviAuthorized, tenoviOffsetMinutes, translateTenovi } from './tenovi.js';
import { isoAt, offsetInZone, scaled } from './translation.js';
import { SignatureWindow, translateValidic, validicSignature, verifyValidic } from './validic.js';
import { entryMethodOf, parseWithingsNotification, translateWithingsMeasures } from './withings.js';

const json = (file: string): unknown => JSON.parse(fixture(file));

const readingsOf = (t: ReturnType<typeof translateTenovi>) => t.records.flatMap((r) => (r.translation.ok ? [r.translation.reading] : []));
const refusalsOf = (t: ReturnType<typeof translateTenovi>) => t.records.flatMap((r) => (r.translation.ok ? [] : [{ ...r.translation.problem, path: `${r.path}${r.translation.problem.path}` }]));

describe('vendor adapters translate documented payloads into canonical readings', () => {
  it('Tenovi: a BP cuff reading posted as an array becomes BP + pulse with the index in their identity, battery as status, irregular heartbeat on the BP', () => {
    const t = translateTenovi(json('tenovi/bpm-post-as-array.json'), { authHeader: 'Authorization', authKey: 'k'.repeat(16) });
    expect(readingsOf(t)).toEqual([
      { kind: 'blood-pressure', systolic: 148, diastolic: 92, unit: 'mmHg', measuredAt: '2025-03-02T09:04:58-05:00' },
      { kind: 'heart-rate', value: 77, unit: 'bpm', measuredAt: '2025-03-02T09:04:58-05:00' },
    ]);
    expect(t.records.map((r) => [r.externalId, r.disambiguator, r.path])).toEqual([
      ['7c1e5f0a-2b8d-4e39-9a61-0f3c5d2e8b14', 'mi3', '/0'],
      ['7c1e5f0a-2b8d-4e39-9a61-0f3c5d2e8b14', 'mi3', '/1'],
    ]);
    expect(t.records[0]?.details).toMatchObject({ measurementIndex: 3, sensorCode: '10', deviceName: 'Tenovi BPM - L', irregularHeartbeat: true });
    expect(t.records[1]?.details?.irregularHeartbeat).toBeUndefined();
    expect(t.deviceStatus).toEqual([{ externalId: '7c1e5f0a-2b8d-4e39-9a61-0f3c5d2e8b14', batteryPercent: 64, atMs: Date.parse('2025-03-02T14:04:58Z') }]);
    // The hardware UUID and Tenovi's patient id never reach a reading.
    expect(JSON.stringify(t.records)).not.toMatch(/A1B2C3D4E5F6|pt-001/);
  });

  it('Tenovi: coincident same-type readings are told apart by measurement index; estimated timestamps are flagged; non-vitals are counted', () => {
    const t = translateTenovi(json('tenovi/pulse-ox-coincident.json'), { authHeader: 'Authorization', authKey: 'k'.repeat(16) });
    expect(readingsOf(t).map((r) => [r.kind, r.value])).toEqual([
      ['spo2', 96],
      ['spo2', 93],
      ['heart-rate', 82],
    ]);
    expect(t.records.map((r) => r.disambiguator)).toEqual(['mi1', 'mi2', 'mi1']);
    expect(t.records.every((r) => r.flags?.includes('time-estimated'))).toBe(true);
    expect([...t.ignored]).toEqual([['non-vital', 1]]);
  });

  it('Tenovi: glucometer meal context is mapped; a control-solution check is not the patient’s blood; weight without a configured unit is refused, with one it is read', () => {
    const t = translateTenovi(json('tenovi/glucometer.json'), { authHeader: 'Authorization', authKey: 'k'.repeat(16) });
    expect(readingsOf(t)).toEqual([{ kind: 'blood-glucose', value: 186, unit: 'mg/dL', method: 'meter', mealContext: 'after-meal', measuredAt: '2025-03-03T07:40:55-05:00' }]);
    expect([...t.ignored]).toEqual([['control-solution', 1]]);
    const scale = { metric: 'weight', hwi_device_id: 'sc-1', timestamp: '2025-03-03T12:00:00Z', value_1: '181.4' };
    expect(refusalsOf(translateTenovi(scale, { authHeader: 'Authorization', authKey: 'k'.repeat(16) }))[0]).toMatchObject({ code: 'RPM_ERR_READING_UNIT_UNSUPPORTED', path: '/value_1' });
    expect(readingsOf(translateTenovi(scale, { authHeader: 'Authorization', authKey: 'k'.repeat(16), weightUnit: 'lb' }))).toEqual([
      { kind: 'body-weight', value: 181.4, unit: 'lb', measuredAt: '2025-03-03T12:00:00Z' },
    ]);
  });

  it('Tenovi: refuses a payload that is not a measurement, and records that are malformed one by one', () => {
    expect(() => translateTenovi('nope', { authHeader: 'a', authKey: 'k'.repeat(16) })).toThrow(expect.objectContaining({ code: 'RPM_ERR_VENDOR_PAYLOAD_INVALID' }));
    expect(() => translateTenovi([], { authHeader: 'a', authKey: 'k'.repeat(16) })).toThrow(expect.objectContaining({ code: 'RPM_ERR_VENDOR_PAYLOAD_INVALID' }));
    const t = translateTenovi(
      [
        { metric: 'blood_pressure', hwi_device_id: 'x', timestamp: 'yesterday at noon', value_1: '120', value_2: '80' },
        { metric: 'blood_pressure', timestamp: '2025-03-02T14:04:58Z' },
        { metric: 'blood_pressure', hwi_device_id: 'x', timestamp: '2025-03-02T14:04:58Z', value_1: 'high', value_2: '80' },
      ],
      { authHeader: 'a', authKey: 'k'.repeat(16) },
    );
    expect(refusalsOf(t).map((r) => [r.code, r.path])).toEqual([
      ['RPM_ERR_READING_TIME_INVALID', '/0/timestamp'],
      ['RPM_ERR_READING_INVALID', '/1/hwi_device_id'],
      ['RPM_ERR_READING_INVALID', '/2/value_1'],
    ]);
  });

  it('Tenovi: the configured auth header and key, in constant time; timezone_offset read by magnitude', () => {
    const s = { authHeader: 'X-Tenovi-Key', authKey: 'secret-key-0123456789' };
    expect(tenoviAuthorized(s, { 'x-tenovi-key': 'secret-key-0123456789' })).toBe(true);
    expect(tenoviAuthorized(s, { 'x-tenovi-key': 'secret-key-012345678' })).toBe(false);
    expect(tenoviAuthorized(s, { authorization: 'secret-key-0123456789' })).toBe(false);
    expect([-300, -18000, -5, 330, 7, 99999].map(tenoviOffsetMinutes)).toEqual([-300, -300, -300, 330, 420, 0]);
  });

  it('BodyTrace: grams whatever the display unit; battery voltage as status; a tare above 0.1 kg is refused as a calibration error', () => {
    const ok = translateBodyTrace(json('bodytrace/weight.json'));
    expect(readingsOf(ok)).toEqual([{ kind: 'body-weight', value: 69800, unit: 'g', measuredAt: '2025-12-01T08:09:35.798Z' }]);
    expect(ok.records[0]?.details).toEqual({ displayUnit: 1, tareGrams: 0 });
    expect(ok.deviceStatus).toEqual([{ externalId: '35366209132765', batteryPercent: 63, atMs: 1764576575798 }]);
    const tare = translateBodyTrace(json('bodytrace/tare-error.json'));
    expect(readingsOf(tare)).toEqual([]);
    expect(refusalsOf(tare)).toEqual([expect.objectContaining({ code: 'RPM_ERR_READING_CALIBRATION', path: '/values/tare' })]);
    const status = translateBodyTrace(json('bodytrace/status-only.json'));
    expect(status.records).toEqual([]);
    expect(status.deviceStatus[0]?.batteryPercent).toBe(7);
    expect([4700, 6000, 6500, 4000].map(batteryPercentOf)).toEqual([0, 100, 138, -54]);
    expect(() => translateBodyTrace({ ts: 1 })).toThrow(expect.objectContaining({ code: 'RPM_ERR_VENDOR_PAYLOAD_INVALID', path: '/deviceId' }));
  });

  it('BodyTrace: HTTP basic credentials, both parts compared', () => {
    const s = { username: 'bodytrace', password: 'a long password' };
    const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
    expect(bodytraceAuthorized(s, basic('bodytrace', 'a long password'))).toBe(true);
    expect(bodytraceAuthorized(s, basic('bodytrace', 'a long passwore'))).toBe(false);
    expect(bodytraceAuthorized(s, basic('other', 'a long password'))).toBe(false);
    expect(bodytraceAuthorized(s, 'Bearer x')).toBe(false);
    expect(bodytraceAuthorized(s, undefined)).toBe(false);
  });

  it('Withings: the documented notification; value × 10^unit; the measure-type table; unknown types and objectives counted; attrib 1 is an ambiguous user', () => {
    expect(parseWithingsNotification(fixture('withings/notification.form'))).toEqual({ userId: '12345', appli: 1, fromMs: 1530576000000, toMs: 1530698753000, action: null });
    expect(() => parseWithingsNotification('appli=1')).toThrow(expect.objectContaining({ code: 'RPM_ERR_VENDOR_PAYLOAD_INVALID' }));
    const { translated: t, nextOffset } = translateWithingsMeasures('12345', (json('withings/getmeas.json') as { body: unknown }).body);
    expect(nextOffset).toBeUndefined();
    expect(readingsOf(t)).toEqual([
      { kind: 'blood-pressure', systolic: 109, diastolic: 89, unit: 'mmHg', measuredAt: '2023-07-27T22:59:36+02:00' },
      { kind: 'heart-rate', value: 88, unit: 'bpm', measuredAt: '2023-07-27T22:59:36+02:00' },
      { kind: 'body-weight', value: 74.126, unit: 'kg', measuredAt: '2023-07-28T07:00:00+02:00' },
      { kind: 'body-weight', value: 58.21, unit: 'kg', measuredAt: '2023-07-28T08:00:00+02:00', entryMethod: 'ambiguous-user' },
    ]);
    expect(t.records.map((r) => r.recordId)).toEqual(['4716596696', '4716596696', '4716601122', '4716601990']);
    expect(t.records[0]?.details).toMatchObject({ attrib: 0, model: 'BPM Core' });
    expect(Object.fromEntries(t.ignored)).toEqual({ 'unsupported-type': 1, 'unknown-type': 1, objective: 1 });
    expect([0, 1, 2, 4, 5, 7, 8].map(entryMethodOf)).toEqual(['device', 'ambiguous-user', 'manual', 'not-a-measurement', 'device', 'device', 'ambiguous-user']);
    expect(scaled(74126, -3)).toBe(74.126);
    expect(scaled(1234, 2)).toBe(123400);
  });

  it('Withings: a page that says more gives the next offset; a group with half a blood pressure is refused', () => {
    const body = {
      timezone: 'America/New_York',
      more: 1,
      offset: 42,
      measuregrps: [{ grpid: 1, attrib: 0, date: 1764576000, category: 1, measures: [{ value: 120, type: 10, unit: 0 }] }],
    };
    const r = translateWithingsMeasures('7', body);
    expect(r.nextOffset).toBe(42);
    expect(refusalsOf(r.translated)).toEqual([expect.objectContaining({ code: 'RPM_ERR_READING_INVALID', path: '/body/measuregrps/0/measures/0' })]);
    expect(() => translateWithingsMeasures('7', { nothing: true })).toThrow(expect.objectContaining({ code: 'RPM_ERR_UPSTREAM_VENDOR' }));
  });

  it('Open mHealth: the six clinical schemas of the library, units translated; statistics, bad units and other specimens refused; other schemas counted', () => {
    const t = translateOpenMhealth('user1432', json('open-mhealth/data-points.json'));
    expect(readingsOf(t)).toEqual([
      { kind: 'blood-pressure', systolic: 115, diastolic: 60, unit: 'mmHg', measuredAt: '2020-02-05T07:25:00-08:00' },
      { kind: 'body-weight', value: 50, unit: 'kg', measuredAt: '2020-02-05T09:45:00-08:00' },
      { kind: 'blood-glucose', value: 95, unit: 'mg/dL', method: 'meter', mealContext: 'fasting', measuredAt: '2023-02-05T07:25:00Z' },
      { kind: 'spo2', value: 95, unit: '%', measuredAt: '2023-02-05T07:25:00Z' },
      { kind: 'heart-rate', value: 67.5, unit: 'bpm', measuredAt: '2020-02-05T07:25:00-08:00' },
      { kind: 'body-temperature', value: 97, unit: '[degF]', measuredAt: '2023-02-05T07:25:00+01:00' },
    ]);
    expect(t.records[0]?.recordId).toBe('123e4567-e89b-12d3-a456-426655440001');
    expect(t.records[3]?.details).toMatchObject({ supplementalOxygen: '2.5 L/min', schema: 'omh:oxygen-saturation:2.0' });
    const bad = translateOpenMhealth('user1432', json('open-mhealth/should-refuse.json'));
    // An unknown unit passes through, for normalization to refuse (RPM_ERR_READING_UNIT_UNSUPPORTED) like any reading's.
    expect(readingsOf(bad).map((r) => r.unit)).toEqual(['km']);
    expect(refusalsOf(bad).map((r) => [r.code, r.path])).toEqual([
      ['RPM_ERR_READING_INVALID', '/0/body/descriptive_statistic'],
      ['RPM_ERR_READING_INVALID', '/2/body/body_weight'],
      ['RPM_ERR_READING_UNIT_UNSUPPORTED', '/3/body/diastolic_blood_pressure/unit'],
      // The library's invalid-specimen document has no time frame either: the first problem is named.
      ['RPM_ERR_READING_TIME_INVALID', '/4/body/effective_time_frame'],
    ]);
    expect([...bad.ignored]).toEqual([['unsupported-schema', 1]]);
    const urine = { header: { id: 'u-1', schema_id: { namespace: 'omh', name: 'blood-glucose', version: '4.0' } }, body: { blood_glucose: { value: 95, unit: 'mg/dL' }, specimen_source: 'urine', effective_time_frame: { date_time: '2023-02-05T07:25:00Z' } } };
    expect(refusalsOf(translateOpenMhealth('u', urine)).map((r) => [r.code, r.path])).toEqual([['RPM_ERR_READING_INVALID', '/body/specimen_source']]);
    const cgm = { ...urine, body: { ...urine.body, specimen_source: 'interstitial fluid' } };
    expect(readingsOf(translateOpenMhealth('u', cgm))[0]).toMatchObject({ method: 'cgm' });
  });

  it("Validic: the documented record; BP + pulse from one log id; meal note; an impossible utc_offset keeps UTC; the signature of Validic's worked example", () => {
    const t = translateValidic(json('validic/push-measurements.json'));
    expect(readingsOf(t).map(({ id: _id, ...r }) => r)).toEqual([
      { kind: 'blood-pressure', systolic: 110, diastolic: 80, unit: 'mmHg', measuredAt: '2025-02-24T12:30:09Z' },
      { kind: 'heart-rate', value: 90, unit: 'bpm', measuredAt: '2025-02-24T12:30:09Z' },
      { kind: 'blood-glucose', value: 90, unit: 'mg/dL', method: 'meter', mealContext: 'before-meal', measuredAt: '2025-02-24T08:05:41-05:00' },
    ]);
    expect(t.records.map((r) => [r.externalId, r.recordId, r.path])).toEqual([
      ['rpm-user-0042', 'validic-test-measurement-record-1', '/data/0/metrics/1'],
      ['rpm-user-0042', 'validic-test-measurement-record-1', '/data/0/metrics/2'],
      ['rpm-user-0042', 'validic-test-measurement-record-2', '/data/1/metrics/0'],
    ]);
    const ids = readingsOf(t).map((r) => r.id);
    expect(new Set(ids).size).toBe(3);
    const settings = { organizationAccessToken: 'e61467e3845e8a66f7453dc55ea3fc445d1b879a6f96ebe7b243badbeae04f63', applicationSecret: '123ABC', replayWindowSeconds: 300 };
    const ts = '2015-12-08T16:04:18029095657000';
    const expected = createHmac('sha1', '123ABC').update(`${settings.organizationAccessToken}notification${ts}`).digest('base64');
    expect(validicSignature(settings, ts)).toBe(expected);
    const sent = Date.parse('2015-12-08T16:04:18Z');
    expect(() => verifyValidic(settings, { signature: expected, timestamp: ts }, sent + 60_000)).not.toThrow();
    expect(() => verifyValidic(settings, { signature: expected, timestamp: ts }, sent + 301_000)).toThrow(expect.objectContaining({ code: 'RPM_ERR_AUTH_SIGNATURE_EXPIRED' }));
    // The signature Validic publishes for its worked example verifies.
    expect(expected).toBe('iYg596AeXNSgUqEPJHu6LKIVUGU=');
    expect(() => verifyValidic(settings, { signature: 'iYg596AeXNSgUqEPJHu6LKIVUGU=', timestamp: ts }, sent)).not.toThrow();
    expect(() => verifyValidic(settings, { signature: 'P46zXGJdju5qeN4VR7lgjk9JSc8=', timestamp: ts }, sent)).toThrow(expect.objectContaining({ code: 'RPM_ERR_AUTH_INVALID' }));
    expect(() => verifyValidic({ ...settings, applicationSecret: '123ABD' }, { signature: expected, timestamp: ts }, sent)).toThrow(expect.objectContaining({ code: 'RPM_ERR_AUTH_INVALID' }));
    expect(() => verifyValidic(settings, { signature: undefined, timestamp: ts }, sent)).toThrow(expect.objectContaining({ code: 'RPM_ERR_AUTH_MISSING' }));
    const window = new SignatureWindow();
    expect(window.admit('sig', 'body-a', 0, 300_000)).toBe(true);
    expect(window.admit('sig', 'body-a', 1000, 300_000)).toBe(true);
    expect(window.admit('sig', 'body-b', 2000, 300_000)).toBe(false);
  });

  it('Nightscout: sgv with trend and noise at `date`; special codes and calibrations counted; mbg is a meter reading; the api-secret is the SHA-1 of the secret', () => {
    const t = translateNightscout('site-1', json('nightscout/entries-xdrip.json'));
    expect(readingsOf(t)).toEqual([
      { kind: 'blood-glucose', value: 99, unit: 'mg/dL', method: 'cgm', measuredAt: '2025-12-01T03:05:00-05:00' },
      { kind: 'blood-glucose', value: 94, unit: 'mg/dL', method: 'cgm', measuredAt: '2025-12-01T03:10:00-05:00' },
      { kind: 'blood-glucose', value: 101, unit: 'mg/dL', method: 'meter', measuredAt: '2025-12-01T08:16:40Z' },
    ]);
    expect(t.records[0]).toMatchObject({ recordId: '67a1f0c2e4b0a1b2c3d4e5f6', details: { direction: 'FortyFiveDown', noise: 1, uploader: 'xDrip-DexcomG6' } });
    expect(Object.fromEntries(t.ignored)).toEqual({ 'sensor-condition': 1, calibration: 1 });
    const bridge = translateNightscout('site-1', json('nightscout/entries-share-bridge.json'));
    expect(readingsOf(bridge)[0]?.measuredAt).toBe('2025-12-01T03:05:00-05:00');
    const sha1 = createHash('sha1').update('a site secret 1234').digest('hex');
    expect(nightscoutAuthorized('a site secret 1234', sha1)).toBe(true);
    expect(nightscoutAuthorized('a site secret 1234', sha1.toUpperCase())).toBe(true);
    expect(nightscoutAuthorized('a site secret 1234', 'a site secret 1234')).toBe(false);
    expect(nightscoutAuthorized('a site secret 1234', undefined)).toBe(false);
  });

  it('time helpers: offsets of IANA zones (with DST), ISO with offset and milliseconds', () => {
    expect(offsetInZone(Date.parse('2026-07-01T12:00:00Z'), 'Europe/Berlin')).toBe(120);
    expect(offsetInZone(Date.parse('2026-01-01T12:00:00Z'), 'Europe/Berlin')).toBe(60);
    expect(offsetInZone(Date.parse('2026-01-01T12:00:00Z'), 'UTC')).toBe(0);
    expect(offsetInZone(0, 'Mars/Olympus')).toBeUndefined();
    expect(isoAt(Date.parse('2026-01-01T12:00:00.250Z'), -330)).toBe('2026-01-01T06:30:00.250-05:30');
  });
});
