import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { ManualClock } from '../../test/helpers/clock.js';
import { addDays } from '../../rules/billing/calendar.js';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/postgres.js';

/**
 * The billing ledger through the API on the embedded store: a New York patient monitored from
 * 2026-03-10 (device period 0: 03-10 … 04-08), the April report in JSON and CSV, a physician's
 * sign-off that freezes the period, a late reading that changes the ledger, and the amendment.
 */
for (const store of ['sqlite', 'postgres'] as const) describe(`RPM billing report, sign-off and amendment (${store})`, () => {
  const clock = new ManualClock(Date.parse('2026-05-12T16:00:00Z'));
  let t: TestGateway;
  let db: TestDatabase | undefined;
  let physician: string;
  let physicianId: string;
  let otherPhysician: string;
  let nurse: string;
  let nurseId: string;
  let admin: string;
  let outsider: string;
  let cuff: string;

  const post = (path: string, token: string, json: unknown) => request(`${t.baseUrl}${path}`, { token, json });
  const get = (path: string, token: string) => request(`${t.baseUrl}${path}`, { token });
  const bp = (localIso: string) => ({ kind: 'blood-pressure', systolic: 128, diastolic: 82, unit: 'mmHg', measuredAt: `${localIso}-04:00` });

  beforeAll(async () => {
    if (store === 'postgres') db = await createTestDatabase();
    t = await startTestGateway(db === undefined ? {} : { RPM_STORE: 'postgres', RPM_DATABASE_URL: db.url }, { clock });
    await t.admin.createOrganization('org-a');
    await t.admin.createOrganization('org-b');
    physicianId = (await t.admin.createStaff({ email: 'dr@a.example', role: 'physician', organizationId: 'org-a', displayName: 'Dr Ames' })).id;
    await t.admin.createStaff({ email: 'dr2@a.example', role: 'physician', organizationId: 'org-a' });
    nurseId = (await t.admin.createStaff({ email: 'nia@a.example', role: 'nurse', organizationId: 'org-a', displayName: 'Nia' })).id;
    await t.admin.createStaff({ email: 'ada@a.example', role: 'admin', organizationId: 'org-a' });
    await t.admin.createStaff({ email: 'bo@b.example', role: 'physician', organizationId: 'org-b' });
    physician = await t.admin.login('dr@a.example');
    otherPhysician = await t.admin.login('dr2@a.example');
    nurse = await t.admin.login('nia@a.example');
    admin = await t.admin.login('ada@a.example');
    outsider = await t.admin.login('bo@b.example');
    expect((await request(`${t.baseUrl}/v1/admin/organizations/org-a/display`, { method: 'PUT', token: admin, json: { timeZone: 'America/New_York' } })).status).toBe(200);
    await t.admin.createPatient('p-1', { organizationId: 'org-a' });
    cuff = await t.admin.createDevice({ id: 'cuff-1', kind: 'bp-cuff', patientId: 'p-1', assignedFrom: '2026-03-10T12:00:00-04:00' });
    // 16 local days with automated readings in period 0; two of them at 23:30 local (next day in UTC).
    const readings = Array.from({ length: 16 }, (_, i) => bp(`${addDays('2026-03-10', i * 1)}T${i % 8 === 0 ? '23:30' : '08:00'}:00`));
    expect((await post('/v1/readings', cuff, { readings })).status).toBe(202);
    // A reading the patient read out on a call: manual, never a device day.
    const manual = await post('/v1/patients/p-1/observations', nurse, { observations: [{ kind: 'blood-pressure', systolic: 130, diastolic: 80, unit: 'mmHg', measuredAt: '2026-04-01T10:00:00-04:00' }] });
    expect(manual.status, JSON.stringify(manual.body)).toBe(201);
    // April: a 5-minute interactive call and 18 minutes of review = 23 min → 99457.
    expect((await post('/v1/patients/p-1/time', nurse, { startedAt: '2026-04-03T10:00:00-04:00', minutes: 5, interactive: true })).status).toBe(201);
    expect((await post('/v1/patients/p-1/time', nurse, { startedAt: '2026-04-20T14:00:00-04:00', minutes: 18, interactive: false })).status).toBe(201);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('reports April: the device period ending 04-08 and April\'s management time, with their evidence', async () => {
    const res = await get('/v1/billing/report?month=2026-04', physician);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const [device, mgmt] = res.body.lines;
    expect(device).toMatchObject({
      patientId: 'p-1',
      kind: 'device-period',
      periodKey: 'p-1/device/2026-03-10',
      start: '2026-03-10',
      end: '2026-04-08',
      status: 'complete',
      scheduleId: 'CY2026',
      timeZone: 'America/New_York',
      codes: [
        { code: '99453', units: 1 },
        { code: '99454', units: 1 },
      ],
      evidence: { dayCount: 16, devices: ['cuff-1'], readingsExcluded: { manual: 1, simulated: 0, flagged: 0 } },
      signOff: null,
    });
    expect(device.evidence.days[0]).toBe('2026-03-10');
    expect(mgmt).toMatchObject({ kind: 'management-month', periodKey: 'p-1/management/2026-04', codes: [{ code: '99457', units: 1 }], evidence: { minutes: 23, interactiveContacts: 1 } });
    expect(mgmt.evidence.timeEntries.map((e: { staffName: string; interactive: boolean; countedMinutes: number }) => [e.staffName, e.interactive, e.countedMinutes])).toEqual([
      ['Nia', true, 5],
      ['Nia', false, 18],
    ]);
    const audit = await t.admin.get('/v1/admin/audit?subject=patient:p-1');
    expect(audit.body.entries.some((e: { action: string }) => e.action === 'billing.report.read')).toBe(true);
  });

  it('answers the same as CSV, one row per patient-period', async () => {
    const res = await fetch(`${t.baseUrl}/v1/billing/report.csv?month=2026-04`, { headers: { authorization: `Bearer ${admin}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    const rows = (await res.text()).trimEnd().split('\r\n');
    expect(rows).toHaveLength(3);
    expect(rows[0]).toBe(
      'organization,report_month,patient_id,line_kind,period_start,period_end,status,schedule,billing_practitioner,codes,device_days,days,devices,management_minutes,interactive_contacts,time_entries,notes,signed_by,signed_at,revision,changed_since_sign_off',
    );
    expect(rows[1]).toMatch(/^org-a,2026-04,p-1,device-period,2026-03-10,2026-04-08,complete,CY2026,,99453 99454,16,2026-03-10 2026-03-11 /);
    expect(rows[2]).toMatch(/^org-a,2026-04,p-1,management-month,2026-04-01,2026-04-30,complete,CY2026,,99457,,,,23,1,/);
  });

  it('is for physicians and admins of the organization only', async () => {
    expect((await get('/v1/billing/report?month=2026-04', nurse)).status).toBe(403);
    const other = await get('/v1/billing/report?month=2026-04', outsider);
    expect(other.status).toBe(200);
    expect(other.body.lines).toEqual([]);
    expect((await get('/v1/billing/report?month=2026-13', physician)).status).toBe(400);
    expect((await request(`${t.baseUrl}/v1/billing/report?month=2026-04`, { token: ADMIN_TOKEN })).status).toBe(401);
  });

  it('a sign-off freezes the period; a second is refused, an open period cannot be signed, another tenant finds nothing', async () => {
    expect((await post('/v1/billing/sign-offs', nurse, { periodKey: 'p-1/device/2026-03-10' })).status).toBe(403);
    expect((await post('/v1/billing/sign-offs', outsider, { periodKey: 'p-1/device/2026-03-10' })).body.code).toBe('RPM_ERR_BILLING_PERIOD_NOT_FOUND');
    const signed = await post('/v1/billing/sign-offs', physician, { periodKey: 'p-1/device/2026-03-10' });
    expect(signed.status, JSON.stringify(signed.body)).toBe(201);
    expect(signed.body).toMatchObject({ signedBy: physicianId, revision: 0 });
    const again = await post('/v1/billing/sign-offs', otherPhysician, { periodKey: 'p-1/device/2026-03-10' });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('RPM_ERR_BILLING_PERIOD_SIGNED');
    const open = await post('/v1/billing/sign-offs', physician, { periodKey: 'p-1/management/2026-05' });
    expect(open.body.code).toBe('RPM_ERR_BILLING_PERIOD_OPEN');
    const report = await get('/v1/billing/report?month=2026-04', physician);
    expect(report.body.lines[0]).toMatchObject({ billingPractitionerId: physicianId, signOff: { signedBy: physicianId, signedByName: 'Dr Ames', revision: 0 }, changedSinceSignOff: false });
  });

  it('late data after a sign-off shows as a change; an amendment (numbered, with why) brings the line up to date, audited', async () => {
    // A hub that was offline delivers a reading for a 17th day of period 0.
    expect((await post('/v1/readings', cuff, { readings: [bp('2026-04-07T09:00:00')] })).status).toBe(202);
    const changed = await get('/v1/billing/report?month=2026-04', physician);
    const line = changed.body.lines[0];
    expect(line).toMatchObject({ changedSinceSignOff: true, evidence: { dayCount: 16 }, computedCodes: [{ code: '99453', units: 1 }, { code: '99454', units: 1 }] });
    const stale = await post('/v1/billing/amendments', physician, { periodKey: 'p-1/device/2026-03-10', reason: 'late hub upload', revision: 1 });
    expect(stale.body.code).toBe('RPM_ERR_BILLING_AMENDMENT_CONFLICT');
    expect((await post('/v1/billing/amendments', otherPhysician, { periodKey: 'p-1/device/2026-03-10', reason: 'x', revision: 0 })).status).toBe(403);
    const amended = await post('/v1/billing/amendments', physician, { periodKey: 'p-1/device/2026-03-10', reason: 'late hub upload', revision: 0 });
    expect(amended.status, JSON.stringify(amended.body)).toBe(201);
    expect(amended.body).toMatchObject({ revision: 1, amendments: [{ revision: 1, amendedBy: physicianId, reason: 'late hub upload' }] });
    const after = await get('/v1/billing/report?month=2026-04', physician);
    expect(after.body.lines[0]).toMatchObject({ changedSinceSignOff: false, evidence: { dayCount: 17 }, signOff: { revision: 1 } });
    const audit = await t.admin.get('/v1/admin/audit?subject=patient:p-1');
    const actions = audit.body.entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['billing.sign-off', 'billing.amend']));
  });

  it('records the episode: monitoring start, the patient\'s zone and the one billing practitioner, with history', async () => {
    const derived = await get('/v1/patients/p-1/billing-episode', nurse);
    expect(derived.body).toMatchObject({ startDate: '2026-03-10', timeZone: 'America/New_York', recorded: false, billingPractitionerId: null });
    expect((await request(`${t.baseUrl}/v1/patients/p-1/billing-episode`, { method: 'PUT', token: nurse, json: { startDate: '2026-03-10', timeZone: 'America/Chicago' } })).status).toBe(403);
    const bad = await request(`${t.baseUrl}/v1/patients/p-1/billing-episode`, { method: 'PUT', token: admin, json: { startDate: '2026-03-10', timeZone: 'Mars/Olympus' } });
    expect(bad.body.code).toBe('RPM_ERR_BILLING_EPISODE_INVALID');
    const put = await request(`${t.baseUrl}/v1/patients/p-1/billing-episode`, {
      method: 'PUT',
      token: admin,
      json: { startDate: '2026-03-10', timeZone: 'America/New_York', billingPractitionerId: physicianId, reason: 'enrolled' },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({ recorded: true, billingPractitionerId: physicianId, history: [{ reason: 'enrolled' }] });
    // A patient whose identity names a zone: the derived episode counts days there.
    await t.admin.createPatient('p-2', { organizationId: 'org-a' });
    await t.admin.createDevice({ id: 'scale-2', kind: 'scale', patientId: 'p-2', assignedFrom: '2026-04-01T02:00:00Z' });
    const identity = await request(`${t.baseUrl}/v1/patients/p-2/identity`, {
      method: 'PUT',
      token: admin,
      json: { givenName: 'Lee', familyName: 'Park', birthDate: '1950-02-03', mrn: 'MRN-2', phone: null, preferredLanguage: 'en', timeZone: 'America/Los_Angeles' },
    });
    expect(identity.status, JSON.stringify(identity.body)).toBe(200);
    // 02:00Z on 04-01 is still 03-31 in Los Angeles.
    expect((await get('/v1/patients/p-2/billing-episode', physician)).body).toMatchObject({ startDate: '2026-03-31', timeZone: 'America/Los_Angeles', recorded: false });
    // A device registered with its patient and no start is assigned "from the beginning": monitoring starts when it was registered.
    await t.admin.createPatient('p-3', { organizationId: 'org-a' });
    await t.admin.createDevice({ id: 'ox-3', kind: 'pulse-oximeter', patientId: 'p-3' });
    expect((await get('/v1/patients/p-3/billing-episode', physician)).body).toMatchObject({ startDate: '2026-05-12', timeZone: 'America/New_York' });
    // Now only that practitioner signs the patient's periods.
    const other = await post('/v1/billing/sign-offs', otherPhysician, { periodKey: 'p-1/management/2026-04' });
    expect(other.status).toBe(403);
    expect((await post('/v1/billing/sign-offs', physician, { periodKey: 'p-1/management/2026-04' })).status).toBe(201);
  });

  it('documents the billing routes in OpenAPI', async () => {
    const res = await request(`${t.baseUrl}/docs/json`);
    expect(Object.keys(res.body.paths)).toEqual(expect.arrayContaining(['/v1/billing/report', '/v1/billing/report.csv', '/v1/billing/sign-offs', '/v1/billing/amendments', '/v1/patients/{id}/billing-episode']));
  });

  it('counts only a real-time call as the month\'s interactive contact, never secure messaging alone', async () => {
    expect((await post('/v1/patients/p-1/time', nurse, { startedAt: '2026-05-04T10:00:00-04:00', minutes: 25, interactive: true, modality: 'secure-message' })).status).toBe(201);
    const before = (await get('/v1/billing/report?month=2026-05', physician)).body.lines.find((l: { kind: string; patientId: string }) => l.kind === 'management-month' && l.patientId === 'p-1');
    expect(before).toMatchObject({ status: 'in-progress', codes: [], evidence: { minutes: 25, interactiveContacts: 0 } });
    expect(before.evidence.timeEntries[0]).toMatchObject({ interactive: true, modality: 'secure-message' });
    expect(before.notes.join(' ')).toContain('no real-time interactive audio/video contact');
    expect((await post('/v1/patients/p-1/time', nurse, { startedAt: '2026-05-05T10:00:00-04:00', minutes: 3, interactive: true, modality: 'audio' })).status).toBe(201);
    const after = (await get('/v1/billing/report?month=2026-05', physician)).body.lines.find((l: { kind: string; patientId: string }) => l.kind === 'management-month' && l.patientId === 'p-1');
    expect(after).toMatchObject({ codes: [{ code: '99457', units: 1 }], evidence: { minutes: 28, interactiveContacts: 1 } });
  });
});
