import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../test/helpers/clock.js';
import { ADMIN_TOKEN, isoMinutesAgo, request, STAFF_PASSWORD, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';

const MINUTE = 60_000;

interface AuditRow {
  actor: string;
  action: string;
  subject: string;
  outcome: string;
  sourceIp: string | null;
  details: Record<string, unknown> | null;
}

async function auditOf(t: TestGateway, subject: string): Promise<AuditRow[]> {
  const res = await t.admin.get(`/v1/admin/audit?subject=${encodeURIComponent(subject)}&limit=1000`);
  return res.body.entries as AuditRow[];
}

describe('staff login and sessions', () => {
  let t: TestGateway;
  const clock = new ManualClock();
  let nurse: { id: string; email: string };
  let shiftId: string;
  const me = (token: string) => request(`${t.baseUrl}/v1/auth/me`, { token });
  const login = (email: string, password: string) => request(`${t.baseUrl}/v1/auth/login`, { json: { email, password } });

  beforeAll(async () => {
    t = await startTestGateway({}, { clock });
    await t.admin.createOrganization('org-a', 'Clinic A');
    nurse = await t.admin.createStaff({ email: 'Ann.Nurse@Clinic-A.org', role: 'nurse', organizationId: 'org-a', displayName: 'Ann', phone: '+15551230001' });
    // Others, so that no account reaches the login rate limit (10 a minute) in this file.
    await t.admin.createStaff({ email: 'timing@clinic-a.org', role: 'nurse', organizationId: 'org-a' });
    shiftId = (await t.admin.createStaff({ email: 'shift@clinic-a.org', role: 'nurse', organizationId: 'org-a' })).id;
  });
  afterAll(async () => t.close());

  it('logs in with email (any case) and password, answering a session token that works on staff routes', async () => {
    const res = await login('ann.nurse@clinic-a.ORG', STAFF_PASSWORD);
    expect(res.status).toBe(200);
    expect(res.body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(res.body.staff).toEqual({ id: nurse.id, email: 'ann.nurse@clinic-a.org', role: 'nurse', organizationId: 'org-a', displayName: 'Ann', isChargeNurse: false });
    expect(Date.parse(res.body.expiresAt)).toBe(clock.now() + 12 * 60 * MINUTE);
    expect(Date.parse(res.body.idleExpiresAt)).toBe(clock.now() + 15 * MINUTE);
    expect(JSON.stringify(res.body)).not.toContain(STAFF_PASSWORD);
    expect(JSON.stringify(res.body)).not.toContain('argon2');

    const who = await me(res.body.token);
    expect(who.status).toBe(200);
    expect(who.body).toMatchObject({ staff: { id: nurse.id, role: 'nurse' }, careTeams: [] });
    // Each login is its own session.
    const second = await login('ann.nurse@clinic-a.org', STAFF_PASSWORD);
    expect(second.body.token).not.toBe(res.body.token);
  });

  it('answers a wrong password and an unknown email the same way, and audits both without the email', async () => {
    const wrong = await login('ann.nurse@clinic-a.org', 'not the password at all');
    const unknown = await login('nobody@clinic-a.org', 'not the password at all');
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ code: 'RPM_ERR_AUTH_INVALID', detail: 'wrong email or password' });
    }
    expect(unknown.body).toEqual(wrong.body);

    const mine = (await auditOf(t, `staff:${nurse.id}`)).filter((e) => e.action === 'auth.login');
    expect(mine.map((e) => e.outcome)).toEqual(['denied', 'success', 'success']);
    expect(mine[0]).toMatchObject({ actor: `staff:${nurse.id}`, sourceIp: '127.0.0.1', details: { reason: 'wrong-password' } });
    // Unknown emails are counted per address in aggregate (a spray of made-up emails is one entry a minute).
    const unknowns = await auditOf(t, 'staff-login');
    expect(unknowns[0]).toMatchObject({ actor: 'unknown', action: 'auth.denied', outcome: 'denied', details: { credential: 'password', on: 'auth.login.unknown-account', count: 1 } });
    const all = JSON.stringify(await auditOf(t, `staff:${nurse.id}`)) + JSON.stringify(unknowns);
    expect(all).not.toMatch(/clinic-a\.org|not the password/i);
  });

  it('spends the same argon2id work on an unknown email as on a wrong password', async () => {
    const time = async (email: string): Promise<number> => {
      const samples: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        await login(email, `wrong password ${i}!`);
        samples.push(performance.now() - started);
      }
      // The fastest try: other work on a loaded machine only ever adds time, never removes the hash.
      return Math.min(...samples);
    };
    const known = await time('timing@clinic-a.org');
    const unknown = await time('ghost@clinic-a.org');
    // Without the dummy verification an unknown email answers in about a millisecond.
    expect(unknown).toBeGreaterThan(known * 0.4);
  });

  it('refuses missing, malformed and unknown session tokens', async () => {
    const missing = await request(`${t.baseUrl}/v1/auth/me`);
    expect(missing.status).toBe(401);
    expect(missing.body.code).toBe('RPM_ERR_AUTH_MISSING');
    for (const token of ['short', 'A'.repeat(43), ADMIN_TOKEN]) {
      const res = await me(token);
      expect(res.status, token).toBe(401);
      expect(res.body.code, token).toBe('RPM_ERR_AUTH_INVALID');
    }
  });

  it('ends the session on logout', async () => {
    const token = await t.admin.login('shift@clinic-a.org');
    const out = await request(`${t.baseUrl}/v1/auth/logout`, { token, method: 'POST' });
    expect(out.status).toBe(204);
    const after = await me(token);
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('RPM_ERR_AUTH_INVALID');
    expect((await auditOf(t, `staff:${shiftId}`))[0]).toMatchObject({ actor: `staff:${shiftId}`, action: 'auth.logout', outcome: 'success' });
  });

  it('expires a session after 15 idle minutes; every request slides the idle expiry', async () => {
    const token = await t.admin.login('shift@clinic-a.org');
    const start = clock.now();
    clock.advance(14 * MINUTE);
    const active = await me(token);
    expect(active.status).toBe(200);
    expect(Date.parse(active.body.idleExpiresAt)).toBe(start + 29 * MINUTE);
    clock.advance(14 * MINUTE);
    expect((await me(token)).status).toBe(200);
    clock.advance(15 * MINUTE);
    const idle = await me(token);
    expect(idle.status).toBe(401);
    expect(idle.body.code).toBe('RPM_ERR_AUTH_SESSION_EXPIRED');
    // A refused request is no activity: the session stays ended.
    expect((await me(token)).body.code).toBe('RPM_ERR_AUTH_SESSION_EXPIRED');
  });

  it('records activity at most every 30 seconds per session', async () => {
    const token = await t.admin.login('shift@clinic-a.org');
    const start = clock.now();
    clock.advance(10_000);
    expect(Date.parse((await me(token)).body.idleExpiresAt)).toBe(start + 15 * MINUTE);
    clock.advance(25_000);
    expect(Date.parse((await me(token)).body.idleExpiresAt)).toBe(start + 35_000 + 15 * MINUTE);
  });

  it('ends an active session 12 hours after login', async () => {
    const token = await t.admin.login('shift@clinic-a.org');
    for (let elapsed = 10; elapsed < 12 * 60; elapsed += 10) {
      clock.advance(10 * MINUTE);
      expect((await me(token)).status, `${elapsed} min`).toBe(200);
    }
    clock.advance(10 * MINUTE);
    const res = await me(token);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'RPM_ERR_AUTH_SESSION_EXPIRED', detail: expect.stringContaining('maximum lifetime') });
  });

  it('refuses a disabled account, ends its sessions at once, and lets it in again once enabled', async () => {
    const token = await t.admin.login('ann.nurse@clinic-a.org');
    const disabled = await t.admin.post(`/v1/admin/staff/${nurse.id}/disable`);
    expect(disabled.status).toBe(200);
    expect(disabled.body.status).toBe('disabled');
    expect((await me(token)).status).toBe(401);
    const refused = await login('ann.nurse@clinic-a.org', STAFF_PASSWORD);
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ code: 'RPM_ERR_AUTH_INVALID', detail: 'wrong email or password' });
    const denied = (await auditOf(t, `staff:${nurse.id}`)).find((e) => e.action === 'auth.login');
    expect(denied).toMatchObject({ outcome: 'denied', details: { reason: 'disabled' } });

    expect((await t.admin.post(`/v1/admin/staff/${nurse.id}/enable`)).status).toBe(200);
    expect((await me(await t.admin.login('ann.nurse@clinic-a.org'))).status).toBe(200);
  });

  it('honours RPM_SESSION_IDLE_MINUTES and RPM_SESSION_MAX_HOURS', async () => {
    const c = new ManualClock();
    const short = await startTestGateway({ RPM_SESSION_IDLE_MINUTES: '5', RPM_SESSION_MAX_HOURS: '1' }, { clock: c });
    try {
      await short.admin.createOrganization('org-s');
      await short.admin.createStaff({ email: 'doc@s.org', role: 'physician', organizationId: 'org-s' });
      const res = await request(`${short.baseUrl}/v1/auth/login`, { json: { email: 'doc@s.org', password: STAFF_PASSWORD } });
      expect(Date.parse(res.body.expiresAt)).toBe(c.now() + 60 * MINUTE);
      c.advance(5 * MINUTE);
      expect((await request(`${short.baseUrl}/v1/auth/me`, { token: res.body.token })).body.code).toBe('RPM_ERR_AUTH_SESSION_EXPIRED');
    } finally {
      await short.close();
    }
  });
});

