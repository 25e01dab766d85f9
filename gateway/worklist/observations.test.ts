import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isoMinutesAgo, request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';

/**
 * Issue 10 through the public API: staff-recorded observations (NEWS2 completes), display units
 * and time zones per organization and per staff member, and one reading per (device, kind,
 * instant) whatever the client id and the transport.
 */
describe('Staff observations, display units and reading identity', () => {
  let t: TestGateway;
  let nurse: string;
  let nurseId: string;
  let admin: string;
  let secret: string;

  beforeAll(async () => {
    t = await startTestGateway();
    await t.admin.createOrganization('org-a');
    await t.admin.createOrganization('org-b');
    nurseId = (await t.admin.createStaff({ email: 'nia@a.example', role: 'nurse', organizationId: 'org-a' })).id;
    await t.admin.createStaff({ email: 'ada@a.example', role: 'admin', organizationId: 'org-a' });
    await t.admin.createStaff({ email: 'bea@b.example', role: 'admin', organizationId: 'org-b' });
    nurse = await t.admin.login('nia@a.example');
    admin = await t.admin.login('ada@a.example');
    await t.admin.createPatient('p-1', { organizationId: 'org-a' });
    await t.admin.createPatient('p-2', { organizationId: 'org-a' });
    secret = await t.admin.createDevice({ id: 'multi-1', kind: 'multi-parameter', patientId: 'p-1' });
  });
  afterAll(async () => t.close());

  const observe = (patientId: string, observations: unknown[], token = nurse) => request(`${t.baseUrl}/v1/patients/${patientId}/observations`, { token, json: { observations } });

  it('records consciousness and oxygen for a patient, as manual readings with who entered them, audited', async () => {
    const at = isoMinutesAgo(2);
    const res = await observe('p-1', [
      { kind: 'consciousness', level: 'new-confusion', measuredAt: at },
      { kind: 'supplemental-oxygen', value: 3, unit: 'L/min', measuredAt: at },
    ]);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ accepted: 2, duplicate: 0, rejected: 0 });
    const readings = await request<{ readings: Record<string, unknown>[] }>(`${t.baseUrl}/v1/patients/p-1/readings`, { token: nurse });
    const mine = readings.body.readings.filter((r) => r.entryMethod === 'manual');
    expect(mine.map((r) => [r.kind, r.deviceId, r.recordedBy, (r.display as { text: string }).text]).sort()).toEqual([
      ['consciousness', 'manual:p-1', nurseId, 'Consciousness: New confusion'],
      ['supplemental-oxygen', 'manual:p-1', nurseId, 'Supplemental oxygen: oxygen 3.0 L/min'],
    ]);
    // The same entry again is one reading, not two.
    expect((await observe('p-1', [{ kind: 'consciousness', level: 'new-confusion', measuredAt: at }])).body).toMatchObject({ accepted: 0, duplicate: 1 });
    const audit = await t.admin.get('/v1/admin/audit?subject=patient:p-1');
    expect(audit.body.entries.some((e: { action: string; actor: string }) => e.action === 'observation.record' && e.actor === `staff:${nurseId}`)).toBe(true);
  });

  it('completes NEWS2 when staff supply what devices cannot measure', async () => {
    const at = isoMinutesAgo(1);
    const device = (readings: unknown[]) => request(`${t.baseUrl}/v1/readings`, { token: secret, json: { readings } });
    expect(
      (
        await device([
          { kind: 'respiratory-rate', value: 18, unit: '/min', measuredAt: at },
          { kind: 'spo2', value: 97, unit: '%', measuredAt: at },
          { kind: 'blood-pressure', systolic: 125, diastolic: 80, pulse: 72, unit: 'mmHg', measuredAt: at },
          { kind: 'body-temperature', value: 36.8, unit: 'Cel', measuredAt: at },
        ])
      ).status,
    ).toBe(202);
    // Consciousness "new confusion" (3) and oxygen (2) from the observations above: NEWS2 5.
    const news2 = await request(`${t.baseUrl}/v1/patients/p-1/news2`, { token: nurse });
    expect(news2.body).toMatchObject({ status: 'complete', total: 5, scores: { consciousness: 3, onOxygen: 2 } });
    await t.gw.ctx.alerting!.drain();
    const alerts = await request<{ alerts: { rule: string; severity: string }[] }>(`${t.baseUrl}/v1/patients/p-1/alerts`, { token: nurse });
    expect(alerts.body.alerts.find((a) => a.rule === 'news2')).toMatchObject({ severity: 'high' });
  });

  it('refuses staff-only kinds from devices, and answers 422 when every observation is refused', async () => {
    const res = await request(`${t.baseUrl}/v1/readings`, { token: secret, json: { readings: [{ kind: 'consciousness', level: 'alert', measuredAt: isoMinutesAgo(1) }] } });
    expect(res.body.outcomes[0]).toMatchObject({ status: 'rejected', code: 'RPM_ERR_READING_STAFF_ONLY', path: '/readings/0/kind' });
    const bad = await observe('p-1', [{ kind: 'consciousness', level: 'drowsy', measuredAt: isoMinutesAgo(1) }]);
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ code: 'RPM_ERR_READING_INVALID', path: '/observations/0/level' });
    expect(bad.body.outcomes[0]).toMatchObject({ status: 'rejected' });
    const device = await observe('p-1', [{ kind: 'heart-rate', value: 70, unit: '/min', deviceId: 'multi-1', measuredAt: isoMinutesAgo(1) }]);
    expect(device.status).toBe(422);
  });

  it('lets only nurses and physicians record, and only for their own patients', async () => {
    expect((await observe('p-1', [{ kind: 'consciousness', level: 'alert', measuredAt: isoMinutesAgo(3) }], admin)).status).toBe(403);
    const other = await t.admin.login('bea@b.example');
    expect((await observe('p-1', [{ kind: 'consciousness', level: 'alert', measuredAt: isoMinutesAgo(3) }], other)).status).toBe(403);
    await t.admin.createStaff({ email: 'ned@b.example', role: 'nurse', organizationId: 'org-b' });
    const nurseB = await t.admin.login('ned@b.example');
    expect((await observe('p-1', [{ kind: 'consciousness', level: 'alert', measuredAt: isoMinutesAgo(3) }], nurseB)).status).toBe(404);
  });

  it('shows values and times in the organization’s display units, each staff member able to choose her own', async () => {
    await request(`${t.baseUrl}/v1/readings`, { token: secret, json: { readings: [{ kind: 'body-weight', value: 80, unit: 'kg', measuredAt: '2026-12-04T08:59:57-05:00' }] } });
    const set = await request(`${t.baseUrl}/v1/admin/organizations/org-a/display`, { token: admin, method: 'PUT', json: { weightUnit: '[lb_av]', timeZone: 'America/New_York' } });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect((await request(`${t.baseUrl}/v1/me/display`, { token: nurse })).body.effective).toEqual({ weightUnit: '[lb_av]', temperatureUnit: 'Cel', glucoseUnit: 'mg/dL', timeZone: 'America/New_York' });
    const weight = async () =>
      (await request<{ readings: { kind: string; display: { text: string; measuredAtText: string; components: { value: number; unit: string }[] } }[] }>(`${t.baseUrl}/v1/patients/p-1/readings?kind=body-weight`, { token: nurse })).body.readings[0]?.display;
    expect(await weight()).toEqual({ text: 'Weight 176.4 lb', measuredAtText: 'Fri, Dec 4, 08:59 EST', timeZone: 'America/New_York', components: [{ name: 'value', value: 176.4, unit: '[lb_av]' }] });
    // Her own choice over the organization's.
    const own = await request(`${t.baseUrl}/v1/me/display`, { token: nurse, method: 'PUT', json: { weightUnit: 'kg', timeZone: 'Europe/London' } });
    expect(own.body.effective).toMatchObject({ weightUnit: 'kg', timeZone: 'Europe/London' });
    expect(await weight()).toMatchObject({ text: 'Weight 80.0 kg', measuredAtText: 'Fri, Dec 4, 13:59 GMT' });
    await request(`${t.baseUrl}/v1/me/display`, { token: nurse, method: 'PUT', json: {} });
    expect((await weight())?.text).toBe('Weight 176.4 lb');
    // Not a time zone, not a unit we show, another organization's settings: refused.
    expect((await request(`${t.baseUrl}/v1/me/display`, { token: nurse, method: 'PUT', json: { timeZone: 'Mars/Olympus' } })).status).toBe(400);
    expect((await request(`${t.baseUrl}/v1/admin/organizations/org-a/display`, { token: nurse, method: 'PUT', json: { weightUnit: 'kg' } })).status).toBe(403);
    const otherAdmin = await t.admin.login('bea@b.example');
    expect((await request(`${t.baseUrl}/v1/admin/organizations/org-a/display`, { token: otherAdmin, method: 'PUT', json: { weightUnit: 'kg' } })).status).toBe(404);
  });

  it('stores one reading per device, kind and instant: a resend without the client id, over MQTT, is a duplicate', async () => {
    await t.admin.createDevice({ id: 'cuff-2', kind: 'bp-cuff', patientId: 'p-2' });
    const cuff = await t.admin.createDevice({ id: 'cuff-3', kind: 'bp-cuff', patientId: 'p-2' });
    const at = '2026-12-07T07:02:00-05:00';
    const bp = { kind: 'blood-pressure', systolic: 186, diastolic: 100, unit: 'mmHg' };
    const first = await request(`${t.baseUrl}/v1/readings`, { token: cuff, json: { readings: [{ id: 'w-1', ...bp, measuredAt: at }] } });
    expect(first.body.outcomes[0]).toMatchObject({ status: 'accepted' });
    const id = first.body.outcomes[0].id as string;
    // The same instant written in UTC, without the id, over HTTP: the same reading.
    const again = await request(`${t.baseUrl}/v1/readings`, { token: cuff, json: { readings: [{ ...bp, measuredAt: '2026-12-07T12:02:00Z' }] } });
    expect(again.body.outcomes[0]).toMatchObject({ status: 'duplicate', id });
    // Another client id for the same measurement: still the same reading.
    expect((await request(`${t.baseUrl}/v1/readings`, { token: cuff, json: { readings: [{ id: 'w-1-retry', ...bp, measuredAt: at }] } })).body.outcomes[0]).toMatchObject({ status: 'duplicate', id });
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${t.mqttPort}`, { username: 'cuff-3', password: cuff, protocolVersion: 4, reconnectPeriod: 0 });
    try {
      await client.publishAsync('devices/cuff-3/readings', JSON.stringify({ readings: [{ ...bp, measuredAt: at }] }), { qos: 1 });
    } finally {
      await client.endAsync();
    }
    const stored = (await t.admin.readings('p-2')).filter((r) => r.deviceId === 'cuff-3');
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ id, clientId: 'w-1' });
  });

  it('stops a timer at the time and for the reason the dashboard gives when the nurse signs out, never outside its run', async () => {
    const started = await request(`${t.baseUrl}/v1/patients/p-1/time/start`, { token: nurse, json: { interactive: true } });
    expect(started.status).toBe(201);
    const id = started.body.id as string;
    const bad = await request(`${t.baseUrl}/v1/time/${id}/stop`, { token: nurse, json: { reason: 'coffee' } });
    expect(bad.status).toBe(400);
    const stopped = await request(`${t.baseUrl}/v1/time/${id}/stop`, { token: nurse, json: { reason: 'session-expired', endedAt: '2000-01-01T00:00:00Z' } });
    expect(stopped.status).toBe(200);
    expect(stopped.body).toMatchObject({ stopReason: 'session-expired', endedAt: started.body.startedAt, minutes: 0 });
    expect((await request(`${t.baseUrl}/v1/auth/me`, { token: nurse })).body.idleMinutes).toBe(15);
  });
});
