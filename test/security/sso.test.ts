import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, request, STAFF_PASSWORD, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/*
 * Issue 19: OpenID Connect single sign-on per organization against a real OpenID provider running
 * here (oidc-provider, its development login and consent pages), driven like a browser: redirects
 * and cookies by hand. Covers the code flow with PKCE, state and nonce (openid-client), the one-time
 * hand-off to the dashboard, password logins refused for an SSO organization, an unverified email,
 * an account of another organization, and an organization that requires a second factor the
 * provider did not report.
 */

class CookieJar {
  private readonly cookies = new Map<string, string>();
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  store(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair = ''] = c.split(';');
      const i = pair.indexOf('=');
      this.cookies.set(pair.slice(0, i).trim(), pair.slice(i + 1));
    }
  }
}

describe('single sign-on through an OpenID Connect provider', () => {
  let t: TestGateway;
  let idp: http.Server;
  let issuer = '';
  const clientSecret = 'a-client-secret-of-the-rpm-gateway-0123456789';

  beforeAll(async () => {
    t = await startTestGateway();
    idp = http.createServer();
    await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', () => resolve()));
    issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
    const provider = new Provider(issuer, {
      clients: [{ client_id: 'rpm-gateway', client_secret: clientSecret, redirect_uris: [`${t.baseUrl}/v1/auth/sso/callback`], grant_types: ['authorization_code'], response_types: ['code'] }],
      claims: { openid: ['sub'], email: ['email', 'email_verified'] },
      // The development login page takes any login: here, the email; "unverified…" logins get an unverified email.
      findAccount: async (_ctx: unknown, id: string) => ({ accountId: id, claims: async () => ({ sub: id, email: id.replace(/^unverified-/, ''), email_verified: !id.startsWith('unverified-') }) }),
      cookies: { keys: ['cookie-signing-key-for-the-test-idp'] },
      ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600 },
    });
    idp.on('request', provider.callback());

    await t.admin.createOrganization('org-a');
    await t.admin.createOrganization('org-b');
    await t.admin.createStaff({ email: 'ann@a.example', role: 'nurse', organizationId: 'org-a' });
    await t.admin.createStaff({ email: 'boss@a.example', role: 'admin', organizationId: 'org-a' });
    await t.admin.createStaff({ email: 'bob@b.example', role: 'nurse', organizationId: 'org-b' });
  });
  afterAll(async () => {
    await t?.close();
    await new Promise<void>((resolve) => idp?.close(() => resolve()));
  });

  /** Signs in at the provider as `login` and answers where the gateway's callback sent the browser. */
  async function signIn(organizationId: string, login: string): Promise<string> {
    const jar = new CookieJar();
    let res = await fetch(`${t.baseUrl}/v1/auth/sso/${organizationId}/start`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    let url = new URL(res.headers.get('location') ?? '');
    expect(url.origin).toBe(issuer);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('state')).toMatch(/.{40,}/);
    expect(url.searchParams.get('nonce')).toMatch(/.{40,}/);
    for (let step = 0; step < 20; step++) {
      if (url.origin === t.baseUrl.replace('localhost', '127.0.0.1') && url.pathname === '/v1/auth/sso/callback') {
        res = await fetch(url, { redirect: 'manual' });
        expect(res.status).toBe(302);
        return res.headers.get('location') ?? '';
      }
      res = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } });
      jar.store(res);
      if (res.status >= 300 && res.status < 400) {
        url = new URL(res.headers.get('location') ?? '', url);
        continue;
      }
      const html = await res.text();
      const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
      if (action === undefined) throw new Error(`no form at ${url.href}: ${res.status} ${html.slice(0, 200)}`);
      const form: Record<string, string> = html.includes('name="login"') ? { prompt: 'login', login, password: 'anything' } : { prompt: 'consent' };
      res = await fetch(new URL(action, url), { method: 'POST', redirect: 'manual', headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
      jar.store(res);
      url = new URL(res.headers.get('location') ?? '', url);
    }
    throw new Error('the sign-in did not come back to the gateway');
  }

  it("lets an organization admin register the provider; the secret is never shown and stays sealed", async () => {
    const boss = await t.admin.login('boss@a.example');
    const put = await request(`${t.baseUrl}/v1/admin/organizations/org-a/sso`, { token: boss, method: 'PUT', json: { issuer, clientId: 'rpm-gateway', clientSecret } });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ sso: { issuer, clientId: 'rpm-gateway' } });
    expect(JSON.stringify((await request(`${t.baseUrl}/v1/admin/organizations/org-a/sso`, { token: boss })).body)).not.toContain(clientSecret);
    // Another tenant's admin cannot see or change it, a nurse cannot either, and an http issuer elsewhere than loopback is refused.
    const bob = await t.admin.login('bob@b.example');
    expect((await request(`${t.baseUrl}/v1/admin/organizations/org-a/sso`, { token: bob })).status).toBe(403);
    const plain = await request(`${t.baseUrl}/v1/admin/organizations/org-b/sso`, { token: ADMIN_TOKEN, method: 'PUT', json: { issuer: 'http://idp.example.org', clientId: 'x', clientSecret: 'y' } });
    expect(plain.status).toBe(400);
  });

  it('signs a nurse in through the provider and hands the session to the dashboard once', async () => {
    const landing = await signIn('org-a', 'ann@a.example');
    const code = /^\/#\/sso\/([A-Za-z0-9_-]+)$/.exec(landing)?.[1];
    expect(code).toBeDefined();
    const exchanged = await request(`${t.baseUrl}/v1/auth/sso/exchange`, { json: { code } });
    expect(exchanged.status).toBe(200);
    expect(exchanged.body.staff.email).toBe('ann@a.example');
    expect((await request(`${t.baseUrl}/v1/worklist`, { token: exchanged.body.token })).status).toBe(200);
    // The hand-off code works once.
    expect((await request(`${t.baseUrl}/v1/auth/sso/exchange`, { json: { code } })).body.code).toBe('RPM_ERR_SSO_FAILED');
    // Password logins of an SSO organization are refused, once the password is right.
    const password = await request(`${t.baseUrl}/v1/auth/login`, { json: { email: 'ann@a.example', password: STAFF_PASSWORD } });
    expect([password.status, password.body.code]).toEqual([403, 'RPM_ERR_AUTH_SSO_REQUIRED']);
    const audit = (await t.admin.get('/v1/admin/audit?limit=50')).body.entries;
    expect(audit.some((e: any) => e.action === 'auth.login' && e.outcome === 'success' && e.details?.method === 'sso' && e.details?.issuer === issuer)).toBe(true);
  });

  it('refuses an unverified email, an account of another organization, an unknown state, and a missing second factor the organization requires', async () => {
    expect(await signIn('org-a', 'unverified-ann@a.example')).toBe('/#/sso-failed/RPM_ERR_SSO_FAILED');
    expect(await signIn('org-a', 'bob@b.example')).toBe('/#/sso-failed/RPM_ERR_SSO_FAILED');
    const forged = await fetch(`${t.baseUrl}/v1/auth/sso/callback?code=abc&state=not-ours`, { redirect: 'manual' });
    expect(forged.headers.get('location')).toBe('/#/sso-failed/RPM_ERR_SSO_FAILED');
    expect((await fetch(`${t.baseUrl}/v1/auth/sso/org-b/start`, { redirect: 'manual' })).status).toBe(404);

    expect((await request(`${t.baseUrl}/v1/admin/organizations/org-a/access-policy`, { token: ADMIN_TOKEN, method: 'PUT', json: { mfaRequired: true } })).status).toBe(200);
    // The development provider reports no `amr`: with MFA required, its sign-ins are refused.
    expect(await signIn('org-a', 'ann@a.example')).toBe('/#/sso-failed/RPM_ERR_AUTH_MFA_REQUIRED');
    const denied = (await t.admin.get('/v1/admin/audit?limit=50')).body.entries.filter((e: any) => e.action === 'auth.login' && e.outcome === 'denied' && e.details?.method === 'sso');
    expect(denied.map((e: any) => e.details.reason)).toContain('no-second-factor');
  });
});
