import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { buildDashboard, launchChromium } from './browser.js';
import { seriousViolations } from './axe.js';
import { signIn } from './scenario.js';

/**
 * The organization admin's screens in Chromium: staff, care teams, patients (enrol, assign and
 * unassign devices with times), the device fleet and care plans; each one axe clean on a laptop
 * and a tablet, without sideways scrolling.
 */
describe('Administration screens in headless Chromium', () => {
  let build: Awaited<ReturnType<typeof buildDashboard>>;
  let t: TestGateway;
  let browser: Browser;
  let page: Page;
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];

  const dialog = (page: Page) => page.locator('dialog[open]');

  beforeAll(async () => {
    build = await buildDashboard();
    t = await startTestGateway({ RPM_DASHBOARD_DIR: build.dir });
    browser = await launchChromium();
    await t.admin.createOrganization('org-a', 'Clinic A');
    await t.admin.createStaff({ email: 'ada@a.example', role: 'admin', organizationId: 'org-a', displayName: 'Ada Admin' });
    await t.admin.createStaff({ email: 'nia@a.example', role: 'nurse', organizationId: 'org-a', displayName: 'Nia Nurse' });
    await t.admin.createPatient('pt-1', { organizationId: 'org-a' });
    // A hub (the operator's) relays a glucometer of pt-1 that reports its battery; it never connects itself.
    const hub = await t.admin.createDevice({ id: 'hub-1', kind: 'hub' });
    await t.admin.createDevice({ id: 'gluco-1', kind: 'glucometer', patientId: 'pt-1', hubId: 'hub-1' });
    await request(`${t.baseUrl}/v1/readings`, { token: hub, json: { readings: [{ kind: 'blood-glucose', value: 99, unit: 'mg/dL', deviceId: 'gluco-1', measuredAt: new Date(Date.now() - 3_600_000).toISOString(), batteryPercent: 14 }] } });
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    contexts.push(context);
    page = await context.newPage();
    page.on('pageerror', (err) => problems.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(msg.text());
    });
    await signIn(page, t.baseUrl, 'ada@a.example');
  });

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await t?.close();
    build?.dispose();
  });

  it('staff: adds a nurse, makes her charge nurse with a phone, disables an account', async () => {
    await page.getByRole('link', { name: 'Administration' }).click();
    await page.getByRole('heading', { level: 1, name: 'Administration: Staff' }).waitFor();
    await page.getByRole('button', { name: 'Add staff member' }).click();
    const d = dialog(page);
    await d.getByLabel('Email').fill('cara@a.example');
    await d.getByLabel('Name').fill('Cara Charge');
    await d.getByLabel('First password').fill('a long first passphrase');
    await d.getByRole('button', { name: 'Add' }).click();
    const row = page.locator('tr', { hasText: 'cara@a.example' });
    await row.waitFor();
    await row.getByRole('button', { name: /^Edit/ }).click();
    await dialog(page).getByLabel('Charge nurse (receives escalations)').check();
    await dialog(page).getByLabel('Phone for SMS (E.164)').fill('+15551230000');
    await dialog(page).getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => row.innerText(), { timeout: 10_000 }).toMatch(/Yes\s+\+15551230000/);
    const nia = page.locator('tr', { hasText: 'nia@a.example' });
    await nia.getByRole('button', { name: /^Disable/ }).click();
    await expect.poll(() => nia.innerText(), { timeout: 10_000 }).toMatch(/Disabled/);
  });

  it('care teams: creates a team, adds a member and a patient', async () => {
    await page.getByRole('link', { name: 'Care teams' }).click();
    await page.getByRole('button', { name: 'New care team' }).click();
    await dialog(page).getByLabel('Team id').fill('north');
    await dialog(page).getByLabel('Name').fill('North team');
    await dialog(page).getByRole('button', { name: 'Create' }).click();
    const team = page.locator('section.team', { hasText: 'North team' });
    await team.waitFor();
    await team.getByRole('button', { name: /^Add member/ }).click();
    await dialog(page).getByLabel('Staff member').selectOption({ label: 'Cara Charge (nurse)' });
    await dialog(page).getByRole('button', { name: 'Add' }).click();
    await expect.poll(() => team.innerText(), { timeout: 10_000 }).toMatch(/Cara Charge \(nurse\)/);
    await team.getByRole('button', { name: /^Add patient/ }).click();
    await dialog(page).getByLabel('Patient id').fill('pt-1');
    await dialog(page).getByRole('button', { name: 'Add' }).click();
    await expect.poll(() => team.innerText(), { timeout: 10_000 }).toMatch(/Patient pt-1/);
  });

  it('devices: registers a device (its secret shown once) and shows the fleet; a hub-relayed device reporting battery is not "never seen"', async () => {
    await page.getByRole('link', { name: 'Devices' }).click();
    await page.locator('tr[data-row="gluco-1"]').waitFor();
    expect(await page.locator('tr[data-row="gluco-1"]').innerText()).toMatch(/Transmitting[\s\S]*14 % \(low\)/);
    await page.getByRole('button', { name: 'Register device' }).click();
    await dialog(page).getByLabel('Device id').fill('cuff-9');
    await dialog(page).getByLabel('Kind').selectOption('bp-cuff');
    await dialog(page).getByLabel('Patient id').fill('pt-1');
    // Assigned from two hours ago (the organization's zone is UTC), so it can move to another patient later.
    await dialog(page).getByLabel('Assigned from (UTC)').fill(new Date(Date.now() - 2 * 3_600_000).toISOString().slice(0, 16));
    await dialog(page).getByRole('button', { name: 'Register' }).click();
    await page.locator('tr[data-row="cuff-9"]').waitFor();
    expect(await page.locator('p.secret').innerText()).toMatch(/rpmd_/);
    expect(await page.locator('tr[data-row="cuff-9"]').innerText()).toMatch(/Never seen/);
  });

  it('patients: enrolls a patient with a program and consent, assigns a device from a time and unassigns it', async () => {
    await page.getByRole('link', { name: 'Patients' }).click();
    await page.getByRole('button', { name: 'Enroll patient' }).click();
    await dialog(page).getByLabel('Patient id').fill('pt-2');
    await dialog(page).getByLabel('diabetes').check();
    await dialog(page).getByLabel('Telehealth consent obtained').check();
    await dialog(page).getByRole('button', { name: 'Enroll' }).click();
    const row = page.locator('tr[data-row="pt-2"]');
    await row.waitFor();
    expect(await row.innerText()).toMatch(/general, diabetes/);
    await row.getByRole('button', { name: /^Assign device/ }).click();
    await dialog(page).getByLabel('Device id').fill('cuff-9');
    await dialog(page).getByLabel('From (UTC)').fill(new Date(Date.now() - 3_600_000).toISOString().slice(0, 16));
    await dialog(page).getByRole('button', { name: 'Assign' }).click();
    await expect.poll(() => row.innerText(), { timeout: 10_000 }).toMatch(/cuff-9 \(bp-cuff\) since/);
    await row.getByRole('button', { name: /^Unassign/ }).click();
    await dialog(page).getByRole('button', { name: 'Unassign' }).click();
    await expect.poll(() => row.innerText(), { timeout: 10_000 }).not.toMatch(/cuff-9/);
    const consent = await request(`${t.baseUrl}/v1/patients/pt-2/consents/telehealth`, { token: await page.evaluate(() => sessionStorage.getItem('rpm.session') ?? '') });
    expect(JSON.stringify(consent.body)).toMatch(/"granted":true/);
  });

  it('care plans: overrides a rule for one patient with why; who and when are shown', async () => {
    await page.getByRole('link', { name: 'Care plans' }).click();
    const row = page.locator('tr[data-row="pt-1"]');
    await row.waitFor();
    await row.getByRole('button', { name: /^Override a rule/ }).click();
    await dialog(page).getByLabel('Rule').selectOption({ index: 0 });
    const ruleId = await dialog(page).getByLabel('Rule').inputValue();
    await dialog(page).getByLabel('Change (JSON, canonical units)').fill('{"renotifyMinutes": 90}');
    await dialog(page).getByLabel('Why').fill('Lives alone; call back sooner');
    await dialog(page).getByRole('button', { name: 'Save override' }).click();
    await expect.poll(() => row.innerText(), { timeout: 10_000 }).toMatch(/Why: Lives alone; call back sooner/);
    expect(await row.innerText()).toContain(ruleId);
    expect(await row.innerText()).toMatch(/You, .* \(version 1\)/);
    // A nurse of the patient's team reads the override, why, who and when on the patient page.
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    contexts.push(context);
    const nursePage = await context.newPage();
    await signIn(nursePage, t.baseUrl, 'cara@a.example', 'a long first passphrase');
    await nursePage.goto(`${t.baseUrl}/#/patients/pt-1`);
    const plan = nursePage.locator('section[aria-labelledby="plan-heading"]');
    await expect.poll(() => plan.innerText(), { timeout: 10_000 }).toMatch(/Why: Lives alone; call back sooner[\s\S]*Saved by Ada Admin, .* \(version 1\)/);
  });

  for (const viewport of [
    { width: 1366, height: 768 },
    { width: 768, height: 1024 },
  ]) {
    it(`each screen is axe clean and does not scroll sideways at ${viewport.width} px`, async () => {
      // axe is injected as an inline script, which the app's Content-Security-Policy (rightly) refuses.
      const context = await browser.newContext({ viewport, bypassCSP: true });
      contexts.push(context);
      const other = await context.newPage();
      await signIn(other, t.baseUrl, 'ada@a.example');
      for (const section of ['staff', 'teams', 'patients', 'devices', 'care-plans']) {
        await other.goto(`${t.baseUrl}/#/admin/${section}`);
        await other.locator('.admin-body > *').first().waitFor();
        expect(await seriousViolations(other), section).toEqual([]);
        expect(await other.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1), section).toBe(false);
      }
    });
  }

  it('reported no page errors, console errors or CSP violations', () => {
    expect(problems).toEqual([]);
  });
});
