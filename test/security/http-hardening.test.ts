import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, request, startTestGateway, tempDir, type TestGateway } from '../helpers/gateway.js';

/*
 * Issue 11, items 8 and 9: cache and sniffing headers on PHI answers, a CSP for /docs, HSTS when
 * the gateway terminates TLS; 414/431 as problem+json; a nurse is refused organization reads and
 * an organization admin is refused operator routes with 403, not 401 "invalid admin token".
 */
describe('HTTP hardening', () => {
  let t: TestGateway;
  let nurse: string;
  let orgAdmin: string;

  beforeAll(async () => {
    t = await startTestGateway();
    await t.admin.createOrganization('org-h');
    await t.admin.createPatient('p-h', { organizationId: 'org-h' });
    await t.admin.createStaff({ email: 'nurse@h.example', role: 'nurse', organizationId: 'org-h' });
    await t.admin.createStaff({ email: 'admin@h.example', role: 'admin', organizationId: 'org-h' });
    nurse = await t.admin.login('nurse@h.example');
    orgAdmin = await t.admin.login('admin@h.example');
  });
  afterAll(async () => t.close());

  it('answers PHI with Cache-Control: no-store and X-Content-Type-Options: nosniff, errors included', async () => {
    for (const [url, token] of [
      ['/v1/patients/p-h/readings', ADMIN_TOKEN],
      ['/v1/patients/p-h/readings', nurse],
      ['/v1/worklist', nurse],
      ['/v1/admin/devices', ADMIN_TOKEN],
      ['/v1/admin/audit', ADMIN_TOKEN],
      ['/v1/patients/nobody/readings', nurse],
    ] as const) {
      const res = await request(`${t.baseUrl}${url}`, { token });
      expect(res.headers.get('cache-control'), url).toBe('no-store');
      expect(res.headers.get('x-content-type-options'), url).toBe('nosniff');
      expect(res.headers.get('strict-transport-security'), url).toBeNull();
    }
  });

  it('serves /docs with a Content-Security-Policy that forbids framing', async () => {
    const res = await fetch(`${t.baseUrl}/docs/`, { redirect: 'follow' });
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('answers an over-long path segment with a 414 problem+json that does not echo the URL', async () => {
    const long = 'p'.repeat(400);
    const res = await request(`${t.baseUrl}/v1/patients/${long}/readings`, { token: nurse });
    expect(res.status).toBe(414);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'RPM_ERR_REQUEST_URI_TOO_LONG', status: 414 });
    expect(JSON.stringify(res.body)).not.toContain(long);
  });

  it('answers headers larger than the parser accepts with a 431 problem+json', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(t.gw.httpPort, '127.0.0.1', () => {
        socket.write(`GET /v1/worklist?${'q'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
      });
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 431 /);
    expect(raw).toMatch(/content-type: application\/problem\+json/i);
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toMatchObject({ code: 'RPM_ERR_REQUEST_HEADERS_TOO_LARGE', status: 431 });
  });

  it('refuses a nurse the organization record with 403, and lets the organization admin read it', async () => {
    const byNurse = await request(`${t.baseUrl}/v1/admin/organizations/org-h`, { token: nurse });
    expect(byNurse.status).toBe(403);
    expect(byNurse.body.code).toBe('RPM_ERR_AUTH_FORBIDDEN');
    expect((await request(`${t.baseUrl}/v1/admin/organizations/org-h`, { token: orgAdmin })).status).toBe(200);
  });

  it('answers an organization admin on operator routes with 403, not 401 "invalid admin token"', async () => {
    for (const url of ['/v1/admin/patients/p-h', '/v1/admin/devices', '/v1/admin/audit']) {
      const res = await request(`${t.baseUrl}${url}`, { token: orgAdmin });
      expect(res.status, url).toBe(403);
      expect(res.body.code, url).toBe('RPM_ERR_AUTH_FORBIDDEN');
    }
    expect((await request(`${t.baseUrl}/v1/admin/devices`, { token: 'not-a-token-of-anyone-at-all' })).status).toBe(401);
  });

  it('sends HSTS on answers to HTTPS requests that a trusted proxy forwarded, never over plain HTTP', async () => {
    const proxied = await startTestGateway({ RPM_TRUST_PROXY: 'true' });
    try {
      const secure = await request(`${proxied.baseUrl}/healthz`, { headers: { 'x-forwarded-proto': 'https' } });
      expect(secure.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
      const plain = await request(`${proxied.baseUrl}/healthz`);
      expect(plain.headers.get('strict-transport-security')).toBeNull();
    } finally {
      await proxied.close();
    }
  });

  it('terminates TLS itself with RPM_HTTP_TLS_CERT/KEY and then sends HSTS', async () => {
    const dir = tempDir('rpm-https-');
    const certFile = path.join(dir, 'cert.pem');
    const keyFile = path.join(dir, 'key.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'],
      { stdio: 'pipe' },
    );
    const secured = await startTestGateway({ RPM_HTTP_TLS_CERT: certFile, RPM_HTTP_TLS_KEY: keyFile, RPM_HSTS_MAX_AGE_S: '600' });
    try {
      const answer = await new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
        https
          .get({ host: '127.0.0.1', port: secured.gw.httpPort, path: '/v1/admin/devices', ca: readFileSync(certFile), headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
          })
          .on('error', reject);
      });
      expect(answer.status).toBe(200);
      expect(answer.headers['strict-transport-security']).toBe('max-age=600; includeSubDomains');
      expect(answer.headers['cache-control']).toBe('no-store');
    } finally {
      await secured.close();
    }
  });
});
