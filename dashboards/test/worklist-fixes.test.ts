import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { seriousViolations } from './axe.js';
import { buildDashboard, launchChromium } from './browser.js';
import { signIn } from './scenario.js';

/**
 * The nurses' worklist fixes in Chromium: the snapshot first and polling when a buffering proxy
 * holds the live stream back (and saying so), critical alerts signalled outside the tab (title
 * count, desktop notification, sound: each her setting), acknowledging low-priority alerts
 * together, keyboard shortcuts with their help.
 */
describe('Worklist fixes in headless Chromium', () => {
  let build: Awaited<ReturnType<typeof buildDashboard>>;
  let t: TestGateway;
  let browser: Browser;
  let proxy: http.Server;
  let proxyUrl: string;
  let device: string;
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];
  const held: http.ServerResponse[] = [];

  const post = (readings: unknown[]) => request(`${t.baseUrl}/v1/readings`, { token: device, json: { readings } });
  const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

  async function open(baseUrl: string, email: string, init?: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    contexts.push(context);
    const page = await context.newPage();
    if (init !== undefined) await page.addInitScript(init);
    page.on('pageerror', (err) => problems.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(msg.text());
    });
    await signIn(page, baseUrl, email);
    return page;
  }

  beforeAll(async () => {
    build = await buildDashboard();
    t = await startTestGateway({ RPM_DASHBOARD_DIR: build.dir });
    browser = await launchChromium();
    await t.admin.createOrganization('org-a', 'Clinic A');
    await t.admin.createStaff({ email: 'ann@a.example', role: 'nurse', organizationId: 'org-a', displayName: 'Ann' });
    await t.admin.createStaff({ email: 'amy@a.example', role: 'nurse', organizationId: 'org-a', displayName: 'Amy' });
    for (const p of ['pt-1', 'pt-2', 'pt-3', 'pt-4']) await t.admin.createPatient(p, { organizationId: 'org-a' });
    // One multi-parameter device per patient would do; a hub relays for all four to keep it short.
    device = await t.admin.createDevice({ id: 'hub-1', kind: 'hub' });
    for (const p of ['pt-1', 'pt-2', 'pt-3', 'pt-4']) await t.admin.createDevice({ id: `mp-${p}`, kind: 'multi-parameter', patientId: p, hubId: 'hub-1' });
    // pt-1 and pt-2: heart rate 115 /min (medium); pt-3: glucose 50 mg/dL (critical).
    await post([
      { kind: 'heart-rate', value: 115, unit: '/min', deviceId: 'mp-pt-1', measuredAt: minutesAgo(20) },
      { kind: 'heart-rate', value: 116, unit: '/min', deviceId: 'mp-pt-2', measuredAt: minutesAgo(19) },
      { kind: 'blood-glucose', value: 50, unit: 'mg/dL', deviceId: 'mp-pt-3', measuredAt: minutesAgo(18) },
    ]);
    await t.gw.ctx.alerting!.drain();
    // A proxy that buffers the event stream (it never passes a byte of it on) and passes the rest.
    const target = new URL(t.baseUrl);
    proxy = http.createServer((req, res) => {
      if ((req.url ?? '').startsWith('/v1/worklist/stream')) {
        held.push(res);
        return;
      }
      const upstream = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    for (const r of held) r.destroy();
    await new Promise<void>((resolve) => (proxy === undefined ? resolve() : proxy.close(() => resolve())));
    await t?.close();
    build?.dispose();
  });

  it('behind a proxy that buffers the stream: rows from the snapshot at once, polling said plainly, new alerts still arrive', async () => {
    const page = await open(proxyUrl, 'amy@a.example');
    await expect.poll(() => page.locator('table.worklist tbody tr').count(), { timeout: 10_000 }).toBe(3);
    await expect.poll(() => page.locator('.conn').innerText(), { timeout: 15_000 }).toMatch(/Live updates are blocked on this network.*refreshes every 10 seconds/);
    await post([{ kind: 'heart-rate', value: 118, unit: '/min', deviceId: 'mp-pt-4', measuredAt: minutesAgo(1) }]);
    await t.gw.ctx.alerting!.drain();
    await expect.poll(() => page.locator('table.worklist tbody tr[data-row="pt-4"]').count(), { timeout: 20_000 }).toBe(1);
  });

  it('signals critical alerts outside the tab as she chose: title count, desktop notification, sound', async () => {
    const spy = `
      window.__signals = [];
      const Real = window.Notification;
      class Spy { constructor(title, options) { window.__signals.push('notification:' + title + ' | ' + (options && options.body)); } static get permission() { return 'granted'; } static requestPermission() { return Promise.resolve('granted'); } }
      window.Notification = Spy;
      const make = AudioContext.prototype.createOscillator;
      AudioContext.prototype.createOscillator = function () { window.__signals.push('tone'); return make.call(this); };
    `;
    const page = await open(t.baseUrl, 'ann@a.example', spy);
    await expect.poll(() => page.title(), { timeout: 10_000 }).toBe('(1) Worklist · RPM nurse dashboard');
    await page.getByRole('button', { name: 'Alert signals' }).click();
    await page.getByLabel('Desktop notification').check();
    await page.getByLabel('Sound').check();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('dialog[open]').waitFor({ state: 'detached' });
    const token = await page.evaluate(() => sessionStorage.getItem('rpm.session') ?? '');
    expect((await request(`${t.baseUrl}/v1/me/alert-settings`, { token })).body).toEqual({ titleBadge: true, desktopNotifications: true, sound: true });
    // A new critical alert while the tab is open.
    await post([{ kind: 'blood-glucose', value: 48, unit: 'mg/dL', deviceId: 'mp-pt-4', measuredAt: minutesAgo(1) }]);
    await t.gw.ctx.alerting!.drain();
    await expect.poll(() => page.title(), { timeout: 10_000 }).toBe('(2) Worklist · RPM nurse dashboard');
    await expect.poll(() => page.evaluate(() => (window as unknown as { __signals: string[] }).__signals), { timeout: 10_000 }).toEqual(
      expect.arrayContaining([expect.stringMatching(/^notification:New critical alert \| .*patient pt-4$/), 'tone']),
    );
    // Turned off, the title says nothing.
    await page.getByRole('button', { name: 'Alert signals' }).click();
    await page.getByLabel('Count in the tab title').uncheck();
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.title(), { timeout: 10_000 }).toBe('Worklist · RPM nurse dashboard');
  });

  it('acknowledges low-priority alerts together; high and critical rows offer no checkbox', async () => {
    const page = await open(t.baseUrl, 'ann@a.example');
    await page.locator('table.worklist tbody tr[data-row="pt-1"]').waitFor();
    expect(await page.locator('tr[data-row="pt-3"] input.select-row').count()).toBe(0);
    await page.getByLabel('Select patient pt-1 for acknowledging together').check();
    await page.getByLabel('Select patient pt-2 for acknowledging together').check();
    await page.getByRole('button', { name: 'Acknowledge selected (2 patients)' }).click();
    await expect.poll(() => page.locator('tr[data-row="pt-1"]').innerText(), { timeout: 10_000 }).toMatch(/Acknowledged/);
    await expect.poll(() => page.locator('tr[data-row="pt-2"]').innerText(), { timeout: 10_000 }).toMatch(/Acknowledged/);
    await expect.poll(() => page.locator('#announcer').innerText(), { timeout: 10_000 }).toMatch(/2 alerts acknowledged/);
  });

  it('works from the keyboard: j/k move between patients, a acknowledges, ? lists the shortcuts', async () => {
    const page = await open(t.baseUrl, 'ann@a.example');
    await page.locator('table.worklist tbody tr').first().waitFor();
    await page.locator('main h1').focus();
    await page.keyboard.press('j');
    const first = await page.evaluate(() => document.activeElement?.closest('tr')?.getAttribute('data-row'));
    expect(first).toBeTruthy();
    await page.keyboard.press('j');
    const second = await page.evaluate(() => document.activeElement?.closest('tr')?.getAttribute('data-row'));
    expect(second).not.toBe(first);
    await page.keyboard.press('k');
    expect(await page.evaluate(() => document.activeElement?.closest('tr')?.getAttribute('data-row'))).toBe(first);
    await page.keyboard.press('?');
    const help = page.locator('dialog.shortcuts[open]');
    await help.waitFor();
    expect(await help.innerText()).toMatch(/Next patient[\s\S]*Acknowledge the patient’s top alert[\s\S]*Open the patient/);
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'detached' });
    // Back on the row it was opened from; acknowledge its top alert.
    expect(await page.evaluate(() => document.activeElement?.closest('tr')?.getAttribute('data-row'))).toBe(first);
    await page.keyboard.press('a');
    await expect.poll(() => page.locator(`tr[data-row="${first}"]`).innerText(), { timeout: 10_000 }).toMatch(/Acknowledged/);
    await page.keyboard.press('o');
    await page.waitForURL(new RegExp(`#/patients/${first}$`));
  });

  it('stays axe clean with the toolbar, checkboxes and the shortcut dialog', async () => {
    const context = await browser.newContext({ viewport: { width: 768, height: 1024 }, bypassCSP: true });
    contexts.push(context);
    const page = await context.newPage();
    await signIn(page, t.baseUrl, 'amy@a.example');
    await page.locator('table.worklist tbody tr').first().waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Keyboard shortcuts (?)' }).click();
    expect(await seriousViolations(page)).toEqual([]);
  });

  it('reported no page errors, console errors or CSP violations', () => {
    expect(problems).toEqual([]);
  });
});
