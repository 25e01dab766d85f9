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
  it('shows the battery level the newest reading reported; an older reading or a bad level changes nothing', async () => {
    const post = (readings: unknown[]) => request(`${t.baseUrl}/v1/readings`, { token: secret, json: { readings } });
    const bp = (minutesAgo: number, batteryPercent: unknown) => ({ id: `battery-${minutesAgo}`, kind: 'blood-pressure', systolic: 121, diastolic: 79, unit: 'mmHg', measuredAt: isoMinutesAgo(minutesAgo), batteryPercent });
    const cuff = async () => (await request(`${t.baseUrl}/v1/patients/pa-1/devices`, { token: nurseA })).body.devices.find((d: { id: string }) => d.id === 'cuff-1');

    expect((await post([bp(10, 64)])).body.accepted).toBe(1);
    // Shown at once (before the periodic status write), with the time the device measured it.
    const fresh = await cuff();
    expect(fresh.batteryPercent).toBe(64);
    expect(Math.abs(Date.now() - 10 * 60_000 - Date.parse(fresh.batteryAt))).toBeLessThan(60_000);

    // A backlog reading measured earlier does not overwrite the newer level, pending or stored.
    expect((await post([bp(20, 95)])).body.accepted).toBe(1);
    expect((await cuff()).batteryPercent).toBe(64);
    await t.gw.ctx.presence.flush();
    expect((await cuff()).batteryPercent).toBe(64);
    expect((await post([bp(30, 99)])).body.accepted).toBe(1);
    await t.gw.ctx.presence.flush();
    const stored = await t.admin.get('/v1/admin/devices/cuff-1');
    expect(stored.body).toMatchObject({ batteryPercent: 64, batteryAt: fresh.batteryAt });

    // A level outside 0–100 % rejects the reading (nothing stored), like any other bad field.
    const bad = await post([bp(5, 150), bp(6, 'full')]);
    expect(bad.body.outcomes).toMatchObject([
      { status: 'rejected', code: 'RPM_ERR_READING_INVALID', path: '/readings/0/batteryPercent' },
      { status: 'rejected', code: 'RPM_ERR_READING_INVALID', path: '/readings/1/batteryPercent' },
    ]);
    expect((await cuff()).batteryPercent).toBe(64);

    // Newer, and stored so that it survives the process.
    expect((await post([bp(2, 18)])).body.accepted).toBe(1);
    await t.gw.ctx.presence.flush();
    expect((await t.admin.get('/v1/admin/devices/cuff-1')).body.batteryPercent).toBe(18);
  });
});
