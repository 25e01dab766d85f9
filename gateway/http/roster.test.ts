import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays } from '../../rules/billing/calendar.js';
import { ManualClock } from '../../test/helpers/clock.js';
import { request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/postgres.js';

/**
 * The roster through the API: every patient in scope (not only those with alerts), the identity
 * header when recorded, device days this period toward 16, minutes toward 10/20, open alerts,
 * device problems (a hub-relayed device reporting battery is not "never seen"), filters and sort.
 * Today is 2026-05-12 in New York.
 */
for (const store of ['sqlite', 'postgres'] as const) describe(`Roster (${store})`, () => {
  const clock = new ManualClock(Date.parse('2026-05-12T16:00:00Z'));
  let t: TestGateway;
  let db: TestDatabase | undefined;
  let nurse: string;
  let physician: string;

  const get = (query: string, token = physician) => request(`${t.baseUrl}/v1/roster${query}`, { token });
  const bp = (localIso: string, systolic = 128, diastolic = 82) => ({ kind: 'blood-pressure', systolic, diastolic, unit: 'mmHg', measuredAt: `${localIso}-04:00` });

  beforeAll(async () => {
    if (store === 'postgres') db = await createTestDatabase();
    t = await startTestGateway(db === undefined ? {} : { RPM_STORE: 'postgres', RPM_DATABASE_URL: db.url }, { clock });
    await t.admin.createOrganization('org-a');
    await t.admin.createOrganization('org-b');
    const nurseId = (await t.admin.createStaff({ email: 'nia@a.example', role: 'nurse', organizationId: 'org-a' })).id;
    const physicianId = (await t.admin.createStaff({ email: 'dr@a.example', role: 'physician', organizationId: 'org-a' })).id;
    await t.admin.createStaff({ email: 'ada@a.example', role: 'admin', organizationId: 'org-a' });
    const admin = await t.admin.login('ada@a.example');
    nurse = await t.admin.login('nia@a.example');
    physician = await t.admin.login('dr@a.example');
    expect((await request(`${t.baseUrl}/v1/admin/organizations/org-a/display`, { method: 'PUT', token: admin, json: { timeZone: 'America/New_York', weightUnit: '[lb_av]' } })).status).toBe(200);
    for (const p of ['p-1', 'p-2', 'p-3']) await t.admin.createPatient(p, { organizationId: 'org-a' });
    await t.admin.createPatient('p-9', { organizationId: 'org-b' });
    await t.admin.createCareTeam('north', 'org-a', 'North team');
    await t.admin.createCareTeam('south', 'org-a', 'South team');
    await t.admin.addTeamMember('north', nurseId);
    await t.admin.addTeamMember('north', physicianId);
    await t.admin.addTeamPatient('north', 'p-1');
    await t.admin.addTeamPatient('south', 'p-3');
    await request(`${t.baseUrl}/v1/patients/p-1/identity`, {
      method: 'PUT',
      token: admin,
      json: { givenName: 'Ann', familyName: 'Lee', birthDate: '1948-07-01', mrn: 'MRN-1', phone: null, preferredLanguage: 'en', timeZone: 'America/New_York' },
    });
    await request(`${t.baseUrl}/v1/patients/p-2/care-plan`, { method: 'PUT', token: physician, json: { programs: ['general', 'diabetes'], riskTier: 3 } });
    // p-1: a cuff since 05-01 with 10 days of readings (the last one severe), 12 minutes this month with a call.
    const cuff = await t.admin.createDevice({ id: 'cuff-1', kind: 'bp-cuff', patientId: 'p-1', assignedFrom: '2026-05-01T07:00:00-04:00' });
    const readings = Array.from({ length: 10 }, (_, i) => bp(`${addDays('2026-05-01', i)}T08:00:00`));
    readings.push(bp('2026-05-11T07:30:00', 186, 124));
    expect((await request(`${t.baseUrl}/v1/readings`, { token: cuff, json: { readings } })).status).toBe(202);
    expect((await request(`${t.baseUrl}/v1/patients/p-1/time`, { token: nurse, json: { startedAt: '2026-05-04T10:00:00-04:00', minutes: 12, interactive: true } })).status).toBe(201);
    // p-2: a glucometer relayed by a hub (it never connects itself) reporting its battery, and a scale never seen.
    const hub = await t.admin.createDevice({ id: 'hub-2', kind: 'hub' });
    await t.admin.createDevice({ id: 'gluco-2', kind: 'glucometer', patientId: 'p-2', hubId: 'hub-2', assignedFrom: '2026-04-25T09:00:00-04:00' });
    await t.admin.createDevice({ id: 'scale-2', kind: 'scale', patientId: 'p-2', assignedFrom: '2026-04-25T09:00:00-04:00' });
    const relayed = await request(`${t.baseUrl}/v1/readings`, {
      token: hub,
      json: { readings: [{ kind: 'blood-glucose', value: 112, unit: 'mg/dL', deviceId: 'gluco-2', measuredAt: '2026-05-12T07:00:00-04:00', batteryPercent: 15 }] },
    });
    expect(relayed.body.outcomes[0].status).toBe('accepted');
    await t.gw.ctx.alerting!.drain();
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('lists every patient in scope, with header, readings in units, days toward 16 and minutes toward 10/20', async () => {
    const res = await get('?sort=patient');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.total).toBe(3);
    expect(res.body.rows.map((r: { patientId: string }) => r.patientId)).toEqual(['p-1', 'p-2', 'p-3']);
    const [p1, p2, p3] = res.body.rows;
    expect(p1).toMatchObject({
      identity: { name: 'Ann Lee', birthDate: '1948-07-01', mrn: 'MRN-1', ageYears: 77 },
      careTeams: [{ id: 'north', name: 'North team' }],
      mine: true,
      // 05-01 … 05-11: 11 days; 16 − 11 = 5 to go; 05-12 … 05-30 is 19 days left.
      devicePeriod: { start: '2026-05-01', end: '2026-05-30', days: 11, target: 16, daysToGo: 5, daysLeft: 19, codeSoFar: '99445' },
      management: { month: '2026-05', minutes: 12, interactiveContacts: 1, marks: [10, 20], codeSoFar: '99470' },
      openAlerts: 1,
      topSeverity: 'high',
      devices: [{ id: 'cuff-1', transmission: 'transmitting', lowBattery: false }],
    });
    expect(p1.lastReadings).toEqual([expect.objectContaining({ kind: 'blood-pressure', text: 'BP 186/124 mmHg', manual: false, measuredAtText: expect.stringContaining('EDT') })]);
    expect(p2.identity).toBeNull();
    expect(p2).toMatchObject({ programs: ['general', 'diabetes'], riskTier: 3, deviceProblem: true, devicePeriod: { start: '2026-04-25', end: '2026-05-24', days: 1, daysToGo: 15, daysLeft: 13 } });
    expect(p2.devices).toEqual([
      expect.objectContaining({ id: 'gluco-2', transmission: 'transmitting', batteryPercent: 15, lowBattery: true, viaHub: 'hub-2' }),
      expect.objectContaining({ id: 'scale-2', transmission: 'never-seen', batteryPercent: null }),
    ]);
    expect(p2.lastReadings).toEqual([expect.objectContaining({ kind: 'blood-glucose', text: expect.stringMatching(/112 mg\/dL/) })]);
    expect(p3).toMatchObject({ devicePeriod: null, management: null, openAlerts: 0, devices: [], careTeams: [{ id: 'south' }] });
  });

  it('filters and sorts: search, program, team, risk, mine, device problems, days at risk', async () => {
    const ids = async (q: string) => (await get(q)).body.rows.map((r: { patientId: string }) => r.patientId);
    expect(await ids('?q=lee')).toEqual(['p-1']);
    expect(await ids('?q=MRN-1')).toEqual(['p-1']);
    expect(await ids('?program=diabetes')).toEqual(['p-2']);
    expect(await ids('?careTeam=south')).toEqual(['p-3']);
    expect(await ids('?risk=3')).toEqual(['p-2']);
    expect(await ids('?mine=true')).toEqual(['p-1']);
    expect(await ids('?notTransmitting=true')).toEqual(['p-2']);
    expect(await ids('?atRiskDaysLeft=13')).toEqual(['p-2']);
    expect(await ids('?atRiskDaysLeft=12')).toEqual([]);
    expect(await ids('?atRiskDaysLeft=30&sort=days')).toEqual(['p-2', 'p-1']);
    expect(await ids('')).toEqual(['p-1', 'p-2', 'p-3']);
    expect((await get('?sort=nonsense')).status).toBe(400);
  });

  it('keeps to the nurse\'s scope and audits the patients disclosed', async () => {
    const res = await get('', nurse);
    expect(res.body.rows.map((r: { patientId: string }) => r.patientId)).toEqual(['p-1']);
    const audit = await t.admin.get('/v1/admin/audit?subject=patient:p-1');
    const actions = audit.body.entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['roster.read', 'identity.read']));
  });
});
