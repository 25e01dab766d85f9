import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/clock.js';
import { request, STAFF_PASSWORD, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/*
 * Issue 11, item 4: logins were throttled per address only (200 guesses at one account from 20
 * addresses in 7.7 s, none throttled) and a flood of concurrent logins answered 503 to everyone.
 * Now: a progressive per-account delay that never delays the account's own usual address, a
 * notice to the account, and a fair queue for the password hashing.
 */
const WORKSTATION = '198.51.100.50';
const attackers = Array.from({ length: 20 }, (_, i) => `203.0.113.${i + 1}`);

const login = (t: TestGateway, ip: string, body: Record<string, string>) =>
  request(`${t.baseUrl}/v1/auth/login`, { json: body, headers: { 'x-forwarded-for': ip } });

describe('per-account login throttling with a progressive delay and a notice', () => {
  let t: TestGateway;
  let nurseId: string;
  // Time stands still unless a test moves it, so a delay cannot run out while a slow machine works.
  const clock = new ManualClock();

  beforeAll(async () => {
    t = await startTestGateway({ RPM_TRUST_PROXY: 'true' }, { clock });
    await t.admin.createOrganization('org-l');
    nurseId = (await t.admin.createStaff({ email: 'nora@l.example', role: 'nurse', organizationId: 'org-l' })).id;
    // Her usual workstation: she has signed in from it before.
    expect((await login(t, WORKSTATION, { email: 'nora@l.example', password: STAFF_PASSWORD })).status).toBe(200);
  });
  afterAll(async () => t.close());

  it('spends only a handful of guesses out of 200 from 20 addresses; the rest wait without a password check', async () => {
    const answers = [];
    for (let i = 0; i < 200; i++) answers.push(await login(t, attackers[i % 20] as string, { email: 'nora@l.example', password: `guess ${i} long enough` }));
    const checked = answers.filter((a) => a.status === 401).length;
    const delayed = answers.filter((a) => a.status === 429);
    expect(checked).toBe(5);
    expect(delayed).toHaveLength(200 - checked);
    expect(delayed[0]?.body).toMatchObject({ code: 'RPM_ERR_AUTH_LOGIN_DELAYED' });
    expect(Number(delayed[0]?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('answers an unknown email exactly like a real one, so the delay is no oracle', async () => {
    const answers = [];
    for (let i = 0; i < 12; i++) answers.push((await login(t, attackers[i % 3] as string, { email: 'nobody@l.example', password: `guess ${i} long enough` })).status);
    expect(answers.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(answers.slice(5).every((s) => s === 429)).toBe(true);
  });

  it('still lets the nurse in from her usual address, and tells her how many wrong passwords were tried', async () => {
    const mine = await login(t, WORKSTATION, { email: 'nora@l.example', password: STAFF_PASSWORD });
    expect(mine.status).toBe(200);
    expect(mine.body.notice.failedLoginsSinceLastSignIn).toBeGreaterThanOrEqual(5);
    expect(Date.parse(mine.body.notice.lastFailedAt)).toBeGreaterThanOrEqual(Date.parse(mine.body.notice.firstFailedAt));
    // Told once: the next sign-in has nothing to report.
    expect((await login(t, WORKSTATION, { email: 'nora@l.example', password: STAFF_PASSWORD })).body.notice).toBeUndefined();
    // From an address she never used, the account's delay applies to her too: seconds, never a lockout.
    const away = await login(t, '192.0.2.99', { email: 'nora@l.example', password: STAFF_PASSWORD });
    expect(away.status).toBe(429);
    clock.advance(Number(away.headers.get('retry-after')) * 1000);
    expect((await login(t, '192.0.2.99', { email: 'nora@l.example', password: STAFF_PASSWORD })).status).toBe(200);
  });

  it('puts the notice on record for the account, and the delayed tries in one aggregated entry', async () => {
    await t.gw.ctx.credentialGuard.flush(true);
    const entries = (await t.admin.get(`/v1/admin/audit?subject=staff:${nurseId}&limit=1000`)).body.entries as { action: string; details: Record<string, unknown> | null }[];
    expect(entries.filter((e) => e.action === 'auth.login.throttled')).toHaveLength(1);
    expect(entries.find((e) => e.action === 'auth.login' && e.details?.failedSinceLastLogin !== undefined)).toBeDefined();
    const aggregated = ((await t.admin.get('/v1/admin/audit?subject=staff-login&limit=1000')).body.entries as { details: Record<string, unknown> }[]).filter(
      (e) => e.details.on === 'auth.login.delayed',
    );
    // One entry (or two) per attacking address, not one per try.
    expect(aggregated.length).toBeLessThanOrEqual(2 * 20 + 2 * 3 + 2);
  });
});

describe('a flood of concurrent logins', () => {
  let t: TestGateway;

  beforeAll(async () => {
    t = await startTestGateway({ RPM_TRUST_PROXY: 'true' });
    await t.admin.createOrganization('org-f');
    await t.admin.createStaff({ email: 'fay@f.example', role: 'nurse', organizationId: 'org-f' });
    expect((await login(t, WORKSTATION, { email: 'fay@f.example', password: STAFF_PASSWORD })).status).toBe(200);
  });
  afterAll(async () => t.close());

  it('answers no one 503, and serves a real user before the flood has been worked off', async () => {
    let floodDone = 0;
    const flood = Array.from({ length: 200 }, (_, i) =>
      login(t, attackers[i % 20] as string, { email: `spray-${i}@f.example`, password: `guess ${i} long enough` }).then((a) => {
        floodDone++;
        return a.status;
      }),
    );
    // Let the flood fill the queue first.
    while (t.gw.ctx.sessions.queuedChecks < 100) await new Promise((r) => setTimeout(r, 5));
    const nurse = await login(t, WORKSTATION, { email: 'fay@f.example', password: STAFF_PASSWORD });
    const servedBefore = floodDone;
    const statuses = await Promise.all(flood);
    expect(nurse.status).toBe(200);
    expect(servedBefore).toBeLessThan(200);
    expect(statuses.filter((s) => s === 503)).toEqual([]);
    expect(statuses.every((s) => s === 401)).toBe(true);
  });
});
