import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { seriousViolations } from './axe.js';
import { buildDashboard, launchChromium } from './browser.js';
import { signIn } from './scenario.js';
import { bpHistory, createNurse, enrolPatient, isoAgo, type Nurse, postReadings } from './seed.js';

/**
 * Accessibility of the three pages a nurse lives in (and the action dialog), on a laptop and on
 * a tablet, plus keyboard-only use of the main path.
 */
describe('Nurse dashboard accessibility (axe-core in Chromium)', () => {
  let build: Awaited<ReturnType<typeof buildDashboard>>;
  let t: TestGateway;
  let browser: Browser;
  let nurse: Nurse;
  let cuff: string;
  const contexts: BrowserContext[] = [];

  async function page(viewport: { width: number; height: number }): Promise<Page> {
    // axe is injected as an inline script, which the app's Content-Security-Policy (rightly) refuses.
    const context = await browser.newContext({ viewport, bypassCSP: true });
    contexts.push(context);
    return context.newPage();
  }

  beforeAll(async () => {
    build = await buildDashboard();
    t = await startTestGateway({ RPM_DASHBOARD_DIR: build.dir });
    browser = await launchChromium();
    await t.admin.createOrganization('org-a', 'Clinic A');
    nurse = await createNurse(t, 'org-a', 'ann@a.example', 'Ann Example');
    cuff = await enrolPatient(t, nurse, { id: 'pa-1', organizationId: 'org-a', programs: ['general', 'hypertension'] }, { id: 'cuff-a1', kind: 'bp-cuff' });
    await postReadings(t, cuff, [...bpHistory(30, 10, { clinicEvery: 4 }), { kind: 'blood-pressure', systolic: 188, diastolic: 104, unit: 'mmHg', measuredAt: isoAgo(120_000) }]);
    await t.gw.ctx.alerting!.drain();
  });

  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await t?.close();
    build?.dispose();
  });

  for (const [device, viewport] of [
    ['laptop', { width: 1366, height: 768 }],
    ['tablet', { width: 768, height: 1024 }],
  ] as const) {
    it(`has no serious or critical violations on the sign-in page, worklist, settings and action dialogs and patient view (${device})`, async () => {
      const p = await page(viewport);
      await p.goto(`${t.baseUrl}/`);
      await p.getByLabel('Email').waitFor();
      expect(await seriousViolations(p), 'sign-in page').toEqual([]);

      await signIn(p, t.baseUrl, nurse.email);
      await p.locator('table.worklist tbody tr[data-row="pa-1"]').waitFor();
      expect(await seriousViolations(p), 'worklist').toEqual([]);
      // The row's tags, priority reasons and screen-reader labels stay inside the table's scrolling region.
      expect(await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth), 'worklist page width').toBeLessThanOrEqual(0);

      await p.getByRole('button', { name: 'Display settings' }).click();
      await p.getByRole('dialog').waitFor();
      expect(await seriousViolations(p), 'display settings dialog').toEqual([]);
      await p.keyboard.press('Escape');
      await p.getByRole('dialog').waitFor({ state: 'detached' });

      await p.getByRole('button', { name: /^Resolve…/ }).click();
      await p.getByRole('dialog').waitFor();
      expect(await seriousViolations(p), 'resolve dialog').toEqual([]);
      await p.keyboard.press('Escape');
      await p.getByRole('dialog').waitFor({ state: 'detached' });

      await p.getByRole('link', { name: 'pa-1', exact: true }).click();
      await p.locator('figure[data-kind="blood-pressure"] canvas').first().waitFor();
      await p.locator('.devices table').waitFor();
      expect(await seriousViolations(p), 'patient view').toEqual([]);
      // Readable without sideways scrolling of the page (wide tables scroll inside their own region).
      expect(await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    });
  }

  it('works from the keyboard: skip link, claim from the row, focus kept on the row, dialog returns focus', async () => {
    const p = await page({ width: 1366, height: 768 });
    await p.goto(`${t.baseUrl}/`);
    // Focus starts in the email field.
    await p.keyboard.type(nurse.email);
    await p.keyboard.press('Tab');
    await p.keyboard.type('correct horse battery');
    await p.keyboard.press('Enter');
    await p.getByRole('heading', { level: 1, name: 'Worklist' }).waitFor();
    // After navigation focus is on the view's heading.
    expect(await p.evaluate(() => document.activeElement?.textContent)).toBe('Worklist');
    await p.locator('tr[data-row="pa-1"]').waitFor();

    // The skip link comes before the navigation and moves focus to <main> without changing the route.
    await p.locator('header nav a').first().focus();
    await p.keyboard.press('Shift+Tab');
    expect(await p.evaluate(() => document.activeElement?.textContent)).toBe('Skip to main content');
    await p.keyboard.press('Enter');
    expect(await p.evaluate(() => document.activeElement?.id)).toBe('main');
    expect(p.url()).toMatch(/#\/worklist$/);

    // Tab to the row's Claim button and press it: the row is rebuilt, focus stays in it.
    await p.locator('tr[data-row="pa-1"] a').focus();
    await p.keyboard.press('Tab');
    expect(await p.evaluate(() => document.activeElement?.textContent)).toMatch(/^Claim: /);
    await p.keyboard.press('Enter');
    await p.locator('tr[data-row="pa-1"] td', { hasText: 'You' }).waitFor();
    expect(await p.evaluate(() => document.activeElement?.closest('tr')?.getAttribute('data-row'))).toBe('pa-1');

    // Open the snooze dialog from the keyboard, cancel with Escape: focus returns to its button.
    await p.locator('tr[data-row="pa-1"]').getByRole('button', { name: /^Snooze…/ }).focus();
    await p.keyboard.press('Enter');
    await p.getByRole('dialog').waitFor();
    expect(await p.evaluate(() => document.activeElement?.closest('dialog') !== null)).toBe(true);
    await p.keyboard.press('Escape');
    await p.getByRole('dialog').waitFor({ state: 'detached' });
    expect(await p.evaluate(() => document.activeElement?.textContent)).toMatch(/^Snooze…: /);
  });
});
