import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, isoMinutesAgo, request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';

/**
 * PUT /v1/admin/patients/{id}/organization: a patient registered without an organization (or in
 * the wrong one) is moved by the operator; care-team links of the old organization end, devices
 * stay, unresolved alerts go with the patient, and the move is audited.
 */
describe('moving a patient to another organization', () => {
  let t: TestGateway;
  let nurseA: string;
  let nurseB: string;
  let cuff: string;

  beforeAll(async () => {
    t = await startTestGateway();
    await t.admin.createOrganization('org-a');
    await t.admin.createOrganization('org-b');
    await t.admin.createStaff({ email: 'ann@a.example', role: 'nurse', organizationId: 'org-a' });
    await t.admin.createStaff({ email: 'bea@b.example', role: 'nurse', organizationId: 'org-b' });
    nurseA = await t.admin.login('ann@a.example');
    nurseB = await t.admin.login('bea@b.example');
    await t.admin.createPatient('p-lost');
    cuff = await t.admin.createDevice({ id: 'cuff-lost', kind: 'bp-cuff', patientId: 'p-lost' });
  });
  afterAll(async () => t.close());

  const move = (id: string, organizationId: string, token = ADMIN_TOKEN) =>
    request(`${t.baseUrl}/v1/admin/patients/${id}/organization`, { token, method: 'PUT', json: { organizationId } });
  const worklistIds = async (token: string): Promise<string[]> =>
    ((await request(`${t.baseUrl}/v1/worklist`, { token })).body.patients as { patientId: string }[]).map((p) => p.patientId);

  it('makes a patient registered without an organization visible to that organization, with its open alert and devices', async () => {
    const reading = await request(`${t.baseUrl}/v1/readings`, {
      token: cuff,
      json: { readings: [{ kind: 'blood-pressure', systolic: 80, diastolic: 50, unit: 'mmHg', measuredAt: isoMinutesAgo(5) }] },
    });
    expect(reading.status).toBe(202);
    await t.gw.ctx.alerting!.drain();
    // Nobody sees a patient without an organization.
    expect((await request(`${t.baseUrl}/v1/patients/p-lost/readings`, { token: nurseA })).status).toBe(404);
    const unowned = await t.gw.ctx.alerts.unresolvedAlerts({ patientIds: ['p-lost'] });
    expect(unowned.length).toBeGreaterThan(0);
    expect(unowned.every((a) => a.organizationId === null)).toBe(true);

    const res = await move('p-lost', 'org-a');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: 'p-lost', organizationId: 'org-a', previousOrganizationId: null, careTeamsLeft: [], alertsMoved: unowned.length, devicesKept: 1 });
    expect((await request(`${t.baseUrl}/v1/patients/p-lost/readings`, { token: nurseA })).status).toBe(200);
    expect(await worklistIds(nurseA)).toEqual(['p-lost']);
    expect(await worklistIds(nurseB)).toEqual([]);
    // The device still reports for the patient.
    expect((await request(`${t.baseUrl}/v1/admin/devices/cuff-lost`, { token: ADMIN_TOKEN })).body.patientId).toBe('p-lost');
  });

  it('takes the patient off the old organization\'s care teams, moves the open alerts, and audits it', async () => {
    await t.admin.createCareTeam('team-a', 'org-a');
    await t.admin.addTeamPatient('team-a', 'p-lost');
    const res = await move('p-lost', 'org-b');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ organizationId: 'org-b', previousOrganizationId: 'org-a', careTeamsLeft: ['team-a'], devicesKept: 1 });
    expect(res.body.alertsMoved).toBeGreaterThan(0);
    expect((await request(`${t.baseUrl}/v1/patients/p-lost/readings`, { token: nurseA })).status).toBe(404);
    expect(await worklistIds(nurseA)).toEqual([]);
    expect(await worklistIds(nurseB)).toEqual(['p-lost']);
    // No longer on the team: removing it again finds nothing.
    const off = await request(`${t.baseUrl}/v1/admin/care-teams/team-a/patients/p-lost?organizationId=org-a`, { token: ADMIN_TOKEN, method: 'DELETE' });
    expect(off.body.code).toBe('RPM_ERR_PATIENT_NOT_FOUND');
    const audit = await request(`${t.baseUrl}/v1/admin/audit?subject=patient:p-lost&limit=5`, { token: ADMIN_TOKEN });
    const entry = audit.body.entries.find((e: { action: string }) => e.action === 'patient.organization.change');
    expect(entry).toMatchObject({ actor: 'admin', subject: 'patient:p-lost', outcome: 'success', details: { from: 'org-a', to: 'org-b', careTeamsLeft: 1 } });
    // Moving it again where it is changes nothing and says so.
    expect((await move('p-lost', 'org-b')).body).toMatchObject({ organizationId: 'org-b', previousOrganizationId: 'org-b', careTeamsLeft: [], alertsMoved: res.body.alertsMoved });
  });

  it('refuses an unknown organization or patient, and staff sessions', async () => {
    expect((await move('p-lost', 'org-nowhere')).body.code).toBe('RPM_ERR_ORGANIZATION_NOT_FOUND');
    expect((await move('p-nobody', 'org-a')).body.code).toBe('RPM_ERR_PATIENT_NOT_FOUND');
    expect((await move('p-lost', 'org-a', nurseB)).status).toBe(403);
  });
});
