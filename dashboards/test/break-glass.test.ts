import { Secret, TOTP } from 'otpauth';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeTwilio } from '../../test/helpers/fake-twilio.js';
import { request, STAFF_PASSWORD, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { buildDashboard, launchChromium } from './browser.js';
import { signIn } from './scenario.js';
import { bpHistory, postReadings } from './seed.js';

/**
 * Issue 19 in the browser: a nurse opens a patient outside her care team with emergency access
 * (break-glass): the reason is required, a banner stays while it lasts, her organization's admin
 * gets an SMS and finds it in the review list; and a nurse of an organization that requires MFA
 * enrols an authenticator and then signs in with its code.
 */
describe('Break-glass and MFA in headless Chromium', () => {
  let build: Awaited<ReturnType<typeof buildDashboard>>;
  let t: TestGateway;
  let browser: Browser;
  let twilio: Awaited<ReturnType<typeof fakeTwilio>>;
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];

  async function page(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const p = await context.newPage();
    p.on('pageerror', (err) => problems.push(err.message));
    p.on('console', (msg) => {
      if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(msg.text());
    });
    return p;
  }

  beforeAll(async () => {
    build = await buildDashboard();
    twilio = await fakeTwilio();
    t = await startTestGateway({
      RPM_DASHBOARD_DIR: build.dir,
      RPM_TWILIO_ACCOUNT_SID: 'AC0123456789abcdef0123456789abcdef',
      RPM_TWILIO_AUTH_TOKEN: 'secret-token',
      RPM_TWILIO_FROM: '+15550001111',
      RPM_TWILIO_BASE_URL: twilio.url,
    });
    browser = await launchChromium();
    await t.admin.createOrganization('org-a', 'Clinic A');
    const ann = await t.admin.createStaff({ email: 'ann@a.example', role: 'nurse', organizationId: 'org-a', displayName: 'Ann Example' });
    await t.admin.createStaff({ email: 'boss@a.example', role: 'admin', organizationId: 'org-a', phone: '+15557654321' });
    await t.admin.createPatient('p-north', { organizationId: 'org-a' });
    await t.admin.createPatient('p-south', { organizationId: 'org-a' });
    await t.admin.createCareTeam('north', 'org-a');
    await t.admin.createCareTeam('south', 'org-a');
    await t.admin.addTeamMember('north', ann.id);
    await t.admin.addTeamPatient('north', 'p-north');
    await t.admin.addTeamPatient('south', 'p-south');
    const cuff = await t.admin.createDevice({ id: 'cuff-south', kind: 'bp-cuff', patientId: 'p-south' });
    await postReadings(t, cuff, bpHistory(20, 7));
  }, 120_000);

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await t?.close();
    await twilio?.close();
    build?.dispose();
  });

  it('opens a patient outside her care team only with a reason, shows the banner while it lasts, and tells the admin', async () => {
    const p = await page();
    await signIn(p, t.baseUrl, 'ann@a.example');
    await p.goto(`${t.baseUrl}/#/patients/p-south`);
    await p.getByText('This patient does not exist or is not in your care.').waitFor();
    await p.getByRole('button', { name: 'Emergency access (break glass)' }).click();
    const dialog = p.getByRole('dialog', { name: 'Emergency access to patient p-south' });
    await dialog.waitFor();
    // No reason: the browser keeps the dialog open and nothing is granted.
    await dialog.getByRole('button', { name: 'Open with emergency access' }).click();
    expect(await dialog.isVisible()).toBe(true);
    expect((await request(`${t.baseUrl}/v1/admin/organizations/org-a/break-glass`, { token: await t.admin.login('boss@a.example') })).body.grants).toEqual([]);

    await dialog.getByLabel('Reason').fill('Patient called the ward; south team unreachable');
    await dialog.getByLabel('For').selectOption('30');
    await dialog.getByRole('button', { name: 'Open with emergency access' }).click();
    const banner = p.getByRole('region', { name: 'Emergency access' });
    await banner.waitFor();
    expect(await banner.textContent()).toContain('Emergency access (break-glass)');
    expect(await banner.textContent()).toContain('Patient called the ward; south team unreachable');
    expect(await banner.textContent()).toContain('Every view is recorded in the audit trail');
    // The record itself is open: the readings table has rows.
    await p.locator('.latest table tbody tr').first().waitFor();
    expect(await p.getByText('This patient does not exist or is not in your care.').count()).toBe(0);

    // Raised to the organization's admin: an SMS without PHI, and the review list.
    await expect.poll(() => twilio.messages.length).toBe(1);
    expect(twilio.messages[0]!.get('To')).toBe('+15557654321');
    expect(twilio.messages[0]!.get('Body')).not.toContain('p-south');
    const review = await request(`${t.baseUrl}/v1/admin/organizations/org-a/break-glass`, { token: await t.admin.login('boss@a.example') });
    expect(review.body.grants).toHaveLength(1);
    expect(review.body.grants[0]).toMatchObject({ patientId: 'p-south', reason: 'Patient called the ward; south team unreachable', reviewedAt: null });
    const actions = (await t.admin.get('/v1/admin/audit?subject=patient:p-south&limit=100')).body.entries.map((e: any) => e.action);
    expect(actions).toContain('break-glass.open');
    expect(actions).toContain('break-glass.access');

    // The banner follows her back to the patient after a reload, and she can end it.
    await p.reload();
    await banner.waitFor();
    await banner.getByRole('button', { name: 'End emergency access' }).click();
    await p.getByText('This patient does not exist or is not in your care.').waitFor();
    expect(await banner.count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it('makes a nurse of an organization that requires MFA enrol an authenticator, then asks for its code', async () => {
    await t.admin.createOrganization('org-m', 'Clinic M');
    await t.admin.createStaff({ email: 'mia@m.example', role: 'nurse', organizationId: 'org-m' });
    expect((await request(`${t.baseUrl}/v1/admin/organizations/org-m/access-policy`, { token: 'test-admin-token-0123456789', method: 'PUT', json: { mfaRequired: true } })).status).toBe(200);
    const p = await page();
    await p.goto(`${t.baseUrl}/`);
    await p.getByLabel('Email').fill('mia@m.example');
    await p.getByLabel('Password').fill(STAFF_PASSWORD);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('heading', { level: 1, name: 'Set up two-step sign-in' }).waitFor();
    await p.getByRole('img', { name: 'QR code of the authenticator secret' }).waitFor();
    const secret = (await p.locator('code.secret').textContent()) ?? '';
    const totp = new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30, algorithm: 'SHA1' });
    await p.getByLabel('Code from the app').fill(totp.generate());
    await p.getByRole('button', { name: 'Turn on' }).click();
    await p.getByRole('heading', { level: 1, name: 'Two-step sign-in is on' }).waitFor();
    expect(await p.locator('.recovery-codes li').count()).toBe(10);
    await p.getByRole('button', { name: 'I have saved them: continue' }).click();
    await p.getByRole('heading', { level: 1, name: 'Worklist' }).waitFor();
    await p.getByRole('button', { name: 'Sign out' }).click();

    // Next sign-in: the password, then the code field appears; the step just used cannot be replayed, the next one works.
    await p.getByLabel('Email').fill('mia@m.example');
    await p.getByLabel('Password').fill(STAFF_PASSWORD);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => p.getByRole('alert').first().textContent()).toBe('Enter the code from your authenticator app.');
    await p.getByLabel('Authentication code').fill(totp.generate({ timestamp: Date.now() + 30_000 }));
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('heading', { level: 1, name: 'Worklist' }).waitFor();
    expect(problems).toEqual([]);
  });
});
