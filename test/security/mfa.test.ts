import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/clock.js';
import { ADMIN_TOKEN, request, STAFF_PASSWORD, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/*
 * Issue 19: staff second factor (TOTP, RFC 6238) with recovery codes, the organization's
 * "MFA required" policy, and every session of an account ending on a password change, a reset or
 * disabling. The gateway runs on a fixed clock; codes are made from the same instant.
 */
describe('staff MFA (TOTP on a fixed clock), recovery codes, and session revocation', () => {
  const START = Date.parse('2026-03-02T08:00:00.000Z');
  const clock = new ManualClock(START);
  let t: TestGateway;
  let secret = '';
  let recovery: string[] = [];
  const url = (p: string) => `${t.baseUrl}${p}`;
  const code = (at = clock.now(), base32 = secret) => new TOTP({ secret: Secret.fromBase32(base32), digits: 6, period: 30, algorithm: 'SHA1' }).generate({ timestamp: at });
  // Each login from its own address (RPM_TRUST_PROXY): the per-address login limit counts real minutes, not the test's clock.
  let address = 0;
  const login = (email: string, extra: Record<string, unknown> = {}, password = STAFF_PASSWORD) =>
    request(url('/v1/auth/login'), { json: { email, password, ...extra }, headers: { 'x-forwarded-for': `198.51.100.${++address}` } });

  beforeAll(async () => {
    t = await startTestGateway({ RPM_AUTH_FAILURES_PER_MIN: '1000', RPM_TRUST_PROXY: 'true' }, { clock });
    await t.admin.createOrganization('org-a');
    await t.admin.createOrganization('org-b');
    await t.admin.createStaff({ email: 'ann@a.example', role: 'nurse', organizationId: 'org-a' });
    await t.admin.createStaff({ email: 'bea@a.example', role: 'nurse', organizationId: 'org-a' });
    await t.admin.createStaff({ email: 'boss@a.example', role: 'admin', organizationId: 'org-a' });
    await t.admin.createStaff({ email: 'cal@b.example', role: 'nurse', organizationId: 'org-b' });
  });
  afterAll(async () => t.close());

  it('enrols an authenticator: otpauth URI and QR code, pending until a right code activates it, secret sealed at rest', async () => {
    const token = await t.admin.login('ann@a.example');
    const started = await request(url('/v1/auth/mfa/totp'), { token, method: 'POST', json: {} });
    expect(started.status).toBe(201);
    secret = started.body.secret;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(started.body.otpauthUri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/RPM gateway:ann@a.example');
    expect(Object.fromEntries(uri.searchParams)).toMatchObject({ secret, issuer: 'RPM gateway', algorithm: 'SHA1', digits: '6', period: '30' });
    expect(started.body.qrSvg).toMatch(/<svg[^>]*viewBox/);

    // Still pending: logins need no code yet.
    expect((await login('ann@a.example')).status).toBe(200);
    const wrong = await request(url('/v1/auth/mfa/totp/activate'), { token, json: { otp: code(START + 10 * 60_000) } });
    expect([wrong.status, wrong.body.code]).toEqual([401, 'RPM_ERR_AUTH_MFA_INVALID']);
    const activated = await request(url('/v1/auth/mfa/totp/activate'), { token, json: { otp: code() } });
    expect(activated.status).toBe(200);
    recovery = activated.body.recoveryCodes;
    expect(recovery).toHaveLength(10);
    expect(new Set(recovery).size).toBe(10);
    for (const c of recovery) expect(c).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);
    const me = await request(url('/v1/auth/me'), { token });
    expect(me.body.mfa).toEqual({ enabled: true, pending: false, recoveryCodesLeft: 10 });

    // Neither the TOTP secret nor a recovery code is in the database file in clear.
    const raw = readFileSync(path.join(t.dataDir, 'rpm.sqlite'));
    expect(raw.includes(Buffer.from(secret))).toBe(false);
    for (const c of recovery) expect(raw.includes(Buffer.from(c.replaceAll('-', '')))).toBe(false);
  });

  it('then asks every login for the code: missing, wrong, replayed and stale codes are refused', async () => {
    const missing = await login('ann@a.example');
    expect([missing.status, missing.body.code]).toEqual([401, 'RPM_ERR_AUTH_MFA_REQUIRED']);
    // A wrong password is still the plain 401, whatever the code: the factor is asked only after the password.
    expect((await login('ann@a.example', { otp: '000000' }, 'wrong password here')).body.code).toBe('RPM_ERR_AUTH_INVALID');

    clock.advance(30_000);
    const ok = await login('ann@a.example', { otp: code() });
    expect(ok.status).toBe(200);
    expect(ok.body.token).toMatch(/.+/);
    // The same code (the same 30 s step) does not open a second session.
    const replay = await login('ann@a.example', { otp: code() });
    expect([replay.status, replay.body.code]).toEqual([401, 'RPM_ERR_AUTH_MFA_INVALID']);
    // A code from two steps ago is outside the ±1 step window; the next step's code works.
    expect((await login('ann@a.example', { otp: code(clock.now() - 60_000) })).body.code).toBe('RPM_ERR_AUTH_MFA_INVALID');
    clock.advance(30_000);
    expect((await login('ann@a.example', { otp: code() })).status).toBe(200);
    // The phone a step behind (clock drift) is accepted once.
    clock.advance(60_000);
    expect((await login('ann@a.example', { otp: code(clock.now() - 30_000) })).status).toBe(200);

    const audit = await t.admin.get('/v1/admin/audit?limit=50');
    const logins = audit.body.entries.filter((e: any) => e.action === 'auth.login');
    expect(logins.some((e: any) => e.outcome === 'denied' && e.details?.reason === 'mfa-invalid')).toBe(true);
    expect(logins.some((e: any) => e.outcome === 'success' && e.details?.secondFactor === 'totp')).toBe(true);
  });

  it('lets each recovery code sign in once', async () => {
    const first = await login('ann@a.example', { recoveryCode: recovery[0]!.toUpperCase() });
    expect(first.status).toBe(200);
    const again = await login('ann@a.example', { recoveryCode: recovery[0] });
    expect([again.status, again.body.code]).toEqual([401, 'RPM_ERR_AUTH_MFA_INVALID']);
    const me = await request(url('/v1/auth/me'), { token: first.body.token });
    expect(me.body.mfa.recoveryCodesLeft).toBe(9);
    // Someone else's codes do not open this account, and this account's do not open another.
    await t.admin.createStaff({ email: 'dan@a.example', role: 'nurse', organizationId: 'org-a' });
    expect((await login('dan@a.example', { recoveryCode: recovery[1] })).status).toBe(200); // no factor: the code is ignored
  });

  it("enforces the organization's policy: without a factor a session may only enrol one", async () => {
    const boss = await t.admin.login('boss@a.example');
    const bea = await t.admin.login('bea@a.example');
    expect((await request(url('/v1/worklist'), { token: bea })).status).toBe(200);
    // Another tenant's policy is not hers to read or set (404, as for everything of another tenant).
    expect((await request(url('/v1/admin/organizations/org-b/access-policy'), { token: boss })).status).toBe(404);
    const set = await request(url('/v1/admin/organizations/org-a/access-policy'), { token: boss, method: 'PUT', json: { mfaRequired: true } });
    expect(set.body).toEqual({ organizationId: 'org-a', mfaRequired: true });
    // The organization admin herself has no factor yet: her own session is held to enrolment too.
    expect((await request(url('/v1/admin/organizations/org-a/access-policy'), { token: boss })).body.code).toBe('RPM_ERR_AUTH_MFA_ENROLLMENT_REQUIRED');

    // Bea's open session is held at its next request.
    const held = await request(url('/v1/worklist'), { token: bea });
    expect([held.status, held.body.code]).toEqual([403, 'RPM_ERR_AUTH_MFA_ENROLLMENT_REQUIRED']);
    const fresh = await login('bea@a.example');
    expect(fresh.body.mfaEnrollmentRequired).toBe(true);
    const me = await request(url('/v1/auth/me'), { token: fresh.body.token });
    expect(me.body.mfaEnrollmentRequired).toBe(true);
    const started = await request(url('/v1/auth/mfa/totp'), { token: fresh.body.token, method: 'POST', json: {} });
    expect(started.status).toBe(201);
    const activated = await request(url('/v1/auth/mfa/totp/activate'), { token: fresh.body.token, json: { otp: code(clock.now(), started.body.secret) } });
    expect(activated.status).toBe(200);
    expect((await request(url('/v1/worklist'), { token: fresh.body.token })).status).toBe(200);
    // She cannot remove the factor while the organization requires it.
    clock.advance(30_000);
    const remove = await request(url('/v1/auth/mfa/disable'), { token: fresh.body.token, json: { otp: code(clock.now(), started.body.secret) } });
    expect([remove.status, remove.body.code]).toEqual([409, 'RPM_ERR_MFA_REQUIRED_BY_ORGANIZATION']);
    // Another organization is not affected.
    expect((await login('cal@b.example')).body.mfaEnrollmentRequired).toBe(false);
    const off = await request(url('/v1/admin/organizations/org-a/access-policy'), { token: ADMIN_TOKEN, method: 'PUT', json: { mfaRequired: false } });
    expect(off.status).toBe(200);
  });

  it('ends every session of an account when its password changes, is reset, its factor is reset, or it is disabled', async () => {
    clock.advance(30_000);
    const s1 = (await login('cal@b.example')).body.token;
    const s2 = (await login('cal@b.example')).body.token;
    const wrongCurrent = await request(url('/v1/auth/password'), { token: s1, json: { currentPassword: 'not my password', newPassword: 'a brand new passphrase' } });
    expect([wrongCurrent.status, wrongCurrent.body.code]).toEqual([401, 'RPM_ERR_AUTH_INVALID']);
    expect((await request(url('/v1/auth/me'), { token: s2 })).status).toBe(200);
    const changed = await request(url('/v1/auth/password'), { token: s1, json: { currentPassword: STAFF_PASSWORD, newPassword: 'a brand new passphrase' } });
    expect(changed.status).toBe(204);
    for (const s of [s1, s2]) expect((await request(url('/v1/auth/me'), { token: s })).status).toBe(401);
    expect((await login('cal@b.example')).status).toBe(401);
    const s3 = (await login('cal@b.example', {}, 'a brand new passphrase')).body.token;
    expect((await request(url('/v1/auth/me'), { token: s3 })).status).toBe(200);

    // An administrator's reset of the password ends them too.
    const cal = (await request(url('/v1/auth/me'), { token: s3 })).body.staff.id;
    const reset = await request(url(`/v1/admin/staff/${cal}/password`), { token: ADMIN_TOKEN, json: { password: 'set by the admin desk' } });
    expect(reset.status).toBe(200);
    expect((await request(url('/v1/auth/me'), { token: s3 })).status).toBe(401);
    const s4 = (await login('cal@b.example', {}, 'set by the admin desk')).body.token;

    // Disabling ends them.
    expect((await t.admin.post(`/v1/admin/staff/${cal}/disable`)).status).toBe(200);
    expect((await request(url('/v1/auth/me'), { token: s4 })).status).toBe(401);
    await t.admin.post(`/v1/admin/staff/${cal}/enable`);

    // A lost phone: the admin removes Ann's factor; her sessions end; she signs in with the password alone.
    clock.advance(30_000);
    const annSession = (await login('ann@a.example', { otp: code() })).body.token;
    const ann = (await request(url('/v1/auth/me'), { token: annSession })).body.staff.id;
    const boss = await t.admin.login('boss@a.example');
    const mfaReset = await request(url(`/v1/admin/staff/${ann}/mfa/reset`), { token: boss, json: {} });
    expect(mfaReset.body).toEqual({ staffId: ann, removed: true });
    expect((await request(url('/v1/auth/me'), { token: annSession })).status).toBe(401);
    expect((await login('ann@a.example')).status).toBe(200);
    // ... and an admin of another organization cannot reach her (404).
    await t.admin.createStaff({ email: 'boss@b.example', role: 'admin', organizationId: 'org-b' });
    expect((await request(url(`/v1/admin/staff/${ann}/mfa/reset`), { token: await t.admin.login('boss@b.example'), json: {} })).status).toBe(404);

    const actions = (await t.admin.get('/v1/admin/audit?limit=100')).body.entries.map((e: any) => e.action);
    for (const a of ['auth.password.change', 'staff.password.reset', 'staff.mfa.reset', 'auth.mfa.enable']) expect(actions).toContain(a);
  });
});
