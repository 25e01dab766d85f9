import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isoMinutesAgo, request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';

describe('Staff reads for the dashboard: a patient’s devices, colleagues’ names', () => {
  let t: TestGateway;
  let nurseA: string;
  let nurseB: string;
  let annId: string;
  let secret: string;

  beforeAll(async () => {
    t = await startTestGateway();
    await t.admin.createOrganization('org-a');
    await t.admin.createOrganization('org-b');
    annId = (await t.admin.createStaff({ email: 'ann@a.example', role: 'nurse', organizationId: 'org-a', displayName: 'Ann', phone: '+15551234567' })).id;
    await t.admin.createStaff({ email: 'off@a.example', role: 'nurse', organizationId: 'org-a', displayName: 'Gone' }).then((s) => t.admin.post(`/v1/admin/staff/${s.id}/disable`));
    await t.admin.createStaff({ email: 'bob@b.example', role: 'nurse', organizationId: 'org-b', displayName: 'Bob' });
    nurseA = await t.admin.login('ann@a.example');
    nurseB = await t.admin.login('bob@b.example');
    await t.admin.createPatient('pa-1', { organizationId: 'org-a' });
    await t.admin.createPatient('pa-2', { organizationId: 'org-a' });
    secret = await t.admin.createDevice({ id: 'cuff-1', kind: 'bp-cuff', patientId: 'pa-1' });
    await t.admin.createDevice({ id: 'scale-1', kind: 'scale', patientId: 'pa-2' });
    // Moved from pa-2 to pa-1: only the current assignment counts.
    await t.admin.post('/v1/admin/devices/scale-1/assignments', { patientId: 'pa-1' });
  });
  afterAll(async () => t.close());

  it("lists the patient's current devices with last seen, connection and battery (unknown)", async () => {
    await request(`${t.baseUrl}/v1/readings`, { token: secret, json: { readings: [{ kind: 'blood-pressure', systolic: 120, diastolic: 80, unit: 'mmHg', measuredAt: isoMinutesAgo(1) }] } });
    await t.gw.ctx.presence.flush();
    const res = await request(`${t.baseUrl}/v1/patients/pa-1/devices`, { token: nurseA });
    expect(res.status).toBe(200);
    expect(res.body.devices.map((d: { id: string }) => d.id).sort()).toEqual(['cuff-1', 'scale-1']);
    const cuff = res.body.devices.find((d: { id: string }) => d.id === 'cuff-1');
    expect(cuff).toMatchObject({ kind: 'bp-cuff', status: 'active', online: false, batteryPercent: null });
    expect(Date.now() - Date.parse(cuff.lastSeenAt)).toBeLessThan(60_000);
    expect((await request(`${t.baseUrl}/v1/patients/pa-2/devices`, { token: nurseA })).body.devices).toEqual([]);
  });

  it('answers 404 for a patient of another organization (and a missing one), and audits both reads', async () => {
    expect((await request(`${t.baseUrl}/v1/patients/pa-1/devices`, { token: nurseB })).status).toBe(404);
    expect((await request(`${t.baseUrl}/v1/patients/nobody/devices`, { token: nurseA })).status).toBe(404);
    expect((await request(`${t.baseUrl}/v1/patients/pa-1/devices`, { token: t.gw.ctx.adminToken })).status).toBe(401);
    const audit = await t.admin.get('/v1/admin/audit?subject=patient:pa-1');
    const reads = audit.body.entries.filter((e: { action: string }) => e.action === 'devices.read');
    expect(reads.map((e: { outcome: string }) => e.outcome).sort()).toEqual(['denied', 'success']);
  });

  it('names active colleagues of the own organization only, without emails or phones', async () => {
    const res = await request(`${t.baseUrl}/v1/colleagues`, { token: nurseA });
    expect(res.status).toBe(200);
    expect(res.body.staff).toEqual([{ id: annId, displayName: 'Ann', role: 'nurse', isChargeNurse: false }]);
    expect((await request(`${t.baseUrl}/v1/colleagues`, { token: nurseB })).body.staff.map((s: { displayName: string }) => s.displayName)).toEqual(['Bob']);
  });
});
