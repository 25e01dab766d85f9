import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isoMinutesAgo, request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';

describe('Worklist through the running gateway', () => {
  let t: TestGateway;
  let nurseA: string;
  let nurseA2: string;
  let nurseB: string;
  let cuff: string;

  beforeAll(async () => {
    t = await startTestGateway();
    await t.admin.createOrganization('org-a');
    await t.admin.createOrganization('org-b');
    await t.admin.createStaff({ email: 'ann@a.example', role: 'nurse', organizationId: 'org-a' });
    await t.admin.createStaff({ email: 'amy@a.example', role: 'nurse', organizationId: 'org-a' });
    await t.admin.createStaff({ email: 'bob@b.example', role: 'nurse', organizationId: 'org-b' });
    nurseA = await t.admin.login('ann@a.example');
    nurseA2 = await t.admin.login('amy@a.example');
    nurseB = await t.admin.login('bob@b.example');
    await t.admin.createPatient('pa-1', { organizationId: 'org-a' });
    cuff = await t.admin.createDevice({ id: 'cuff-a1', kind: 'bp-cuff', patientId: 'pa-1' });
  });
  afterAll(async () => t.close());

  const post = (readings: unknown[]) => request(`${t.baseUrl}/v1/readings`, { token: cuff, json: { readings } });
  const worklist = async (token: string) => (await request(`${t.baseUrl}/v1/worklist`, { token })).body;

  it('turns a severe BP reading into a worklist row after the enrolment in hypertension', async () => {
    const plan = await request(`${t.baseUrl}/v1/patients/pa-1/care-plan`, { token: nurseA, method: 'PUT', json: { programs: ['general', 'hypertension'], riskTier: 2 } });
    expect(plan.status).toBe(200);
    expect(plan.body.version).toBe(1);
    expect(plan.body.rules.map((r: { id: string }) => r.id)).toContain('bp-severe');
    const res = await post([{ kind: 'blood-pressure', systolic: 186, diastolic: 100, unit: 'mmHg', measuredAt: isoMinutesAgo(10) }]);
    expect(res.status).toBe(202);
    await t.gw.ctx.alerting!.drain();
    const list = await worklist(nurseA);
    expect(list.patients).toHaveLength(1);
    const row = list.patients[0];
    expect(row.patientId).toBe('pa-1');
    expect(row.alerts[0]).toMatchObject({ rule: 'bp-severe', severity: 'high', status: 'open', confirmation: 'pending' });
    expect(row.priority).toBeGreaterThan(600);
  });

  it('confirms severe BP with a repeat within 15 minutes and raises it to critical on the same alert', async () => {
    await post([{ kind: 'blood-pressure', systolic: 190, diastolic: 104, unit: 'mmHg', measuredAt: isoMinutesAgo(5) }]);
    await t.gw.ctx.alerting!.drain();
    const list = await worklist(nurseA);
    expect(list.patients[0].alerts).toHaveLength(1);
    expect(list.patients[0].alerts[0]).toMatchObject({ rule: 'bp-severe', severity: 'critical', confirmation: 'confirmed', worsening: true });
  });

  it('keeps tenants apart: another organization sees neither the row nor the alert', async () => {
    expect((await worklist(nurseB)).patients).toEqual([]);
    const id = (await worklist(nurseA)).patients[0].alerts[0].id;
    const other = await request(`${t.baseUrl}/v1/alerts/${id}`, { token: nurseB });
    expect(other.status).toBe(404);
    const claim = await request(`${t.baseUrl}/v1/alerts/${id}/claim`, { token: nurseB, method: 'POST', json: {} });
    expect(claim.status).toBe(404);
    const plan = await request(`${t.baseUrl}/v1/patients/pa-1/care-plan`, { token: nurseB });
    expect(plan.status).toBe(404);
  });

  it('lets one of two nurses claim; the other gets 409; then acknowledge and resolve with a note', async () => {
    const alert = (await worklist(nurseA)).patients[0].alerts[0];
    const [r1, r2] = await Promise.all([
      request(`${t.baseUrl}/v1/alerts/${alert.id}/claim`, { token: nurseA, method: 'POST', json: { version: alert.version } }),
      request(`${t.baseUrl}/v1/alerts/${alert.id}/claim`, { token: nurseA2, method: 'POST', json: { version: alert.version } }),
    ]);
    expect([r1.status, r2.status].sort(), JSON.stringify([r1.body, r2.body])).toEqual([200, 409]);
    const winner = r1.status === 200 ? nurseA : nurseA2;
    const loser = r1.status === 200 ? r2 : r1;
    expect(loser.body.code).toBe('RPM_ERR_ALERT_CONFLICT');
    const ack = await request(`${t.baseUrl}/v1/alerts/${alert.id}/acknowledge`, { token: winner, method: 'POST', json: {} });
    expect(ack.body).toMatchObject({ status: 'acknowledged' });
    const bad = await request(`${t.baseUrl}/v1/alerts/${alert.id}/resolve`, { token: winner, method: 'POST', json: {} });
    expect(bad.status).toBe(422);
    const done = await request(`${t.baseUrl}/v1/alerts/${alert.id}/resolve`, { token: winner, method: 'POST', json: { outcome: 'contacted-patient', note: 'Called; took meds late. Recheck tonight.' } });
    expect(done.body).toMatchObject({ status: 'resolved', outcome: 'contacted-patient' });
    const detail = await request(`${t.baseUrl}/v1/alerts/${alert.id}`, { token: winner });
    expect(detail.body.history.map((h: { action: string }) => h.action)).toEqual(['raised', 'updated', 'claim', 'acknowledge', 'resolve']);
    expect((await worklist(nurseA)).patients).toEqual([]);
    const audit = await t.admin.get('/v1/admin/audit?subject=alert:' + alert.id);
    expect(audit.body.entries.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['alert.claim', 'alert.acknowledge', 'alert.resolve']));
  });

  it('streams worklist changes as Server-Sent Events, scoped to the organization', async () => {
    const controller = new AbortController();
    const res = await fetch(`${t.baseUrl}/v1/worklist/stream`, { headers: { authorization: `Bearer ${nurseA}` }, signal: controller.signal });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    await post([{ kind: 'blood-pressure', systolic: 82, diastolic: 55, unit: 'mmHg', measuredAt: isoMinutesAgo(2) }]);
    let text = '';
    const deadline = Date.now() + 5000;
    while (!text.includes('event: alert') && Date.now() < deadline) {
      const { value } = await reader.read();
      text += decoder.decode(value);
    }
    controller.abort();
    const data = JSON.parse(text.split('event: alert\ndata: ')[1]!.split('\n')[0]!);
    expect(data.alert).toMatchObject({ rule: 'bp-low', severity: 'high', patientId: 'pa-1' });
  });

  it('logs nurse time with a timer and by entry, and totals the month', async () => {
    const start = await request(`${t.baseUrl}/v1/patients/pa-1/time/start`, { token: nurseA, method: 'POST', json: { interactive: true } });
    expect(start.status).toBe(201);
    const again = await request(`${t.baseUrl}/v1/patients/pa-1/time/start`, { token: nurseA, method: 'POST', json: {} });
    expect(again.status).toBe(409);
    const stop = await request(`${t.baseUrl}/v1/time/${start.body.id}/stop`, { token: nurseA, method: 'POST', json: {} });
    expect(stop.body.endedAt).not.toBeNull();
    const added = await request(`${t.baseUrl}/v1/patients/pa-1/time`, { token: nurseA, method: 'POST', json: { startedAt: isoMinutesAgo(60, 'Z'.replace('Z', '+00:00')), minutes: 12, interactive: false } });
    expect(added.status).toBe(201);
    const month = await request(`${t.baseUrl}/v1/patients/pa-1/time`, { token: nurseA });
    expect(month.body.totalMinutes).toBeGreaterThanOrEqual(12);
    expect(month.body.entries).toHaveLength(2);
    expect((await request(`${t.baseUrl}/v1/patients/pa-1/time`, { token: nurseB })).status).toBe(404);
  });

  it('reports NEWS2 as incomplete with the parameters home devices do not measure', async () => {
    const res = await request(`${t.baseUrl}/v1/patients/pa-1/news2`, { token: nurseA });
    expect(res.body.status).toBe('incomplete');
    expect(res.body.missing).toEqual(expect.arrayContaining(['consciousness', 'onOxygen', 'respiratoryRate']));
  });
});
