import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, STAFF_PASSWORD, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/*
 * Issue 11, item 9: creating staff with another tenant's email, or a care team with another
 * tenant's id, answered 409 and so confirmed that it existed elsewhere. Emails and team ids are
 * now unique within an organization only.
 */
describe('no cross-tenant oracle in staff and care-team administration', () => {
  let t: TestGateway;
  let adminB: string;

  beforeAll(async () => {
    t = await startTestGateway();
    await t.admin.createOrganization('org-a');
    await t.admin.createOrganization('org-b');
    await t.admin.createStaff({ email: 'shared@example.org', role: 'nurse', organizationId: 'org-a', displayName: 'Ann of A' });
    await t.admin.createCareTeam('nights', 'org-a');
    await t.admin.createStaff({ email: 'admin@b.example', role: 'admin', organizationId: 'org-b' });
    adminB = await t.admin.login('admin@b.example');
  });
  afterAll(async () => t.close());

  const asAdminB = (method: string, path: string, json?: unknown) => request(`${t.baseUrl}${path}`, { token: adminB, method, ...(json === undefined ? {} : { json }) });

  it("lets another organization use an email that exists elsewhere: 201 like any new email, never 409", async () => {
    const shared = await asAdminB('POST', '/v1/admin/staff', { email: 'Shared@Example.org', password: 'b passphrase long enough', role: 'nurse', organizationId: 'org-b' });
    const fresh = await asAdminB('POST', '/v1/admin/staff', { email: 'fresh@example.org', password: 'b passphrase long enough', role: 'nurse', organizationId: 'org-b' });
    expect([shared.status, fresh.status]).toEqual([201, 201]);
    expect(Object.keys(shared.body).sort()).toEqual(Object.keys(fresh.body).sort());
    // Within one organization an email is still unique.
    const again = await asAdminB('POST', '/v1/admin/staff', { email: 'shared@example.org', password: 'b passphrase long enough', role: 'nurse', organizationId: 'org-b' });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('RPM_ERR_STAFF_EXISTS');
  });

  it('logs in to the oldest account of a shared email, or to the organization named', async () => {
    const a = await request(`${t.baseUrl}/v1/auth/login`, { json: { email: 'shared@example.org', password: STAFF_PASSWORD } });
    expect(a.status).toBe(200);
    expect(a.body.staff).toMatchObject({ organizationId: 'org-a', displayName: 'Ann of A' });
    const b = await request(`${t.baseUrl}/v1/auth/login`, { json: { email: 'shared@example.org', password: 'b passphrase long enough', organizationId: 'org-b' } });
    expect(b.status).toBe(200);
    expect(b.body.staff.organizationId).toBe('org-b');
    // The org-b password does not open the org-a account, and naming an organization without
    // such an account is the same 401 as any wrong login.
    expect((await request(`${t.baseUrl}/v1/auth/login`, { json: { email: 'shared@example.org', password: 'b passphrase long enough' } })).status).toBe(401);
    expect((await request(`${t.baseUrl}/v1/auth/login`, { json: { email: 'shared@example.org', password: STAFF_PASSWORD, organizationId: 'org-c' } })).body.code).toBe('RPM_ERR_AUTH_INVALID');
  });

  it('lets another organization create a care team with an id used elsewhere, and keeps the two apart', async () => {
    const created = await asAdminB('POST', '/v1/admin/care-teams', { id: 'nights', organizationId: 'org-b', name: 'B nights' });
    expect(created.status).toBe(201);
    expect((await asAdminB('GET', '/v1/admin/care-teams/nights')).body).toMatchObject({ organizationId: 'org-b', name: 'B nights' });
    expect((await asAdminB('GET', '/v1/admin/care-teams/nights?organizationId=org-a')).status).toBe(404);
    // The operator sees both, and must say which one.
    const ambiguous = await t.admin.get('/v1/admin/care-teams/nights');
    expect(ambiguous.status).toBe(409);
    expect(ambiguous.body).toMatchObject({ code: 'RPM_ERR_CARE_TEAM_AMBIGUOUS', organizations: ['org-a', 'org-b'] });
    expect((await t.admin.get('/v1/admin/care-teams/nights?organizationId=org-a')).body).toMatchObject({ organizationId: 'org-a', name: 'nights' });
  });
});
