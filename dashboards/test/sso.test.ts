import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { buildDashboard, launchChromium } from './browser.js';

/**
 * Issue 19: single sign-on in the browser. A nurse of an organization with an OpenID provider
 * (oidc-provider here, its development login and consent pages) signs in through it from the
 * dashboard's sign-in page and lands on her worklist; the hand-off code never stays in the
 * address bar. An organization without SSO gets a sentence.
 */
describe('Single sign-on in headless Chromium', () => {
  let build: Awaited<ReturnType<typeof buildDashboard>>;
  let t: TestGateway;
  let browser: Browser;
  let idp: http.Server;
  const problems: string[] = [];

  beforeAll(async () => {
    build = await buildDashboard();
    t = await startTestGateway({ RPM_DASHBOARD_DIR: build.dir });
    idp = http.createServer();
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', () => resolve()));
    const issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
    const provider = new Provider(issuer, {
      clients: [{ client_id: 'rpm-gateway', client_secret: 'browser-test-client-secret-0123456789', redirect_uris: [`${t.baseUrl}/v1/auth/sso/callback`], grant_types: ['authorization_code'], response_types: ['code'] }],
      claims: { openid: ['sub'], email: ['email', 'email_verified'] },
      findAccount: async (_ctx: unknown, id: string) => ({ accountId: id, claims: async () => ({ sub: id, email: id, email_verified: true }) }),
      cookies: { keys: ['cookie-signing-key-for-the-test-idp'] },
      ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600 },
    });
    idp.on('request', provider.callback());
    await t.admin.createOrganization('org-a', 'Clinic A');
    await t.admin.createOrganization('org-p', 'Clinic P');
    await t.admin.createStaff({ email: 'ann@a.example', role: 'nurse', organizationId: 'org-a', displayName: 'Ann Example' });
    const put = await request(`${t.baseUrl}/v1/admin/organizations/org-a/sso`, { token: ADMIN_TOKEN, method: 'PUT', json: { issuer, clientId: 'rpm-gateway', clientSecret: 'browser-test-client-secret-0123456789' } });
    expect(put.status).toBe(200);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await new Promise<void>((resolve) => idp?.close(() => resolve()));
    build?.dispose();
  });

  it("signs a nurse in through her organization's identity provider", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('pageerror', (err) => problems.push(err.message));
    await page.goto(`${t.baseUrl}/`);
    // An organization without single sign-on: a sentence, and she stays here.
    await page.getByLabel('Organization id').fill('org-p');
    await page.getByRole('button', { name: 'Continue with single sign-on' }).click();
    await expect.poll(() => page.locator('#sso-error').textContent()).toContain('does not use single sign-on');

    await page.getByLabel('Organization id').fill('org-a');
    await page.getByRole('button', { name: 'Continue with single sign-on' }).click();
    // The provider's own pages.
    await page.locator('input[name="login"]').waitFor();
    expect(new URL(page.url()).origin).not.toBe(t.baseUrl);
    await page.locator('input[name="login"]').fill('ann@a.example');
    await page.locator('input[name="password"]').fill('her password at the provider');
    await page.locator('button[type="submit"]').click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('heading', { level: 1, name: 'Worklist' }).waitFor();
    expect(page.url()).toBe(`${t.baseUrl}/#/worklist`);
    // Only the session token is kept, and the hand-off code is not in the history.
    expect(await page.evaluate(() => sessionStorage.length)).toBe(1);
    await page.goBack().catch(() => undefined);
    expect(page.url()).not.toMatch(/#\/sso\//);
    expect(problems).toEqual([]);
    await context.close();
  });
});
