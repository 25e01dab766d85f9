import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';

const identity = {
  givenName: 'Annabelle',
  familyName: 'Quintero-Vasquez',
  birthDate: '1948-02-29',
  mrn: 'MRN-77123',
  phone: '+15557654321',
  preferredLanguage: 'es-MX',
  timeZone: 'America/Chicago',
};

describe('Patient identity and contact: API, scope, audit, consent', () => {
  let t: TestGateway;
  let nurseA: string;
  let nurseOther: string;
  let physician: string;
  let nurseB: string;
  const logs: string[] = [];

  beforeAll(async () => {
    t = await startTestGateway({ RPM_LOG_LEVEL: 'debug' }, { logDestination: new Writable({ write: (chunk, _enc, done) => (logs.push(String(chunk)), done()) }) });
    await t.admin.createOrganization('org-a');
    await t.admin.createOrganization('org-b');
    const annId = (await t.admin.createStaff({ email: 'ann@a.example', role: 'nurse', organizationId: 'org-a', displayName: 'Ann Nurse' })).id;
    const other = (await t.admin.createStaff({ email: 'other@a.example', role: 'nurse', organizationId: 'org-a' })).id;
    const doc = (await t.admin.createStaff({ email: 'doc@a.example', role: 'physician', organizationId: 'org-a' })).id;
    await t.admin.createStaff({ email: 'bob@b.example', role: 'nurse', organizationId: 'org-b' });
    await t.admin.createPatient('pa-1', { organizationId: 'org-a' });
    await t.admin.createPatient('pa-2', { organizationId: 'org-a' });
    await t.admin.createCareTeam('team-1', 'org-a', 'Heart team');
    for (const id of [annId, doc]) expect((await t.admin.post('/v1/admin/care-teams/team-1/members', { staffId: id })).status).toBeLessThan(300);
    // A nurse on another team sees only that team's patients.
    await t.admin.createCareTeam('team-2', 'org-a', 'Lung team');
    await t.admin.post('/v1/admin/care-teams/team-2/members', { staffId: other });
    for (const p of ['pa-1', 'pa-2']) expect((await t.admin.post('/v1/admin/care-teams/team-1/patients', { patientId: p })).status).toBeLessThan(300);
    nurseA = await t.admin.login('ann@a.example');
    nurseOther = await t.admin.login('other@a.example');
    physician = await t.admin.login('doc@a.example');
    nurseB = await t.admin.login('bob@b.example');
  });
  afterAll(async () => t.close());

  const put = (id: string, token: string, body: unknown) => request(`${t.baseUrl}/v1/patients/${id}/identity`, { method: 'PUT', token, json: body });
  const get = (id: string, token: string, what = 'identity') => request(`${t.baseUrl}/v1/patients/${id}/${what}`, { token });

  it('records identity (nurse in scope) and answers it with the age on the patient’s calendar', async () => {
    expect((await get('pa-1', nurseA)).body.code).toBe('RPM_ERR_PATIENT_IDENTITY_NOT_FOUND');
    const res = await put('pa-1', nurseA, { ...identity, expectedVersion: 0 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ...identity, version: 1, organizationId: 'org-a', age: { unit: 'a' } });
    expect(res.body.age.value).toBeGreaterThanOrEqual(77);
    expect((await get('pa-1', physician)).body).toMatchObject({ givenName: 'Annabelle', mrn: 'MRN-77123' });
  });

  it('refuses what it must: other tenants and teams 404, physicians 403 on writes, duplicate MRNs and stale versions 409, bad fields 400', async () => {
    expect((await get('pa-1', nurseB)).status).toBe(404);
    expect((await get('pa-1', nurseOther)).status).toBe(404);
    expect((await put('pa-1', nurseB, identity)).status).toBe(404);
    expect((await put('pa-1', physician, identity)).status).toBe(403);
    expect((await put('pa-2', nurseA, { ...identity, mrn: 'mrn-77123' })).body.code).toBe('RPM_ERR_PATIENT_MRN_EXISTS');
    expect((await put('pa-1', nurseA, { ...identity, expectedVersion: 0 })).body.code).toBe('RPM_ERR_PATIENT_IDENTITY_CONFLICT');
    for (const bad of [{ phone: '5557654321' }, { timeZone: 'Mars/Olympus' }, { birthDate: '1950-02-30' }, { preferredLanguage: 'english!' }]) {
      const res = await put('pa-1', nurseA, { ...identity, ...bad });
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
    // The bootstrap admin may write too.
    expect((await put('pa-2', t.gw.ctx.adminToken, { ...identity, givenName: 'Bert', mrn: 'MRN-2', phone: null })).status).toBe(200);
  });

  it('records telehealth consent (who, when, how) and shows the one in force in the header with programs and the care team', async () => {
    const c = await request(`${t.baseUrl}/v1/patients/pa-1/consents/telehealth`, { token: nurseA, json: { granted: true, method: 'verbal' } });
    expect(c.status).toBe(201);
    expect(c.body).toMatchObject({ granted: true, method: 'verbal', recordedBy: expect.stringMatching(/^staff:/) });
    expect((await request(`${t.baseUrl}/v1/patients/pa-1/consents/telehealth`, { token: physician, json: { granted: true, method: 'verbal' } })).status).toBe(403);
    const header = await get('pa-1', physician, 'header');
    expect(header.status).toBe(200);
    expect(header.body).toMatchObject({
      patientId: 'pa-1',
      identity: { givenName: 'Annabelle', familyName: 'Quintero-Vasquez', birthDate: '1948-02-29', mrn: 'MRN-77123' },
      programs: ['general'],
      careTeams: [{ id: 'team-1', name: 'Heart team' }],
      telehealthConsent: { granted: true, method: 'verbal' },
    });
    expect(header.body.careTeams[0].members.map((m: { displayName: string | null }) => m.displayName)).toContain('Ann Nurse');
    // Withdrawn: no consent in force.
    await request(`${t.baseUrl}/v1/patients/pa-1/consents/telehealth`, { token: nurseA, json: { granted: false, method: 'written' } });
    expect((await get('pa-1', nurseA, 'header')).body.telehealthConsent).toBeNull();
    const list = await get('pa-1', nurseA, 'consents/telehealth');
    expect(list.body.consents.map((x: { granted: boolean }) => x.granted)).toEqual([false, true]);
  });

  it('audits every read of identity, refused ones too, without the values; logs hold no identity', async () => {
    const audit = await t.admin.get('/v1/admin/audit?subject=patient:pa-1&limit=200');
    const reads = audit.body.entries.filter((e: { action: string }) => e.action === 'identity.read');
    expect(reads.filter((e: { outcome: string }) => e.outcome === 'success').length).toBeGreaterThanOrEqual(4);
    expect(reads.filter((e: { outcome: string }) => e.outcome === 'denied').length).toBeGreaterThanOrEqual(2);
    expect(audit.body.entries.some((e: { action: string }) => e.action === 'identity.update')).toBe(true);
    const text = JSON.stringify(audit.body) + logs.join('');
    expect(logs.length).toBeGreaterThan(0);
    for (const plain of ['Annabelle', 'Quintero', '1948-02-29', 'MRN-77123', '5557654321']) expect(text).not.toContain(plain);
  });

  it('looks up several identities at once (the worklist): only patients in scope, one audit entry naming them', async () => {
    const lookup = (token: string) => request(`${t.baseUrl}/v1/patient-identities/lookup`, { token, json: { ids: ['pa-1', 'pa-2', 'nobody', 'pa-1'] } });
    const mine = await lookup(nurseA);
    expect(mine.status).toBe(200);
    expect(mine.body.identities.map((i: { patientId: string; givenName: string }) => [i.patientId, i.givenName])).toEqual([
      ['pa-1', 'Annabelle'],
      ['pa-2', 'Bert'],
    ]);
    expect((await lookup(nurseOther)).body.identities).toEqual([]);
    expect((await lookup(nurseB)).body.identities).toEqual([]);
    expect((await lookup(t.gw.ctx.adminToken)).status).toBe(403);
    const audit = await t.admin.get('/v1/admin/audit?limit=20');
    const entry = audit.body.entries.find((e: { action: string; subject: string }) => e.action === 'identity.read' && e.subject.endsWith(':worklist'));
    expect(entry.patientIds.sort()).toEqual(['pa-1', 'pa-2']);
  });

  it('documents the routes in OpenAPI', async () => {
    const spec = (await request(`${t.baseUrl}/docs/json`)).body;
    for (const p of ['/v1/patients/{id}/identity', '/v1/patients/{id}/header', '/v1/patients/{id}/consents/telehealth']) expect(spec.paths[p], p).toBeDefined();
  });
});
