import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, tempDir, type TestGateway } from '../../test/helpers/gateway.js';
import { dashboardDir } from './dashboard-routes.js';

describe('The dashboard at / (static files of the build)', () => {
  let t: TestGateway;
  let bare: TestGateway;

  beforeAll(async () => {
    const dir = tempDir('rpm-dash-');
    mkdirSync(path.join(dir, 'assets'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>t</title><div id="app"></div>');
    writeFileSync(path.join(dir, 'assets', 'index-Ab12.js'), 'console.log(1)');
    t = await startTestGateway({ RPM_DASHBOARD_DIR: dir });
    bare = await startTestGateway({ RPM_DASHBOARD_DIR: tempDir('rpm-dash-empty-') });
  });
  afterAll(async () => {
    await t.close();
    await bare.close();
  });

  it('serves index.html at / with a strict Content-Security-Policy, revalidated on every load', async () => {
    const res = await fetch(`${t.baseUrl}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('<div id="app">');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-cache');
  });

  it('serves hashed assets as immutable', async () => {
    const res = await fetch(`${t.baseUrl}/assets/index-Ab12.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });

  it('leaves every other path to the API: problem+json 404, and API routes still authenticate', async () => {
    const missing = await fetch(`${t.baseUrl}/nope.html`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await fetch(`${t.baseUrl}/v1/worklist`).then((r) => r.status)).toBe(401);
    expect(await fetch(`${t.baseUrl}/healthz`).then((r) => r.status)).toBe(200);
  });

  it('says how to build it when the build is missing', async () => {
    const res = await fetch(`${bare.baseUrl}/`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('npm run build');
  });

  it('defaults to dist/dashboard of the package', () => {
    const repo = fileURLToPath(new URL('../..', import.meta.url));
    expect(dashboardDir(undefined)).toBe(path.join(repo, 'dist', 'dashboard'));
  });
});