describe('login rate limit', () => {
  it('allows 10 attempts a minute per address and email, then answers 429 with Retry-After', async () => {
    // The per-account delay (test/security/login-throttle.test.ts) would answer first; this is about the address limit.
    const t = await startTestGateway({ RPM_LOGIN_FAILURES_BEFORE_DELAY: '100' });
    try {
      await t.admin.createOrganization('org-r');
      await t.admin.createStaff({ email: 'target@r.org', role: 'nurse', organizationId: 'org-r' });
      await t.admin.createStaff({ email: 'other@r.org', role: 'nurse', organizationId: 'org-r' });
      const statuses: number[] = [];
      let last;
      for (let i = 0; i < 11; i++) {
        last = await request(`${t.baseUrl}/v1/auth/login`, { json: { email: i % 2 === 0 ? 'target@r.org' : 'TARGET@r.org', password: `guess number ${i}` } });
        statuses.push(last.status);
      }
      expect(statuses).toEqual([...Array<number>(10).fill(401), 429]);
      expect(last?.body).toMatchObject({ code: 'RPM_ERR_RATE_LIMITED' });
      expect(last?.headers.get('retry-after')).toMatch(/^\d+$/);
      // Even the right password waits: the limit is on attempts.
      expect((await request(`${t.baseUrl}/v1/auth/login`, { json: { email: 'target@r.org', password: STAFF_PASSWORD } })).status).toBe(429);
      // Another account from the same address is not affected.
      expect((await request(`${t.baseUrl}/v1/auth/login`, { json: { email: 'other@r.org', password: STAFF_PASSWORD } })).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describe('tenant isolation and care-team scope on GET /v1/patients/{id}/readings', () => {
  let t: TestGateway;
  const tokens: Record<string, string> = {};
  const staffIds: Record<string, string> = {};
  const readings = (patientId: string, who: string) => request(`${t.baseUrl}/v1/patients/${patientId}/readings`, { token: tokens[who] ?? 'missing' });

  beforeAll(async () => {
    t = await startTestGateway();
    await t.admin.createOrganization('org-a');
    await t.admin.createOrganization('org-b');
    for (const p of ['pa-1', 'pa-2', 'pa-3']) await t.admin.createPatient(p, { organizationId: 'org-a' });
    await t.admin.createPatient('pb-1', { organizationId: 'org-b' });
    await t.admin.createPatient('p-no-org');
    const secret = await t.admin.createDevice({ id: 'cuff-a', kind: 'bp-cuff', patientId: 'pa-1' });
    const ingest = await request(`${t.baseUrl}/v1/readings`, {
      token: secret,
      json: { readings: [{ kind: 'blood-pressure', systolic: 150, diastolic: 95, unit: 'mmHg', measuredAt: isoMinutesAgo(10) }] },
    });
    expect(ingest.status).toBe(202);
    const people: Array<[string, 'nurse' | 'physician' | 'admin', string]> = [
      ['nurse-a', 'nurse', 'org-a'],
      ['team-nurse-a', 'nurse', 'org-a'],
      ['float-nurse-a', 'nurse', 'org-a'],
      ['doc-a', 'physician', 'org-a'],
      ['nurse-b', 'nurse', 'org-b'],
    ];
    for (const [name, role, organizationId] of people) {
      staffIds[name] = (await t.admin.createStaff({ email: `${name}@example.org`, role, organizationId })).id;
      tokens[name] = await t.admin.login(`${name}@example.org`);
    }
  });
  afterAll(async () => t.close());

  it("gives a nurse her organization's patients and answers 404 for another tenant's, exactly as for a patient that does not exist", async () => {
    const own = await readings('pa-1', 'nurse-a');
    expect(own.status).toBe(200);
    expect(own.body.readings).toHaveLength(1);
    expect(own.body.readings[0]).toMatchObject({ kind: 'blood-pressure' });

    const foreign = await readings('pa-1', 'nurse-b');
    const missing = await readings('nobody', 'nurse-b');
    expect(foreign.status).toBe(404);
    expect(foreign.body).toEqual(missing.body);
    expect(foreign.body.code).toBe('RPM_ERR_PATIENT_NOT_FOUND');
    // A patient with no organization belongs to no staff member's scope.
    expect((await readings('p-no-org', 'nurse-a')).status).toBe(404);
    // The admin token still reads everything.
    expect((await t.admin.get('/v1/patients/pb-1/readings')).status).toBe(200);

    const audit = await auditOf(t, 'patient:pa-1');
    const reads = audit.filter((e) => e.action === 'readings.read');
    expect(reads[0]).toMatchObject({ actor: `staff:${staffIds['nurse-b']}`, outcome: 'denied' });
    expect(reads[1]).toMatchObject({ actor: `staff:${staffIds['nurse-a']}`, outcome: 'success', details: { count: 1 } });
  });

  it('scopes nurses on a care team to their teams once the organization assigns patients to teams', async () => {
    await t.admin.createCareTeam('team-1', 'org-a', 'Heart failure');
    await t.admin.createCareTeam('team-2', 'org-a', 'Diabetes');
    await t.admin.addTeamMember('team-1', staffIds['team-nurse-a'] ?? '');
    await t.admin.addTeamMember('team-1', staffIds['doc-a'] ?? '');
    // Teams but no patients on any: no scoping yet.
    expect((await readings('pa-2', 'team-nurse-a')).status).toBe(200);

    await t.admin.addTeamPatient('team-1', 'pa-1');
    await t.admin.addTeamPatient('team-2', 'pa-3');
    expect((await readings('pa-1', 'team-nurse-a')).status).toBe(200);
    expect((await readings('pa-2', 'team-nurse-a')).status).toBe(404);
    expect((await readings('pa-3', 'team-nurse-a')).status).toBe(404);
    // A nurse on no team and a physician (on a team or not) keep the whole organization.
    for (const who of ['float-nurse-a', 'doc-a']) {
      for (const p of ['pa-1', 'pa-2', 'pa-3']) expect((await readings(p, who)).status, `${who} ${p}`).toBe(200);
    }
    const teams = await request(`${t.baseUrl}/v1/auth/me`, { token: tokens['team-nurse-a'] ?? '' });
    expect(teams.body.careTeams).toEqual([{ id: 'team-1', name: 'Heart failure' }]);
  });
});

describe('administration of organizations, staff and care teams', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(async () => t.close());

  it('creates organizations once; patients may only name one that exists', async () => {
    const org = await t.admin.post('/v1/admin/organizations', { id: 'org-x', name: 'Clinic X' });
    expect(org.status).toBe(201);
    expect(org.body).toMatchObject({ id: 'org-x', name: 'Clinic X' });
    expect((await t.admin.post('/v1/admin/organizations', { id: 'org-x', name: 'Again' })).body.code).toBe('RPM_ERR_ORGANIZATION_EXISTS');
    const orphan = await t.admin.post('/v1/admin/patients', { id: 'p-orphan', organizationId: 'org-nope' });
    expect(orphan.status).toBe(404);
    expect(orphan.body.code).toBe('RPM_ERR_ORGANIZATION_NOT_FOUND');
    expect((await t.admin.post('/v1/admin/patients', { id: 'p-x', organizationId: 'org-x' })).status).toBe(201);
    expect((await t.admin.post('/v1/admin/patients', { id: 'p-free' })).status).toBe(201);
  });

  it('creates staff with a generated id and never returns the password', async () => {
    await t.admin.createOrganization('org-s');
    const res = await t.admin.post('/v1/admin/staff', {
      email: 'Charge.Nurse@S.org',
      password: 'a long enough passphrase',
      role: 'nurse',
      organizationId: 'org-s',
      displayName: 'Charge',
      isChargeNurse: true,
      phone: '+447700900123',
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ email: 'charge.nurse@s.org', role: 'nurse', organizationId: 'org-s', isChargeNurse: true, phone: '+447700900123', status: 'active' });
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.keys(res.body)).not.toContain('password');
    expect(JSON.stringify(res.body)).not.toContain('passphrase');
    expect((await t.admin.get(`/v1/admin/staff/${res.body.id}`)).body).toEqual(res.body);

    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ email: 'CHARGE.nurse@s.org', role: 'admin', organizationId: 'org-s' }, 409, 'RPM_ERR_STAFF_EXISTS'],
      [{ email: 'x@s.org', role: 'nurse', organizationId: 'org-nope' }, 404, 'RPM_ERR_ORGANIZATION_NOT_FOUND'],
      [{ email: 'x@s.org', role: 'nurse', organizationId: 'org-s', password: 'too short' }, 400, 'RPM_ERR_REQUEST_INVALID'],
      [{ email: 'x@s.org', role: 'nurse', organizationId: 'org-s', phone: '555-1234' }, 400, 'RPM_ERR_REQUEST_INVALID'],
      [{ email: 'not an email', role: 'nurse', organizationId: 'org-s' }, 400, 'RPM_ERR_REQUEST_INVALID'],
      [{ email: 'x@s.org', role: 'janitor', organizationId: 'org-s' }, 400, 'RPM_ERR_REQUEST_INVALID'],
    ];
    for (const [body, status, code] of cases) {
      const r = await t.admin.post('/v1/admin/staff', { password: STAFF_PASSWORD, ...body });
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.body.code, JSON.stringify(body)).toBe(code);
    }
    expect(JSON.stringify(await auditOf(t, `staff:${res.body.id}`))).not.toMatch(/charge\.nurse|\+447700900123/i);
  });

  it('links only members and patients of the same organization to a care team', async () => {
    await t.admin.createOrganization('org-t');
    await t.admin.createOrganization('org-u');
    await t.admin.createCareTeam('team-t', 'org-t');
    await t.admin.createPatient('p-u', { organizationId: 'org-u' });
    const u = await t.admin.createStaff({ email: 'u@u.org', role: 'nurse', organizationId: 'org-u' });
    expect((await t.admin.post('/v1/admin/care-teams', { id: 'team-t', organizationId: 'org-t', name: 'x' })).body.code).toBe('RPM_ERR_CARE_TEAM_EXISTS');
    expect((await t.admin.post('/v1/admin/care-teams/team-t/members', { staffId: u.id })).body.code).toBe('RPM_ERR_ORGANIZATION_MISMATCH');
    expect((await t.admin.post('/v1/admin/care-teams/team-t/patients', { patientId: 'p-u' })).body.code).toBe('RPM_ERR_ORGANIZATION_MISMATCH');
    expect((await t.admin.post('/v1/admin/care-teams/team-none/patients', { patientId: 'p-u' })).status).toBe(404);
    const tm = await t.admin.createStaff({ email: 't@t.org', role: 'nurse', organizationId: 'org-t' });
    await t.admin.addTeamMember('team-t', tm.id);
    const team = await t.admin.get('/v1/admin/care-teams/team-t');
    expect(team.body.members.map((m: { id: string }) => m.id)).toEqual([tm.id]);
    const removed = await request(`${t.baseUrl}/v1/admin/care-teams/team-t/members/${tm.id}`, { token: ADMIN_TOKEN, method: 'DELETE' });
    expect(removed.status).toBe(204);
    expect((await t.admin.get('/v1/admin/care-teams/team-t')).body.members).toEqual([]);
  });

  it('lets an organization admin administer their own organization only, answering 404 for anything else', async () => {
    await t.admin.createOrganization('org-home');
    await t.admin.createOrganization('org-away');
    await t.admin.createPatient('p-home', { organizationId: 'org-home' });
    await t.admin.createPatient('p-away', { organizationId: 'org-away' });
    await t.admin.createCareTeam('team-away', 'org-away');
    const awayNurse = await t.admin.createStaff({ email: 'nurse@away.org', role: 'nurse', organizationId: 'org-away' });
    await t.admin.createStaff({ email: 'admin@home.org', role: 'admin', organizationId: 'org-home' });
    await t.admin.createStaff({ email: 'nurse@home.org', role: 'nurse', organizationId: 'org-home' });
    const admin = await t.admin.login('admin@home.org');
    const as = (token: string, method: string, path: string, json?: unknown) => request(`${t.baseUrl}${path}`, { token, method, ...(json === undefined ? {} : { json }) });

    const made = await as(admin, 'POST', '/v1/admin/staff', { email: 'new@home.org', password: STAFF_PASSWORD, role: 'nurse', organizationId: 'org-home' });
    expect(made.status).toBe(201);
    expect((await auditOf(t, `staff:${made.body.id}`))[0]).toMatchObject({ action: 'staff.create', actor: expect.stringMatching(/^staff:/) });
    expect((await as(admin, 'POST', '/v1/admin/care-teams', { id: 'team-home', organizationId: 'org-home', name: 'Home' })).status).toBe(201);
    expect((await as(admin, 'POST', '/v1/admin/care-teams/team-home/members', { staffId: made.body.id })).status).toBe(201);
    expect((await as(admin, 'POST', '/v1/admin/care-teams/team-home/patients', { patientId: 'p-home' })).status).toBe(201);
    expect((await as(admin, 'GET', '/v1/admin/organizations/org-home')).status).toBe(200);

    const outside: Array<[string, string, unknown, string]> = [
      ['POST', '/v1/admin/staff', { email: 'spy@away.org', password: STAFF_PASSWORD, role: 'admin', organizationId: 'org-away' }, 'RPM_ERR_ORGANIZATION_NOT_FOUND'],
      ['POST', '/v1/admin/care-teams', { id: 'team-spy', organizationId: 'org-away', name: 'Spy' }, 'RPM_ERR_ORGANIZATION_NOT_FOUND'],
      ['GET', '/v1/admin/organizations/org-away', undefined, 'RPM_ERR_ORGANIZATION_NOT_FOUND'],
      ['GET', '/v1/admin/care-teams/team-away', undefined, 'RPM_ERR_CARE_TEAM_NOT_FOUND'],
      ['POST', '/v1/admin/care-teams/team-away/patients', { patientId: 'p-away' }, 'RPM_ERR_CARE_TEAM_NOT_FOUND'],
      ['POST', '/v1/admin/care-teams/team-home/members', { staffId: awayNurse.id }, 'RPM_ERR_STAFF_NOT_FOUND'],
      ['POST', '/v1/admin/care-teams/team-home/patients', { patientId: 'p-away' }, 'RPM_ERR_PATIENT_NOT_FOUND'],
      ['GET', `/v1/admin/staff/${awayNurse.id}`, undefined, 'RPM_ERR_STAFF_NOT_FOUND'],
      ['POST', `/v1/admin/staff/${awayNurse.id}/disable`, undefined, 'RPM_ERR_STAFF_NOT_FOUND'],
    ];
    for (const [method, path, body, code] of outside) {
      const res = await as(admin, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.code, `${method} ${path}`).toBe(code);
    }
    expect((await t.admin.get(`/v1/admin/staff/${awayNurse.id}`)).body.status).toBe('active');
    // Organizations are the operator's to create.
    expect((await as(admin, 'POST', '/v1/admin/organizations', { id: 'org-mine', name: 'Mine' })).status).toBe(403);
    // The bootstrap-only routes do not take a session: a known caller without the permission (403).
    expect((await as(admin, 'POST', '/v1/admin/patients', { id: 'p-new', organizationId: 'org-home' })).status).toBe(403);

    // Other roles do not administer at all.
    const nurse = await t.admin.login('nurse@home.org');
    const refused = await as(nurse, 'POST', '/v1/admin/staff', { email: 'x@home.org', password: STAFF_PASSWORD, role: 'admin', organizationId: 'org-home' });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('RPM_ERR_AUTH_FORBIDDEN');
  });

  it('documents the staff and auth routes in OpenAPI', async () => {
    const res = await request(`${t.baseUrl}/docs/json`);
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining(['/v1/auth/login', '/v1/auth/logout', '/v1/auth/me', '/v1/admin/organizations', '/v1/admin/staff', '/v1/admin/care-teams', '/v1/admin/care-teams/{id}/members', '/v1/admin/care-teams/{id}/patients']),
    );
    expect(Object.keys(res.body.components.securitySchemes)).toContain('staffSession');
  });
});
