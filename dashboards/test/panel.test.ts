import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { seriousViolations } from './axe.js';
import { buildDashboard, launchChromium } from './browser.js';
import { signIn } from './scenario.js';

const DAY = 86_400_000;
/** No part of the page wider than the viewport: nothing scrolls sideways. */
async function scrollsSideways(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1);
}

const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/**
 * The roster and the billing page in Chromium: a physician's whole panel with filters kept in the
 * URL, at laptop and tablet widths, axe clean; the billing report with a sign-off and the CSV.
 */
describe('Roster and billing pages in headless Chromium', () => {
  let build: Awaited<ReturnType<typeof buildDashboard>>;
  let t: TestGateway;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];
  const start = Date.now() - 40 * DAY;
  /** The month in which the first 30-day device period ends (UTC, the organization's zone). */
  const reportMonth = isoDay(start + 29 * DAY).slice(0, 7);

  async function open(email: string, viewport = { width: 1366, height: 768 }): Promise<Page> {
    const context = await browser.newContext({ viewport, bypassCSP: false, acceptDownloads: true });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (err) => problems.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(msg.text());
    });
    await signIn(page, t.baseUrl, email);
    return page;
  }

  beforeAll(async () => {
    build = await buildDashboard();
    t = await startTestGateway({ RPM_DASHBOARD_DIR: build.dir });
    browser = await launchChromium();
    await t.admin.createOrganization('org-a', 'Clinic A');
    const nurse = await t.admin.createStaff({ email: 'ann@a.example', role: 'nurse', organizationId: 'org-a', displayName: 'Ann Rivera' });
    await t.admin.createStaff({ email: 'dr@a.example', role: 'physician', organizationId: 'org-a', displayName: 'Dr Omar Haddad' });
    await t.admin.createCareTeam('north', 'org-a', 'North team');
    await t.admin.addTeamMember('north', nurse.id);
    const nurseToken = await t.admin.login('ann@a.example');
    for (const [id, programs] of [
      ['pt-1', ['general', 'hypertension']],
      ['pt-2', ['general', 'diabetes']],
      ['pt-3', ['general', 'heart-failure']],
    ] as const) {
      await t.admin.createPatient(id, { organizationId: 'org-a' });
      await request(`${t.baseUrl}/v1/patients/${id}/care-plan`, { method: 'PUT', token: nurseToken, json: { programs, riskTier: id === 'pt-2' ? 3 : 1 } });
    }
    await t.admin.addTeamPatient('north', 'pt-1');
    await t.admin.addTeamPatient('north', 'pt-2');
    // pt-1: a cuff since 40 days ago, readings on 18 days of the first period and on 6 days of this one.
    const cuff = await t.admin.createDevice({ id: 'cuff-1', kind: 'bp-cuff', patientId: 'pt-1', assignedFrom: new Date(start).toISOString() });
    const days = [...Array.from({ length: 18 }, (_, i) => start + (i + 1) * DAY + 3_600_000), ...Array.from({ length: 6 }, (_, i) => start + (31 + i) * DAY + 3_600_000)];
    const res = await request(`${t.baseUrl}/v1/readings`, { token: cuff, json: { readings: days.map((ms) => ({ kind: 'blood-pressure', systolic: 132, diastolic: 84, unit: 'mmHg', measuredAt: new Date(ms).toISOString() })) } });
    expect(res.status).toBe(202);
    await request(`${t.baseUrl}/v1/patients/pt-1/time`, { token: nurseToken, json: { startedAt: new Date(start + 2 * DAY).toISOString(), minutes: 22, interactive: true } });
    // pt-2: a scale that never sent anything.
    await t.admin.createDevice({ id: 'scale-2', kind: 'scale', patientId: 'pt-2', assignedFrom: new Date(Date.now() - 5 * DAY).toISOString() });
    await t.gw.ctx.alerting!.drain();
  });

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await t?.close();
    build?.dispose();
  });

  it('shows the whole panel on the roster, with device days, minutes and device problems; filters live in the URL', async () => {
    const page = await open('dr@a.example');
    await page.getByRole('link', { name: 'Roster' }).click();
    await page.getByRole('heading', { level: 1, name: 'Roster' }).waitFor();
    const rows = page.locator('table.roster tbody tr');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(3);
    const pt1 = page.locator('tr[data-row="pt-1"]');
    await expect.poll(() => pt1.innerText(), { timeout: 10_000 }).toMatch(/6 of 16 days · 10 to go/);
    const pt2 = page.locator('tr[data-row="pt-2"]');
    expect(await pt2.innerText()).toMatch(/scale-2: Never seen/);
    // Filters: device problems, then program; both in the address, and a reload keeps them.
    await page.getByLabel('Device problems').check();
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(1);
    expect(page.url()).toContain('#/roster?notTransmitting=true');
    await page.getByLabel('Program').selectOption('diabetes');
    await expect.poll(() => page.url(), { timeout: 10_000 }).toContain('program=diabetes');
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Roster' }).waitFor();
    await expect.poll(() => page.locator('table.roster tbody tr').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.getByLabel('Device problems').isChecked()).toBe(true);
    await page.getByLabel('Device problems').uncheck();
    await page.getByLabel('Program').selectOption('');
    await page.getByLabel('Below 16 days, days left ≤').fill('30');
    await page.getByLabel('Below 16 days, days left ≤').press('Tab');
    // pt-1 (6 days, 20 left) and pt-2 (a scale with no reading, 25 left); pt-3 has no device period.
    await expect.poll(() => page.locator('table.roster tbody tr').count(), { timeout: 10_000 }).toBe(2);
    expect(page.url()).toContain('atRiskDaysLeft=30');
    await page.getByLabel('Below 16 days, days left ≤').fill('');
    await page.getByLabel('Below 16 days, days left ≤').press('Tab');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(3);
    // Search stays in the page, never in the address (it may be a name).
    await page.getByLabel('Search').fill('pt-3');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(1);
    expect(page.url()).not.toContain('pt-3');
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Sort by').selectOption('days');
    await expect.poll(() => page.url(), { timeout: 10_000 }).toContain('sort=days');
  });

  it('keeps a nurse to her care team and offers "mine"', async () => {
    const page = await open('ann@a.example');
    await page.goto(`${t.baseUrl}/#/roster?mine=true`);
    await page.getByRole('heading', { level: 1, name: 'Roster' }).waitFor();
    await expect.poll(() => page.locator('table.roster tbody tr').count(), { timeout: 10_000 }).toBe(2);
    expect(await page.getByRole('link', { name: 'Billing' }).count()).toBe(0);
  });

  for (const [device, viewport] of [
    ['laptop', { width: 1366, height: 768 }],
    ['tablet', { width: 768, height: 1024 }],
  ] as const) {
    it(`is usable and axe clean at ${viewport.width} px (${device}), without sideways scrolling`, async () => {
      const context = await browser.newContext({ viewport, bypassCSP: true });
      contexts.push(context);
      const page = await context.newPage();
      await signIn(page, t.baseUrl, 'dr@a.example');
      await page.goto(`${t.baseUrl}/#/roster`);
      await expect.poll(() => page.locator('table.roster tbody tr').count(), { timeout: 10_000 }).toBe(3);
      expect(await seriousViolations(page)).toEqual([]);
      expect(await scrollsSideways(page)).toBe(false);
      // The measured values are visible, not cut off.
      expect(await page.locator('tr[data-row="pt-1"] .value').first().isVisible()).toBe(true);
      await page.goto(`${t.baseUrl}/#/billing?month=${reportMonth}`);
      await page.locator('table.billing tbody tr').first().waitFor();
      expect(await seriousViolations(page)).toEqual([]);
      expect(await scrollsSideways(page)).toBe(false);
    });
  }

  it('shows the month’s billing lines with evidence; the physician signs one off and downloads the CSV', async () => {
    const page = await open('dr@a.example');
    await page.getByRole('link', { name: 'Billing' }).click();
    await page.getByLabel('Month').fill(reportMonth);
    await page.getByLabel('Month').dispatchEvent('change');
    const device = page.locator(`tr[data-row="pt-1/device/${isoDay(start)}"]`);
    await device.waitFor();
    expect(await device.innerText()).toMatch(/99453 \+ 99454/);
    expect(await device.innerText()).toMatch(/18 days with automated readings/);
    await device.getByRole('button', { name: /Sign off/ }).click();
    await expect.poll(() => device.innerText(), { timeout: 10_000 }).toMatch(/Signed by Dr Omar Haddad/);
    expect(page.url()).toContain(`#/billing?month=${reportMonth}`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
    const file = await download.path();
    const { readFileSync } = await import('node:fs');
    const csv = readFileSync(file, 'utf8').split('\r\n');
    expect(csv[0]).toMatch(/^organization,report_month,patient_id,line_kind/);
    expect(csv.some((l) => l.startsWith(`org-a,${reportMonth},pt-1,device-period,${isoDay(start)},`) && l.includes('99453 99454'))).toBe(true);
  });

  it('reported no page errors, console errors or CSP violations', () => {
    expect(problems).toEqual([]);
  });
});
