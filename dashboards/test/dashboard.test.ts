import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { buildDashboard, launchChromium } from './browser.js';
import { signIn } from './scenario.js';
import { bpHistory, createNurse, enrolPatient, isoAgo, type Nurse, postReadings } from './seed.js';

/**
 * The nurse dashboard end to end: a real gateway serving the built app, Debian's Chromium
 * driven by playwright-core, three nurses in three browser contexts (two of one organization,
 * one of another). The tests run in order and share the scenario.
 */
describe('Nurse dashboard in headless Chromium', () => {
  let build: Awaited<ReturnType<typeof buildDashboard>>;
  let t: TestGateway;
  let browser: Browser;
  let ann: Nurse;
  let amy: Nurse;
  let bob: Nurse;
  let cuff: string;
  const contexts: BrowserContext[] = [];
  const pages: Record<'ann' | 'amy' | 'bob', Page> = {} as never;
  /** Every page error and console error: a CSP violation or an exception fails the run. */
  const problems: string[] = [];
  const requested: string[] = [];
  let alertId = '';

  const row = (page: Page, patientId: string) => page.locator(`table.worklist tbody tr[data-row="${patientId}"]`);

  async function open(name: 'ann' | 'amy' | 'bob', email: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`${name}: ${err.message}`));
    page.on('console', (msg) => {
      // Chromium logs every 4xx as "Failed to load resource"; the 404 and 409 here are expected and asserted on.
      if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(`${name}: ${msg.text()}`);
    });
    page.on('request', (req) => requested.push(req.url()));
    await signIn(page, t.baseUrl, email);
    pages[name] = page;
    return page;
  }

  beforeAll(async () => {
    build = await buildDashboard();
    t = await startTestGateway({ RPM_DASHBOARD_DIR: build.dir });
    browser = await launchChromium();
    await t.admin.createOrganization('org-a', 'Clinic A');
    await t.admin.createOrganization('org-b', 'Clinic B');
    ann = await createNurse(t, 'org-a', 'ann@a.example', 'Ann Example');
    amy = await createNurse(t, 'org-a', 'amy@a.example', 'Amy Example');
    bob = await createNurse(t, 'org-b', 'bob@b.example', 'Bob Other');
    cuff = await enrolPatient(t, ann, { id: 'pa-1', organizationId: 'org-a', programs: ['general', 'hypertension'] }, { id: 'cuff-a1', kind: 'bp-cuff', manufacturer: 'Omron', model: 'BP7450' });
    // Two weeks of unremarkable home readings, every 5th taken in clinic: a chart with both kinds.
    await postReadings(t, cuff, bpHistory(40, 14, { clinicEvery: 5 }));
    await t.gw.ctx.alerting.drain();
  });

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await t?.close();
    build?.dispose();
  });

  it('refuses a wrong password with a plain message, then signs in to an empty worklist', async () => {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${t.baseUrl}/`);
    await page.getByLabel('Email').fill('ann@a.example');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('Wrong email or password.');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);

    await open('ann', ann.email);
    await open('amy', amy.email);
    await open('bob', bob.email);
    for (const page of Object.values(pages)) {
      expect(page.url()).toMatch(/#\/worklist$/);
      await page.getByText('No open alerts.').waitFor();
      await page.getByText('Live: new alerts appear without reloading.').waitFor();
    }
    await pages.ann.getByText('Signed in as Ann Example (nurse)').waitFor();
  });

  it('shows an alert live, without a reload, after the device posts a breaching reading', async () => {
    for (const page of Object.values(pages)) await page.evaluate(() => Object.assign(window, { notReloaded: true }));
    await postReadings(t, cuff, [{ kind: 'blood-pressure', systolic: 186, diastolic: 100, pulse: 84, unit: 'mmHg', measuredAt: isoAgo(60_000), batteryPercent: 17 }]);

    for (const name of ['ann', 'amy'] as const) {
      const r = row(pages[name], 'pa-1');
      await r.waitFor({ timeout: 10_000 });
      await expect.poll(() => r.textContent()).toContain('Severe hypertension');
      const text = await r.textContent();
      expect(text).toContain('High');
      expect(text).toContain('systolic 186');
      expect(text).toContain('Unclaimed');
      expect(text).toMatch(/due in \d+ min/);
      expect(await pages[name].evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
      // Announced to screen readers through the polite live region.
      await expect.poll(() => pages[name].locator('#announcer').textContent()).toContain('New high alert: Severe hypertension');
    }
    const list = await request<{ patients: { alerts: { id: string }[] }[] }>(`${t.baseUrl}/v1/worklist`, { token: ann.token });
    alertId = list.body.patients[0]!.alerts[0]!.id;
  });

  it('lets Ann claim it; Amy, in another browser, sees the claim live', async () => {
    await row(pages.ann, 'pa-1').getByRole('button', { name: /^Claim/ }).click();
    await expect.poll(() => row(pages.ann, 'pa-1').locator('td').nth(4).textContent()).toBe('You');
    await expect.poll(() => row(pages.amy, 'pa-1').locator('td').nth(4).textContent()).toBe('Ann Example');
    // Someone else's alert: Amy can only escalate it, not take it.
    expect(await row(pages.amy, 'pa-1').getByRole('button').allTextContents()).toEqual(['Escalate…: Severe hypertension (> 180/120), patient pa-1']);
    const alert = await request(`${t.baseUrl}/v1/alerts/${alertId}`, { token: ann.token });
    expect(alert.body).toMatchObject({ status: 'claimed', claimedBy: ann.id });
  });

  it('shows a 409 plainly when a colleague changed the alert first', async () => {
    // Ann releases; Amy's list shows it unclaimed again.
    await row(pages.ann, 'pa-1').getByRole('button', { name: /^Release/ }).click();
    await expect.poll(() => row(pages.amy, 'pa-1').locator('td').nth(4).textContent()).toBe('Unclaimed');
    // Amy presses Claim; just before her request reaches the gateway, Ann claims through the API.
    await pages.amy.route('**/v1/alerts/*/claim', async (route) => {
      const current = await request<{ version: number }>(`${t.baseUrl}/v1/alerts/${alertId}`, { token: ann.token });
      const claimed = await request(`${t.baseUrl}/v1/alerts/${alertId}/claim`, { token: ann.token, method: 'POST', json: { version: current.body.version } });
      expect(claimed.status).toBe(200);
      await route.continue();
    });
    await row(pages.amy, 'pa-1').getByRole('button', { name: /^Claim/ }).click();
    const banner = pages.amy.locator('.error-banner');
    await expect.poll(() => banner.textContent()).toContain('Not claimed: someone else changed “Severe hypertension (> 180/120)” (patient pa-1) first.');
    expect(await banner.textContent()).toContain('It is now claimed and it is held by Ann Example.');
    expect(await banner.getAttribute('role')).toBe('alert');
    await expect.poll(() => row(pages.amy, 'pa-1').locator('td').nth(4).textContent()).toBe('Ann Example');
    await pages.amy.unroute('**/v1/alerts/*/claim');
    await expect.poll(() => row(pages.ann, 'pa-1').locator('td').nth(4).textContent()).toBe('You');
  });

  it('lets Ann resolve it with an outcome and a note; it leaves both worklists', async () => {
    await row(pages.ann, 'pa-1').getByRole('button', { name: /^Resolve/ }).click();
    const dialog = pages.ann.getByRole('dialog');
    await dialog.getByLabel('Outcome').selectOption('contacted-patient');
    await dialog.getByLabel('Note').fill('Called: took her amlodipine late. Recheck tonight.');
    await dialog.getByRole('button', { name: 'Resolve alert' }).click();
    await row(pages.ann, 'pa-1').waitFor({ state: 'detached' });
    await row(pages.amy, 'pa-1').waitFor({ state: 'detached' });
    await expect.poll(() => pages.ann.locator('#announcer').textContent()).toContain('Resolved: Severe hypertension');
    const alert = await request(`${t.baseUrl}/v1/alerts/${alertId}`, { token: ann.token });
    expect(alert.body).toMatchObject({ status: 'resolved', outcome: 'contacted-patient', note: 'Called: took her amlodipine late. Recheck tonight.', resolvedBy: ann.id });
  });

  it('opens the patient: BP chart with home and clinic series, limits and the alert marked; readings, device and history with the note', async () => {
    const page = pages.ann;
    await page.goto(`${t.baseUrl}/#/patients/pa-1`);
    await page.getByRole('heading', { level: 1, name: 'Patient pa-1' }).waitFor();
    const figure = page.locator('figure[data-kind="blood-pressure"]');
    await figure.locator('canvas').waitFor();
    const chart = figure.locator('[role="img"]');
    const label = await chart.getAttribute('aria-label');
    expect(label).toMatch(/^Blood pressure: 41 readings from .+; latest 186\/100 mmHg, pulse 84 \(home\); 1 alert marked; care-plan limits shaded: .+$/);
    // The care-plan thresholds drawn as bands, named for screen readers: the severe-BP limits among them.
    expect(label).toContain('systolic >= 180 · critical');
    expect(label).toContain('diastolic >= 120 · critical');
    // Home and clinic readings told apart: separate series, drawn differently (and said so).
    expect(await figure.locator('.u-legend').textContent()).toContain('Systolic (clinic)');
    expect(await figure.locator('.u-legend').textContent()).toContain('Systolic (home)');
    expect(await figure.locator('.legend-note').textContent()).toBe('Home: line with dots · clinic: squares · shaded: care-plan limits · dashed verticals: alerts');
    // The canvas really has pixels drawn on it (not an empty chart frame).
    const inked = await figure.locator('canvas').evaluate((c: HTMLCanvasElement) => {
      const data = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? new Uint8ClampedArray();
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if ((data[i] ?? 0) > 0) n++;
      return n;
    });
    expect(inked).toBeGreaterThan(2000);

    const latest = page.getByRole('region', { name: 'Latest readings table' });
    expect(await latest.locator('tbody tr').first().textContent()).toContain('186/100 mmHg');
    expect(await latest.locator('tbody td', { hasText: 'Clinic' }).count()).toBeGreaterThan(0);
    const devices = page.locator('.devices tbody tr');
    await devices.first().waitFor();
    expect(await devices.first().textContent()).toMatch(/Omron BP7450 \(bp-cuff\)cuff-a1.*(just now|min ago).*Not connected17 % \(low\)reported (just now|\d+ min ago)/);
    const history = page.locator('.history-list > li').first();
    expect(await history.textContent()).toContain('Contacted patient — You');
    expect(await history.textContent()).toContain('Called: took her amlodipine late. Recheck tonight.');
    await history.locator('summary').click();
    await expect.poll(() => history.locator('.events-list li').allTextContents()).toHaveLength(5);
    expect((await history.locator('.events-list').textContent()) ?? '').toContain('resolve by You → resolved');
  });

  it('times work on the patient: start interactive, stop, and the month total counts it', async () => {
    const page = pages.ann;
    await page.getByLabel('Interactive (live call or video)').check();
    await page.getByRole('button', { name: 'Start timer' }).click();
    await page.getByRole('button', { name: 'Stop timer' }).waitFor();
    expect(await page.getByRole('timer').textContent()).toMatch(/^\d\d:\d\d$/);
    await expect.poll(() => page.locator('header .timer-indicator').textContent()).toMatch(/^Timer \d\d:\d\d · patient pa-1$/);
    await page.getByRole('button', { name: 'Stop timer' }).click();
    await page.getByRole('button', { name: 'Start timer' }).waitFor();
    const month = await request<{ entries: { interactive: boolean; endedAt: string | null }[] }>(`${t.baseUrl}/v1/patients/pa-1/time`, { token: ann.token });
    expect(month.body.entries).toHaveLength(1);
    expect(month.body.entries[0]).toMatchObject({ interactive: true });
    expect(month.body.entries[0]?.endedAt).not.toBeNull();
    await expect.poll(() => page.locator('.month-total').textContent()).toMatch(/^This month: [\d.]+ min \([\d.]+ min interactive\)$/);
  });

  it('updates the open patient live: a new alert appears with its chart and mark; Ann acknowledges, snoozes and escalates it', async () => {
    const page = pages.ann;
    await page.getByRole('heading', { level: 1, name: 'Patient pa-1' }).waitFor();
    await postReadings(t, cuff, [{ kind: 'spo2', value: 93, unit: '%', measuredAt: isoAgo(30_000) }]);
    const open = page.locator('.open-alerts li', { hasText: 'Low oxygen saturation' });
    await open.waitFor({ timeout: 10_000 });
    expect(await open.textContent()).toContain('Medium');
    // Without a reload, the charts are redrawn with the new vital, its limits and the alert marked.
    const spo2 = page.locator('figure[data-kind="spo2"] [role="img"]');
    await spo2.waitFor({ timeout: 10_000 });
    expect(await spo2.getAttribute('aria-label')).toMatch(/^SpO₂: 1 reading from .+; latest 93 %.*; 1 alert marked; care-plan limits shaded: .*< 94 · medium/);
    await expect.poll(() => page.locator('.history-list > li').first().textContent()).toContain('Low oxygen saturation');
    const current = async (): Promise<{ id: string; status: string; acknowledgedBy: string | null; snoozedUntil: string | null; escalationLevel: number }> => {
      const res = await request<{ alerts: { id: string; rule: string; status: string; acknowledgedBy: string | null; snoozedUntil: string | null; escalationLevel: number }[] }>(`${t.baseUrl}/v1/patients/pa-1/alerts`, { token: ann.token });
      const found = res.body.alerts.find((a) => a.rule === 'spo2-low' && a.status !== 'resolved');
      if (found === undefined) throw new Error('no open spo2-low alert');
      return found;
    };

    await open.getByRole('button', { name: /^Acknowledge/ }).click();
    await expect.poll(() => open.textContent()).toContain('Held by You');
    expect(await current()).toMatchObject({ status: 'acknowledged', acknowledgedBy: ann.id });
    expect(await open.getByRole('button').allTextContents()).toEqual(
      ['Release', 'Resolve…', 'Snooze…', 'Escalate…'].map((b) => `${b}: Low oxygen saturation`),
    );

    const dialog = page.getByRole('dialog');
    await open.getByRole('button', { name: /^Snooze…/ }).click();
    await dialog.getByLabel('Snooze for').selectOption('60');
    await dialog.getByLabel('Reason').fill('Resting after a walk; recheck in an hour.');
    await dialog.getByRole('button', { name: 'Snooze alert' }).click();
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(() => page.locator('#announcer').textContent()).toContain('Snoozed: Low oxygen saturation, patient pa-1.');
    await expect.poll(() => open.textContent()).toMatch(/Snoozed until [^·]*\d{1,2}:\d{2}/); // the date shows too when the hour crosses midnight
    const snoozed = await current();
    expect(snoozed.snoozedUntil).not.toBeNull();

    await open.getByRole('button', { name: /^Escalate…/ }).click();
    await dialog.getByLabel('Reason').fill('Still 93 % on recheck; needs the physician today.');
    await dialog.getByRole('button', { name: 'Escalate alert' }).click();
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(async () => (await current()).escalationLevel).toBe(1);
    await expect.poll(() => page.locator('#announcer').textContent()).toContain('Escalated: Low oxygen saturation, patient pa-1.');
    const { body } = await request<{ history: { action: string; actor: string; note: string | null }[] }>(`${t.baseUrl}/v1/alerts/${snoozed.id}`, { token: ann.token });
    const mine = body.history.filter((e) => e.actor === `staff:${ann.id}`);
    expect(mine.map((e) => e.action)).toEqual(['acknowledge', 'snooze', 'escalate']);
    expect(mine.map((e) => e.note)).toEqual([null, 'Resting after a walk; recheck in an hour.', 'Still 93 % on recheck; needs the physician today.']);
    // Amy, in her own browser, sees the alert acknowledged and held by Ann.
    await expect.poll(() => row(pages.amy, 'pa-1').locator('td').nth(4).textContent()).toBe('Ann Example (acknowledged)');
  });

  it('shows a nurse of another organization nothing of it', async () => {
    const page = pages.bob;
    expect(await page.locator('table.worklist tbody tr').count()).toBe(0);
    expect(await page.locator('#announcer').textContent()).toBe('');
    await page.goto(`${t.baseUrl}/#/patients/pa-1`);
    await page.getByText('This patient does not exist or is not in your care.').waitFor();
    expect(await page.locator('.open-alerts').textContent()).toBe('No open alerts.');
    expect(await page.locator('.history').textContent()).toBe('');
    expect(await page.locator('.devices').textContent()).toBe('');
    expect(await page.locator('canvas').count()).toBe(0);
  });

  it('keeps PHI out of URLs and browser storage: only the session token, in sessionStorage', async () => {
    const page = pages.ann;
    expect(await page.evaluate(() => Object.keys(sessionStorage))).toEqual(['rpm.session']);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect(await contexts[1]!.cookies()).toEqual([]);
    expect(await page.evaluate(async () => (await indexedDB.databases()).length)).toBe(0);
    // Opaque ids and paging parameters only: never a value, a note or a name.
    for (const url of requested) {
      const { pathname, search } = new URL(url);
      expect(pathname).toMatch(/^\/(|assets\/[\w.-]+|v1\/[\w/.:-]+)$/);
      expect([...new URLSearchParams(search).keys()].every((k) => ['from', 'limit', 'cursor', 'includeResolved', 'month'].includes(k))).toBe(true);
    }
  });

  it('signs out: back to the sign-in page, and the token no longer works', async () => {
    const page = pages.amy;
    const token = await page.evaluate(() => sessionStorage.getItem('rpm.session'));
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'RPM nurse dashboard' }).waitFor();
    expect(await page.getByRole('status').textContent()).toBe('You are signed out.');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect((await request(`${t.baseUrl}/v1/auth/me`, { token: token ?? '' })).status).toBe(401);
  });

  it('signs out by itself after 15 minutes without activity, warning a minute before', async () => {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.clock.install();
    await signIn(page, t.baseUrl, amy.email);
    const token = await page.evaluate(() => sessionStorage.getItem('rpm.session'));
    await page.clock.runFor('14:05');
    await expect.poll(() => page.locator('.idle-banner').textContent()).toContain('You will be signed out in 1 minute without activity.');
    await page.clock.runFor('01:00');
    await expect.poll(() => page.getByRole('status').first().textContent()).toBe('You were signed out after 15 minutes without activity.');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect((await request(`${t.baseUrl}/v1/auth/me`, { token: token ?? '' })).status).toBe(401);
  });

  it('reported no page errors, console errors or CSP violations', () => {
    expect(problems).toEqual([]);
    // The admin token never reaches the browser.
    expect(requested.some((u) => u.includes(ADMIN_TOKEN))).toBe(false);
  });
});
