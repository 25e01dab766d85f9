import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { buildDashboard, launchChromium } from './browser.js';
import { signIn } from './scenario.js';
import { bpHistory, createNurse, enrolPatient, isoAgo, type Nurse, postReadings } from './seed.js';

/**
 * The nurse dashboard end to end: a real gateway serving the built app, Debian's Chromium
 * driven by playwright-core, nurses in their own browser contexts (Ann and Amy of one
 * organization, Bob of another, Cara of a clinic that reads pounds, °F and New York time, and
 * a few more for sign-out and idle cases). The tests run in order and share the scenario.
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
  const pages: Record<'ann' | 'amy' | 'bob' | 'cara' | 'tess', Page> = {} as never;
  /** Every page error and console error: a CSP violation or an exception fails the run. */
  const problems: string[] = [];
  const requested: string[] = [];
  let alertId = '';

  const row = (page: Page, patientId: string) => page.locator(`table.worklist tbody tr[data-row="${patientId}"]`);

  async function open(name: keyof typeof pages, email: string): Promise<Page> {
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
    await t.gw.ctx.alerting!.drain();
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
      // The title carries the limits exactly as they fire; the detail names the component that breached, with units.
      expect(text).toContain('Severe hypertension (systolic ≥ 180 mmHg or diastolic ≥ 120 mmHg)');
      expect(text).toContain('BP 186/100 mmHg, pulse 84 /min — systolic past the limit');
      expect(text).toContain('awaiting repeat');
      // When it was measured, in the organization's zone (UTC by default) with the zone shown.
      expect(await r.locator('td.measured time').textContent()).toMatch(/^\d\d:\d\d UTC$/);
      expect(text).toContain('Unclaimed');
      expect(text).toMatch(/due in \d+ min/);
      expect(await pages[name].evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
      // Announced to screen readers through the polite live region.
      await expect.poll(() => pages[name].locator('#announcer').textContent()).toContain('New high alert: Severe hypertension');
    }
    const list = await request<{ patients: { alerts: { id: string; priorityReasons: { code: string; label: string; points: number }[] }[] }[] }>(`${t.baseUrl}/v1/worklist`, { token: ann.token });
    const listed = list.body.patients[0]!.alerts[0]!;
    alertId = listed.id;
    // Why it sits where it does, on the row: the priority and its terms as the server ranked it.
    for (const name of ['ann', 'amy'] as const) {
      const why = row(pages[name], 'pa-1').locator('.why');
      expect(await why.textContent()).toMatch(/^Priority \d+: High severity \+600/);
      // The same terms the API ranks by (the waiting term grows by the minute, so it may have moved since).
      const shown = (await why.textContent()) ?? '';
      for (const r of listed.priorityReasons.filter((x) => x.code !== 'waiting')) expect(shown).toContain(r.points > 0 ? `${r.label} +${r.points}` : r.label);
    }
  });

  it('lets Ann claim it; Amy, in another browser, sees the claim live', async () => {
    await row(pages.ann, 'pa-1').getByRole('button', { name: /^Claim/ }).click();
    await expect.poll(() => row(pages.ann, 'pa-1').locator('td').nth(4).textContent()).toBe('You');
    await expect.poll(() => row(pages.amy, 'pa-1').locator('td').nth(4).textContent()).toBe('Ann Example');
    // Someone else's alert: Amy can only escalate it, not take it.
    expect(await row(pages.amy, 'pa-1').getByRole('button').allTextContents()).toEqual(['Escalate…: Severe hypertension, patient pa-1']);
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
    await expect.poll(() => banner.textContent()).toContain('Not claimed: someone else changed “Severe hypertension (systolic ≥ 180 mmHg or diastolic ≥ 120 mmHg)” (patient pa-1) first.');
    expect(await banner.textContent()).toContain('It is now claimed and it is held by Ann Example.');
    expect(await banner.getAttribute('role')).toBe('alert');
    await expect.poll(() => row(pages.amy, 'pa-1').locator('td').nth(4).textContent()).toBe('Ann Example');
    await pages.amy.unroute('**/v1/alerts/*/claim');
    await expect.poll(() => row(pages.ann, 'pa-1').locator('td').nth(4).textContent()).toBe('You');
  });

  it('lets Ann resolve it with an outcome and a note, telling her what to do and what happens if the patient stays past the limit; it leaves both worklists', async () => {
    await row(pages.ann, 'pa-1').getByRole('button', { name: /^Resolve/ }).click();
    const dialog = pages.ann.getByRole('dialog');
    // Before she resolves: the rule's action line and the re-notify sentence, read out with the dialog.
    const shown = await request<{ afterResolve: string; action: string | null }>(`${t.baseUrl}/v1/alerts/${alertId}`, { token: ann.token });
    expect(shown.body.afterResolve).toMatch(/^If readings stay past the limit, a new alert is raised \d+ (min|h) after you resolve this one, or at once if they get worse\.$/);
    expect(await dialog.locator('.after-resolve').textContent()).toBe(`After you resolve it: ${shown.body.afterResolve}`);
    expect(shown.body.action).not.toBeNull();
    expect(await dialog.locator('.action-line').textContent()).toBe(`What to do: ${shown.body.action}`);
    const description = await dialog.evaluate((d) => document.getElementById(d.getAttribute('aria-describedby') ?? '')?.textContent ?? '');
    expect(description).toContain(shown.body.afterResolve);
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
    await figure.locator('canvas').first().waitFor();
    const chart = figure.locator('[role="img"]');
    const label = await chart.getAttribute('aria-label');
    expect(label).toMatch(/^Blood pressure: 41 readings from .+ UTC to .+ UTC; latest BP 186\/100 mmHg, pulse 84 \/min \(home\); 1 alert marked; care-plan limits shaded: .+$/);
    // The care-plan thresholds drawn as bands, named for screen readers, with the comparator as it fires.
    expect(label).toMatch(/systolic: [^;]*Severe hypertension ≥ 180 mmHg · critical/);
    expect(label).toMatch(/diastolic: [^;]*Severe hypertension ≥ 120 mmHg · critical/);
    // Home and clinic readings told apart: separate series, drawn differently (and said so).
    const [sysLegend, diaLegend] = await figure.locator('.u-legend').allTextContents();
    expect(sysLegend).toContain('Systolic (clinic)');
    expect(sysLegend).toContain('Systolic (home)');
    expect(diaLegend).toContain('Diastolic (home)');
    expect(await figure.locator('.legend-note').textContent()).toBe('Home: line with dots · clinic: squares · shaded: care-plan limits of that plot’s value · dashed verticals: alerts');
    // Each component's limits on that component's plot only: a diastolic limit is not a systolic one.
    const sysLimits = (await figure.locator('.plot[data-component="systolic"]').getAttribute('data-limits')) ?? '';
    const diaLimits = (await figure.locator('.plot[data-component="diastolic"]').getAttribute('data-limits')) ?? '';
    expect(sysLimits).toContain('Severe hypertension ≥ 180 mmHg');
    expect(sysLimits).toContain('Hypotension < 90 mmHg');
    expect(sysLimits).not.toContain('120 mmHg');
    expect(diaLimits).toContain('Severe hypertension ≥ 120 mmHg');
    expect(diaLimits).not.toContain('180 mmHg');
    expect(diaLimits).not.toContain('90 mmHg');
    // The pulse the cuff counts is judged by the heart-rate rule: plotted under the heart-rate limits.
    const hr = page.locator('figure[data-kind="heart-rate"]');
    expect(await hr.locator('.u-legend').textContent()).toContain('Pulse from BP cuff (home)');
    expect(await hr.locator('.plot').getAttribute('data-limits')).toContain('Heart rate out of range > 110 /min');
    // The canvas really has pixels drawn on it (not an empty chart frame).
    const inked = await figure.locator('canvas').first().evaluate((c: HTMLCanvasElement) => {
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
    // The patient's alert list carries the priority and its reasons too, and the value with the time it was measured.
    await expect.poll(() => open.locator('.why').textContent()).toMatch(/^Priority \d+: Medium severity \+300/);
    expect(await open.locator('.detail').textContent()).toMatch(/^SpO2 93 % · \d\d:\d\d UTC$/);
    // Without a reload, the charts are redrawn with the new vital, its limits and the alert marked.
    const spo2 = page.locator('figure[data-kind="spo2"] [role="img"]');
    await spo2.waitFor({ timeout: 10_000 });
    expect(await spo2.getAttribute('aria-label')).toMatch(/^SpO₂: 1 reading from .+; latest SpO2 93 %.*; 1 alert marked; care-plan limits shaded: .*Low oxygen saturation < 94 % · medium/);
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
    expect(await open.getByRole('button').allTextContents()).toEqual([
      ...['Release', 'Resolve…', 'Snooze…', 'Escalate…'].map((b) => `${b}: Low oxygen saturation`),
      'Video visit: about Low oxygen saturation',
    ]);

    const dialog = page.getByRole('dialog');
    await open.getByRole('button', { name: /^Snooze…/ }).click();
    await dialog.getByLabel('Snooze for').selectOption('60');
    await dialog.getByLabel('Reason').fill('Resting after a walk; recheck in an hour.');
    await dialog.getByRole('button', { name: 'Snooze alert' }).click();
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(() => page.locator('#announcer').textContent()).toContain('Snoozed: Low oxygen saturation (< 94 %), patient pa-1.');
    await expect.poll(() => open.textContent()).toMatch(/Snoozed until [^·]*\d{1,2}:\d{2}/); // the date shows too when the hour crosses midnight
    const snoozed = await current();
    expect(snoozed.snoozedUntil).not.toBeNull();

    await open.getByRole('button', { name: /^Escalate…/ }).click();
    await dialog.getByLabel('Reason').fill('Still 93 % on recheck; needs the physician today.');
    await dialog.getByRole('button', { name: 'Escalate alert' }).click();
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(async () => (await current()).escalationLevel).toBe(1);
    await expect.poll(() => page.locator('#announcer').textContent()).toContain('Escalated: Low oxygen saturation (< 94 %), patient pa-1.');
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

  it('shows values in the organization’s display units and times in its zone; a nurse may choose her own', async () => {
    await t.admin.createOrganization('org-c', 'Clinic C');
    const set = await request(`${t.baseUrl}/v1/admin/organizations/org-c/display`, { token: ADMIN_TOKEN, method: 'PUT', json: { weightUnit: '[lb_av]', temperatureUnit: '[degF]', timeZone: 'America/New_York' } });
    expect(set.status).toBe(200);
    const cara = await createNurse(t, 'org-c', 'cara@c.example', 'Cara Example');
    const scale = await enrolPatient(t, cara, { id: 'pc-1', organizationId: 'org-c', programs: ['general', 'heart-failure'] }, { id: 'scale-c1', kind: 'scale' });
    // The scale sends kilograms: +1.2 kg (2.6 lb) in a day, past the "> 2 lb in a day" limit.
    await postReadings(t, scale, [
      { kind: 'body-weight', value: 80.1, unit: 'kg', measuredAt: isoAgo(20 * 3_600_000) },
      { kind: 'body-weight', value: 81.3, unit: 'kg', measuredAt: isoAgo(60_000) },
    ]);
    await t.gw.ctx.alerting!.drain();
    const page = await open('cara', cara.email);
    const zone = /E[SD]T/; // America/New_York, winter or summer
    await expect.poll(() => page.locator('header .display-summary').textContent()).toMatch(/^lb · °F · mg\/dL · E[SD]T$/);
    const r = row(page, 'pc-1');
    await r.waitFor({ timeout: 10_000 });
    const text = (await r.textContent()) ?? '';
    expect(text).toContain('Weight gain over a day (> 2.0 lb in 24 h');
    expect(text).toMatch(/Weight up 2\.6 lb in 20 h: 176\.6 lb \(.+E[SD]T\) → 179\.2 lb/);
    expect(text).not.toContain('kg');
    expect(await r.locator('td.measured time').textContent()).toMatch(new RegExp(`^\\d\\d:\\d\\d ${zone.source}$`));

    await page.getByRole('link', { name: 'pc-1', exact: true }).click();
    const latest = page.getByRole('region', { name: 'Latest readings table' });
    await latest.waitFor();
    const first = latest.locator('tbody tr').first();
    expect(await first.locator('td').nth(2).textContent()).toBe('Weight 179.2 lb');
    expect(await first.locator('td').first().textContent()).toMatch(new RegExp(`^\\d\\d:\\d\\d ${zone.source}$`));
    expect(await page.locator('figure[data-kind="body-weight"] [role="img"]').getAttribute('aria-label')).toMatch(/latest Weight 179\.2 lb \(home\)/);
    // Her own choice over the organization's: kilograms and UTC, for her only; the page follows at once.
    await page.getByRole('button', { name: 'Display settings' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Weight').selectOption('kg');
    await dialog.getByLabel('Time zone').selectOption('UTC');
    await dialog.getByRole('button', { name: 'Save settings' }).click();
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(() => page.getByRole('region', { name: 'Latest readings table' }).locator('tbody tr').first().textContent()).toMatch(/^\d\d:\d\d UTCWeightWeight 81\.3 kg/);
    expect(await page.getByRole('region', { name: 'Latest readings table' }).locator('tbody tr td').nth(2).textContent()).toBe('Weight 81.3 kg');
    await page.getByRole('link', { name: 'Worklist', exact: true }).click();
    await expect.poll(() => row(page, 'pc-1').textContent()).toContain('→ 81.3 kg');
    expect(await row(page, 'pc-1').locator('td.measured time').textContent()).toMatch(/^\d\d:\d\d UTC$/);
    const mine = await request<{ own: Record<string, string> | null; effective: Record<string, string> }>(`${t.baseUrl}/v1/me/display`, { token: cara.token });
    expect(mine.body.own).toEqual({ weightUnit: 'kg', timeZone: 'UTC' });
    expect(mine.body.effective).toMatchObject({ weightUnit: 'kg', temperatureUnit: '[degF]', timeZone: 'UTC' });
    // Back to the organization's.
    await page.getByRole('button', { name: 'Display settings' }).click();
    await dialog.getByLabel('Weight').selectOption({ index: 0 });
    await dialog.getByLabel('Time zone').selectOption({ index: 0 });
    await dialog.getByRole('button', { name: 'Save settings' }).click();
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(() => row(page, 'pc-1').textContent()).toContain('→ 179.2 lb');
    await expect.poll(() => page.locator('#announcer').textContent()).toMatch(/Display settings saved: lb · °F · mg\/dL · E[SD]T, times in America\/New_York\./);
  });

  it('marks an alert raised from late data on the row and on the patient, in words', async () => {
    const ox = await enrolPatient(t, ann, { id: 'pa-2', organizationId: 'org-a', programs: ['general'] }, { id: 'ox-a2', kind: 'pulse-oximeter' });
    // Measured three hours ago, received now (a phone that was offline): late data.
    await postReadings(t, ox, [{ kind: 'spo2', value: 86, unit: '%', measuredAt: isoAgo(3 * 3_600_000) }]);
    const page = pages.ann;
    await page.getByRole('link', { name: 'Worklist', exact: true }).click();
    const r = row(page, 'pa-2');
    await r.waitFor({ timeout: 10_000 });
    const tag = r.locator('.tag-late');
    expect(await tag.textContent()).toBe('late data');
    expect(await tag.isVisible()).toBe(true);
    expect(await r.getAttribute('class')).toContain('late');
    expect(await r.locator('.why').textContent()).toContain('Raised from readings that arrived late');
    expect(await r.locator('td.measured').textContent()).toMatch(/3 h( \d+ min)? ago$/);
    await page.getByRole('link', { name: 'pa-2', exact: true }).click();
    const open = page.locator('.open-alerts li').first();
    await open.waitFor();
    expect(await open.locator('.late-note').textContent()).toContain('Late data: raised from readings that arrived late');
    expect(await open.locator('.tag-late').textContent()).toBe('late data');
  });

  it('records consciousness and oxygen from the patient page, completing NEWS2; a refused observation says why', async () => {
    const monitor = await enrolPatient(t, ann, { id: 'pa-3', organizationId: 'org-a', programs: ['general'] }, { id: 'mp-a3', kind: 'multi-parameter' });
    const at = isoAgo(5 * 60_000);
    await postReadings(t, monitor, [
      { kind: 'respiratory-rate', value: 18, unit: '/min', measuredAt: at },
      { kind: 'spo2', value: 95, pulse: 95, unit: '%', measuredAt: at },
      { kind: 'blood-pressure', systolic: 128, diastolic: 80, pulse: 95, unit: 'mmHg', measuredAt: at },
      { kind: 'heart-rate', value: 95, unit: '/min', measuredAt: at },
      { kind: 'body-temperature', value: 37.0, unit: 'Cel', measuredAt: at },
    ]);
    const page = pages.ann;
    await page.goto(`${t.baseUrl}/#/patients/pa-3`);
    const news2 = page.locator('section.news2');
    await expect.poll(() => news2.locator('.news2-status').textContent()).toBe('Incomplete: missing supplemental oxygen, consciousness.');

    const form = page.locator('form.obs-form');
    // A time in the future is refused by the server: nothing is stored, and the form says why.
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 16);
    await form.getByLabel('Measured at (UTC)').fill(tomorrow);
    await form.getByLabel('Consciousness (ACVPU)').selectOption('alert');
    await form.getByRole('button', { name: 'Record observations' }).click();
    const problem = form.locator('.obs-outcome [role="alert"]');
    await expect.poll(() => problem.textContent()).toContain('Nothing was recorded.');
    expect(await problem.textContent()).toMatch(/Consciousness: refused — measuredAt is more than \d+ s ahead of the gateway clock/);

    await form.getByLabel('Measured at (UTC)').fill(new Date(Date.now() - 60_000).toISOString().slice(0, 16));
    await form.getByLabel('Breathing').selectOption('room-air');
    await form.getByRole('button', { name: 'Record observations' }).click();
    await expect.poll(() => form.locator('.obs-outcome').textContent()).toBe('Consciousness: recorded.Supplemental oxygen: recorded.');
    // SpO2 95 % scores 1 and pulse 95 /min scores 1: NEWS2 2, low risk.
    await expect.poll(() => news2.locator('.news2-status').textContent()).toBe('Score 2 — low risk');
    const score = await request(`${t.baseUrl}/v1/patients/pa-3/news2`, { token: ann.token });
    expect(score.body).toMatchObject({ status: 'complete', total: 2 });
    await expect.poll(() => page.locator('#announcer').textContent()).toContain('Observations recorded for patient pa-3: 2 recorded.');
    // In the latest readings, with who entered them.
    const latest = page.getByRole('region', { name: 'Latest readings table' });
    const consciousness = latest.locator('tbody tr', { hasText: 'Consciousness: Alert' });
    await consciousness.waitFor();
    expect(await consciousness.locator('td').nth(4).textContent()).toBe('Entered by You');
    expect(await latest.locator('tbody tr', { hasText: 'Supplemental oxygen: room air' }).count()).toBe(1);
    const stored = (await t.admin.readings('pa-3')).filter((x: { kind: string }) => x.kind === 'consciousness' || x.kind === 'supplemental-oxygen');
    expect(stored).toHaveLength(2);
    for (const x of stored) expect(x).toMatchObject({ entryMethod: 'manual', recordedBy: ann.id });
  });

  it('shows a time entry the server stopped at sign-out with a visible note', async () => {
    const uma = await createNurse(t, 'org-a', 'uma@a.example', 'Uma Example');
    const started = await request<{ id: string }>(`${t.baseUrl}/v1/patients/pa-1/time/start`, { token: uma.token, method: 'POST', json: { interactive: false } });
    expect(started.status).toBe(201);
    // Her only session ends: the server stops her timer then, and says so on the entry.
    expect((await request(`${t.baseUrl}/v1/auth/logout`, { token: uma.token, method: 'POST' })).status).toBe(204);
    const page = pages.ann;
    await page.goto(`${t.baseUrl}/#/patients/pa-1`);
    const entry = page.locator(`.time-entries li[data-entry="${started.body.id}"]`);
    await entry.waitFor();
    expect(await entry.locator('.stopped-by').textContent()).toBe(' ⚠ stopped at sign-out');
  });

  it('stops the running timer before signing out, and says so', async () => {
    const tess = await createNurse(t, 'org-a', 'tess@a.example', 'Tess Example');
    const page = await open('tess', tess.email);
    await page.goto(`${t.baseUrl}/#/patients/pa-1`);
    await page.getByRole('button', { name: 'Start timer' }).click();
    await page.getByRole('button', { name: 'Stop timer' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'RPM nurse dashboard' }).waitFor();
    expect(await page.getByRole('status').textContent()).toMatch(/^You are signed out\. Your timer for patient pa-1 was stopped at sign-out \([\d.]+ min logged\)\.$/);
    const month = await request<{ entries: { staffId: string; endedAt: string | null; stopReason: string | null }[] }>(`${t.baseUrl}/v1/patients/pa-1/time`, { token: ann.token });
    const hers = month.body.entries.filter((e) => e.staffId === tess.id);
    expect(hers).toHaveLength(1);
    expect(hers[0]?.endedAt).not.toBeNull();
    expect(hers[0]?.stopReason).toBe('signed-out');
  });

  it('signs out after 15 idle minutes even while live updates re-render the worklist under a resting pointer and focus, and stops the timer', async () => {
    // A ward longer than the screen: the nurse scrolled down to pa-4, focused its Claim button and left.
    const cuff4 = await enrolPatient(t, ann, { id: 'pa-4', organizationId: 'org-a', programs: ['general', 'hypertension'] }, { id: 'cuff-a4', kind: 'bp-cuff' });
    await postReadings(t, cuff4, [{ kind: 'blood-pressure', systolic: 182, diastolic: 100, unit: 'mmHg', measuredAt: isoAgo(60_000) }]);
    const meters: string[] = [];
    for (let i = 1; i <= 10; i++) meters.push(await enrolPatient(t, ann, { id: `pg-${i}`, organizationId: 'org-a', programs: ['general'] }, { id: `meter-g${i}`, kind: 'glucometer' }));
    // Level-2 hypoglycemia (critical) ranks above pa-4: each new one is a row inserted above hers.
    const hypo = async (i: number): Promise<void> => postReadings(t, meters[i - 1] ?? '', [{ kind: 'blood-glucose', value: 45, unit: 'mg/dL', measuredAt: isoAgo(0) }]);
    for (let i = 1; i <= 3; i++) await hypo(i);
    const vic = await createNurse(t, 'org-a', 'vic@a.example', 'Vic Example');
    const context = await browser.newContext({ viewport: { width: 1280, height: 500 } });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`vic: ${err.message}`));
    await page.clock.install();
    await signIn(page, t.baseUrl, vic.email);
    // A timer running, as when she left for a break.
    await page.goto(`${t.baseUrl}/#/patients/pa-4`);
    await page.getByRole('button', { name: 'Start timer' }).click();
    await page.getByRole('button', { name: 'Stop timer' }).waitFor();
    await page.getByRole('link', { name: 'Worklist', exact: true }).click();
    const claim = row(page, 'pa-4').getByRole('button', { name: /^Claim/ });
    await claim.waitFor({ timeout: 10_000 });
    await page.mouse.wheel(0, 2000);
    await expect.poll(() => page.evaluate(() => window.scrollY)).toBeGreaterThan(0);
    const box = await claim.boundingBox();
    if (box === null) throw new Error('the Claim button has no box');
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await claim.focus();
    expect(await page.evaluate(() => window.scrollY)).toBeGreaterThan(0);
    // What the browser itself fires while nobody is there (scroll anchoring as rows are inserted above, hover updates).
    await page.evaluate(() => {
      const w = window as unknown as { unattended: string[] };
      w.unattended = [];
      for (const type of ['scroll', 'pointerover', 'pointermove']) window.addEventListener(type, (e) => e.isTrusted && w.unattended.push(type), { capture: true });
    });
    // Live updates for 14 minutes: a new alert above her row, and a worse reading in her row, every two minutes.
    for (let i = 1; i <= 7; i++) {
      await hypo(i + 3);
      await row(page, `pg-${i + 3}`).waitFor({ timeout: 10_000 });
      const systolic = 182 + 2 * i;
      await postReadings(t, cuff4, [{ kind: 'blood-pressure', systolic, diastolic: 100, unit: 'mmHg', measuredAt: isoAgo(0) }]);
      await expect.poll(() => row(page, 'pa-4').textContent(), { timeout: 10_000 }).toContain(`BP ${systolic}/100 mmHg`);
      expect(await page.evaluate(() => document.activeElement?.closest('tr')?.getAttribute('data-row'))).toBe('pa-4');
      await page.clock.runFor('02:00');
    }
    // The trap is real: the page scrolled by itself under the resting pointer (and these once counted as activity).
    expect(await page.evaluate(() => (window as unknown as { unattended: string[] }).unattended)).toContain('scroll');
    // Fourteen minutes without her (and one more idle check): warned, whatever the screen did meanwhile.
    await page.clock.runFor('00:10');
    await expect.poll(() => page.locator('.idle-banner').textContent()).toContain('You will be signed out in 1 minute without activity.');
    await page.clock.runFor('01:30');
    await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/^You were signed out after 15 minutes without activity\. Your timer for patient pa-4 was stopped at your last activity/);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    // Stopped at her last activity, marked so: the idle minutes are not logged.
    const month = await request<{ entries: { staffId: string; endedAt: string | null; stopReason: string | null; minutes: number | null }[] }>(`${t.baseUrl}/v1/patients/pa-4/time`, { token: ann.token });
    const hers = month.body.entries.filter((e) => e.staffId === vic.id);
    expect(hers.map((e) => [e.endedAt === null, e.stopReason])).toEqual([[false, 'session-expired']]);
    expect(hers[0]?.minutes ?? 99).toBeLessThan(14);
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
