import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/clock.js';
import { fakeTwilio } from '../helpers/fake-twilio.js';
import { request, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/*
 * Issue 19: break-glass (HIPAA §164.312(a)(2)(ii)) through the API on a fixed clock: a reason is
 * required, the grant ends on time, it never crosses a tenant, every use is audited, and the
 * organization's admins are told (an SMS through the notifier, no PHI in it, and their review list).
 */
describe('break-glass: emergency access to a patient outside the care team', () => {
  const clock = new ManualClock(Date.parse('2026-05-04T22:00:00.000Z'));
  let t: TestGateway;
  let twilio: Awaited<ReturnType<typeof fakeTwilio>>;
  let ann = '';
  let annId = '';
  let grantId = '';
  const url = (p: string) => `${t.baseUrl}${p}`;

  beforeAll(async () => {
    twilio = await fakeTwilio();
    t = await startTestGateway(
      { RPM_SESSION_IDLE_MINUTES: '600', RPM_TWILIO_ACCOUNT_SID: 'AC0123456789abcdef0123456789abcdef', RPM_TWILIO_AUTH_TOKEN: 'secret-token', RPM_TWILIO_FROM: '+15550001111', RPM_TWILIO_BASE_URL: twilio.url },
      { clock },
    );
    await t.admin.createOrganization('org-a');
    await t.admin.createOrganization('org-b');
    annId = (await t.admin.createStaff({ email: 'ann@a.example', role: 'nurse', organizationId: 'org-a' })).id;
    await t.admin.createStaff({ email: 'boss@a.example', role: 'admin', organizationId: 'org-a', phone: '+15557654321' });
    await t.admin.createStaff({ email: 'quiet@a.example', role: 'admin', organizationId: 'org-a' });
    await t.admin.createStaff({ email: 'boss@b.example', role: 'admin', organizationId: 'org-b', phone: '+15550009999' });
    for (const [p, org] of [['p-north', 'org-a'], ['p-south', 'org-a'], ['p-b', 'org-b']] as const) await t.admin.createPatient(p, { organizationId: org });
    await t.admin.createCareTeam('north', 'org-a');
    await t.admin.createCareTeam('south', 'org-a');
    await t.admin.addTeamMember('north', annId);
    await t.admin.addTeamPatient('north', 'p-north');
    await t.admin.addTeamPatient('south', 'p-south');
    ann = await t.admin.login('ann@a.example');
  });
  afterAll(async () => {
    await t?.close();
    await twilio?.close();
  });

  it('keeps a patient outside her care team hidden until she opens it with a reason', async () => {
    expect((await request(url('/v1/patients/p-south/readings'), { token: ann })).status).toBe(404);
    const noReason = await request(url('/v1/patients/p-south/break-glass'), { token: ann, json: {} });
    expect(noReason.status).toBe(400);
    const tooShort = await request(url('/v1/patients/p-south/break-glass'), { token: ann, json: { reason: 'need' } });
    expect(tooShort.status).toBe(400);
    // Another tenant's patient and one that does not exist answer alike; an in-scope one needs no break-glass.
    const other = await request(url('/v1/patients/p-b/break-glass'), { token: ann, json: { reason: 'covering the night shift for a colleague' } });
    const none = await request(url('/v1/patients/p-none/break-glass'), { token: ann, json: { reason: 'covering the night shift for a colleague' } });
    expect([other.status, other.body.code]).toEqual([404, 'RPM_ERR_PATIENT_NOT_FOUND']);
    expect([none.status, none.body.code]).toEqual([404, 'RPM_ERR_PATIENT_NOT_FOUND']);
    expect((await request(url('/v1/patients/p-north/break-glass'), { token: ann, json: { reason: 'covering the night shift for a colleague' } })).body.code).toBe('RPM_ERR_BREAK_GLASS_NOT_NEEDED');
    // Administrators see their organization already.
    expect((await request(url('/v1/patients/p-south/break-glass'), { token: await t.admin.login('boss@a.example'), json: { reason: 'covering the night shift for a colleague' } })).status).toBe(403);

    const opened = await request(url('/v1/patients/p-south/break-glass'), { token: ann, json: { reason: 'Patient called the ward, south team unreachable', minutes: 30 } });
    expect(opened.status).toBe(201);
    grantId = opened.body.id;
    expect(opened.body).toMatchObject({ staffId: annId, organizationId: 'org-a', patientId: 'p-south', reason: 'Patient called the ward, south team unreachable', expiresAt: '2026-05-04T22:30:00.000Z', endedAt: null, reviewedAt: null });
    expect((await request(url('/v1/patients/p-south/readings'), { token: ann })).status).toBe(200);
    expect((await request(url('/v1/patients/p-south/care-plan'), { token: ann })).status).toBe(200);
    const me = await request(url('/v1/auth/me'), { token: ann });
    expect(me.body.breakGlass).toEqual([{ id: grantId, patientId: 'p-south', reason: 'Patient called the ward, south team unreachable', grantedAt: '2026-05-04T22:00:00.000Z', expiresAt: '2026-05-04T22:30:00.000Z' }]);
    // Still never another tenant's.
    expect((await request(url('/v1/patients/p-b/readings'), { token: ann })).status).toBe(404);
  });

  it('raises it to the organization: an SMS to each admin with a phone (no patient in it), the review list, the audit trail', async () => {
    expect(twilio.messages.map((m) => m.get('To'))).toEqual(['+15557654321']);
    const body = twilio.messages[0]!.get('Body') ?? '';
    expect(body).toContain('break-glass');
    expect(body).not.toContain('p-south');
    const boss = await t.admin.login('boss@a.example');
    const list = await request(url('/v1/admin/organizations/org-a/break-glass?unreviewed=true'), { token: boss });
    expect(list.body.grants.map((g: any) => [g.id, g.staffId, g.patientId, g.reason])).toEqual([[grantId, annId, 'p-south', 'Patient called the ward, south team unreachable']]);
    expect((await request(url('/v1/admin/organizations/org-a/break-glass'), { token: await t.admin.login('boss@b.example') })).status).toBe(404);
    const reviewed = await request(url(`/v1/admin/organizations/org-a/break-glass/${grantId}/review`), { token: boss, json: {} });
    expect(reviewed.body.reviewedAt).toBe('2026-05-04T22:00:00.000Z');
    expect((await request(url('/v1/admin/organizations/org-a/break-glass?unreviewed=true'), { token: boss })).body.grants).toEqual([]);

    const audit = (await t.admin.get('/v1/admin/audit?subject=patient:p-south&limit=50')).body.entries as any[];
    const actions = audit.map((e) => e.action);
    expect(actions).toContain('break-glass.open');
    expect(actions).toContain('break-glass.access');
    expect(actions).toContain('break-glass.review');
    expect(audit.find((e) => e.action === 'break-glass.open')).toMatchObject({ actor: `staff:${annId}`, details: { grantId, minutes: 30 } });
    expect(audit.filter((e) => e.action === 'break-glass.access').every((e) => e.actor === `staff:${annId}` && e.details.grantId === grantId)).toBe(true);
    const raised = (await t.admin.get('/v1/admin/audit?limit=100')).body.entries.find((e: any) => e.action === 'break-glass.raised');
    expect(raised).toMatchObject({ subject: 'organization:org-a', details: { grantId, admins: 2, smsSent: 1 } });
  });

  it('ends on time, or earlier when she ends it', async () => {
    clock.advance(29 * 60_000);
    expect((await request(url('/v1/patients/p-south/readings'), { token: ann })).status).toBe(200);
    clock.advance(60_000);
    expect((await request(url('/v1/patients/p-south/readings'), { token: ann })).status).toBe(404);
    expect((await request(url('/v1/auth/me'), { token: ann })).body.breakGlass).toEqual([]);

    const again = await request(url('/v1/patients/p-south/break-glass'), { token: ann, json: { reason: 'Second call from the patient, south still away' } });
    expect(again.body.expiresAt).toBe(new Date(clock.now() + 60 * 60_000).toISOString()); // the default hour
    const capped = await request(url('/v1/patients/p-south/break-glass'), { token: ann, json: { reason: 'asking for a whole day of access', minutes: 1440 } });
    expect(capped.body.expiresAt).toBe(new Date(clock.now() + 240 * 60_000).toISOString()); // RPM_BREAK_GLASS_MAX_MINUTES
    for (const id of [again.body.id, capped.body.id]) expect((await request(url(`/v1/break-glass/${id}/end`), { token: ann, json: {} })).status).toBe(200);
    expect((await request(url('/v1/patients/p-south/readings'), { token: ann })).status).toBe(404);
    expect((await request(url(`/v1/break-glass/${again.body.id}/end`), { token: ann, json: {} })).status).toBe(404);
  });
});
