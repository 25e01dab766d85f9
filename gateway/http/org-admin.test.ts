import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/postgres.js';

/**
 * What an organization admin manages with a session (issue 17's admin screens): staff (list,
 * role, charge nurse, phone), care teams with members and patients, patients, the device fleet
 * and assignments with time ranges; always within her own organization (others answer 404).
 */
for (const store of ['sqlite', 'postgres'] as const) describe(`Organization admin: staff, teams, patients and devices (${store})`, () => {
  let t: TestGateway;
  let db: TestDatabase | undefined;
  let admin: string;
  let adminId: string;
  let nurse: string;
  let nurseId: string;
  let otherAdmin: string;
  let otherNurseId: string;

  const call = (method: string, path: string, token: string, json?: unknown) => request(`${t.baseUrl}${path}`, { method, token, ...(json === undefined ? {} : { json }) });

  beforeAll(async () => {
    if (store === 'postgres') db = await createTestDatabase();
    t = await startTestGateway(db === undefined ? {} : { RPM_STORE: 'postgres', RPM_DATABASE_URL: db.url });
    await t.admin.createOrganization('org-a');
    await t.admin.createOrganization('org-b');
    adminId = (await t.admin.createStaff({ email: 'ada@a.example', role: 'admin', organizationId: 'org-a' })).id;
    nurseId = (await t.admin.createStaff({ email: 'nia@a.example', role: 'nurse', organizationId: 'org-a' })).id;
    await t.admin.createStaff({ email: 'bea@b.example', role: 'admin', organizationId: 'org-b' });
    otherNurseId = (await t.admin.createStaff({ email: 'bo@b.example', role: 'nurse', organizationId: 'org-b' })).id;
    admin = await t.admin.login('ada@a.example');
    nurse = await t.admin.login('nia@a.example');
    otherAdmin = await t.admin.login('bea@b.example');
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('lists and changes staff: role, charge nurse, phone; never her own admin role, never another tenant', async () => {
    const list = await call('GET', '/v1/admin/organizations/org-a/staff', admin);
    expect(list.status).toBe(200);
    expect(list.body.staff.map((s: { email: string }) => s.email).sort()).toEqual(['ada@a.example', 'nia@a.example']);
    const changed = await call('PATCH', `/v1/admin/staff/${nurseId}`, admin, { isChargeNurse: true, phone: '+15551234567' });
    expect(changed.body).toMatchObject({ isChargeNurse: true, phone: '+15551234567', role: 'nurse' });
    expect((await call('PATCH', `/v1/admin/staff/${nurseId}`, admin, { phone: null })).body.phone).toBeNull();
    expect((await call('PATCH', `/v1/admin/staff/${adminId}`, admin, { role: 'nurse' })).status).toBe(403);
    expect((await call('PATCH', `/v1/admin/staff/${otherNurseId}`, admin, { isChargeNurse: true })).status).toBe(404);
    expect((await call('GET', '/v1/admin/organizations/org-b/staff', admin)).status).toBe(404);
    expect((await call('GET', '/v1/admin/organizations/org-a/staff', nurse)).status).toBe(403);
    expect((await call('PATCH', `/v1/admin/staff/${nurseId}`, admin, {})).status).toBe(400);
  });

  it('enrolls patients, lists care teams with members and patients', async () => {
    expect((await call('POST', '/v1/org/patients', admin, { id: 'p-1' })).status).toBe(201);
    expect((await call('POST', '/v1/org/patients', admin, { id: 'p-2' })).status).toBe(201);
    expect((await call('POST', '/v1/org/patients', nurse, { id: 'p-x' })).status).toBe(403);
    expect((await call('POST', '/v1/admin/care-teams', admin, { id: 'north', organizationId: 'org-a', name: 'North' })).status).toBe(201);
    expect((await call('POST', '/v1/admin/care-teams/north/members', admin, { staffId: nurseId })).status).toBe(201);
    expect((await call('POST', '/v1/admin/care-teams/north/patients', admin, { patientId: 'p-1' })).status).toBe(201);
    const teams = await call('GET', '/v1/admin/organizations/org-a/care-teams', admin);
    expect(teams.body.teams).toEqual([expect.objectContaining({ id: 'north', name: 'North', patients: ['p-1'], members: [expect.objectContaining({ id: nurseId })] })]);
  });

  it('registers devices for its patients, shows the fleet (a hub-relayed device reporting battery is not "never seen"), assigns and unassigns with time ranges', async () => {
    const cuff = await call('POST', '/v1/org/devices', admin, { id: 'cuff-1', kind: 'bp-cuff', patientId: 'p-1', assignedFrom: '2026-11-01T00:00:00Z' });
    expect(cuff.status, JSON.stringify(cuff.body)).toBe(201);
    expect(cuff.body.secret).toMatch(/^rpmd_/);
    expect((await call('POST', '/v1/org/devices', admin, { id: 'x-1', kind: 'scale', patientId: 'p-9' })).status).toBe(404);
    // A hub (the operator's) relaying a glucometer of p-2, which reports its battery.
    const hub = await t.admin.createDevice({ id: 'hub-1', kind: 'hub' });
    await t.admin.createDevice({ id: 'gluco-1', kind: 'glucometer', patientId: 'p-2', hubId: 'hub-1' });
    const relayed = await request(`${t.baseUrl}/v1/readings`, {
      token: hub,
      json: { readings: [{ kind: 'blood-glucose', value: 101, unit: 'mg/dL', deviceId: 'gluco-1', measuredAt: new Date(Date.now() - 60_000).toISOString(), batteryPercent: 12 }] },
    });
    expect(relayed.body.outcomes[0].status).toBe('accepted');
    const fleet = await call('GET', '/v1/org/devices', admin);
    expect(fleet.status).toBe(200);
    const byId = new Map(fleet.body.devices.map((d: { id: string }) => [d.id, d]));
    expect(byId.get('gluco-1')).toMatchObject({ patientId: 'p-2', viaHub: 'hub-1', transmission: 'transmitting', lastSeenAt: null, batteryPercent: 12, lowBattery: true });
    expect(byId.get('cuff-1')).toMatchObject({ patientId: 'p-1', transmission: 'never-seen', batteryPercent: null });
    // Move the cuff to p-2 from a time, then end that assignment: the history keeps both ranges.
    const moved = await call('POST', '/v1/org/devices/cuff-1/assignments', admin, { patientId: 'p-2', from: '2026-11-20T00:00:00Z' });
    expect(moved.status, JSON.stringify(moved.body)).toBe(201);
    const ended = await call('POST', '/v1/org/devices/cuff-1/unassign', admin, { at: '2026-11-25T00:00:00Z' });
    expect(ended.body.ended).toEqual({ patientId: 'p-2', from: '2026-11-20T00:00:00.000Z', to: '2026-11-25T00:00:00.000Z' });
    const after = (await call('GET', '/v1/org/devices', admin)).body.devices.find((d: { id: string }) => d.id === 'cuff-1');
    expect(after.assignments).toEqual([
      { patientId: 'p-1', from: '2026-11-01T00:00:00.000Z', to: '2026-11-20T00:00:00.000Z' },
      { patientId: 'p-2', from: '2026-11-20T00:00:00.000Z', to: '2026-11-25T00:00:00.000Z' },
    ]);
    expect(after.patientId).toBeNull();
    // Another organization's admin finds none of it.
    expect((await call('POST', '/v1/org/devices/cuff-1/unassign', otherAdmin, {})).status).toBe(404);
    expect((await call('GET', '/v1/org/devices', otherAdmin)).body.devices).toEqual([]);
  });
});
