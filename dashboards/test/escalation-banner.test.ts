import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { buildDashboard, launchChromium } from './browser.js';
import { signIn } from './scenario.js';

/**
 * When an organization's escalations reach nobody (no charge nurse with a phone), its charge
 * nurses and admins see it on every page of the dashboard; other nurses do not; it goes once a
 * charge nurse has a phone.
 */
describe('escalation banner in headless Chromium', () => {
  let build: Awaited<ReturnType<typeof buildDashboard>>;
  let t: TestGateway;
  let browser: Browser;

  beforeAll(async () => {
    build = await buildDashboard();
    t = await startTestGateway({ RPM_DASHBOARD_DIR: build.dir });
    browser = await launchChromium();
    await t.admin.createOrganization('org-x', 'Clinic X');
    await t.admin.createStaff({ email: 'chief@x.example', role: 'nurse', organizationId: 'org-x', displayName: 'Chief', isChargeNurse: true });
    await t.admin.createStaff({ email: 'ned@x.example', role: 'nurse', organizationId: 'org-x', displayName: 'Ned' });
    await t.admin.createStaff({ email: 'ada@x.example', role: 'admin', organizationId: 'org-x', displayName: 'Ada' });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    build?.dispose();
  });

  const banner = 'Escalations cannot be delivered: no charge nurse with a phone.';

  it('shows charge nurses and admins, not other nurses, that escalations reach nobody, until a charge nurse has a phone', { timeout: 120_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      for (const email of ['chief@x.example', 'ada@x.example']) {
        const page = await context.newPage();
        await signIn(page, t.baseUrl, email);
        const alert = page.getByRole('alert').filter({ hasText: banner });
        await alert.waitFor({ timeout: 10_000 });
        expect(await alert.isVisible(), email).toBe(true);
        await page.close();
      }
      const ned = await context.newPage();
      const nedAsked: string[] = [];
      ned.on('request', (r) => {
        if (r.url().endsWith('/v1/escalations/reach')) nedAsked.push(r.url());
      });
      await signIn(ned, t.baseUrl, 'ned@x.example');
      await ned.getByText('0 patients').waitFor();
      // Not asked (the API would answer her 403), not shown.
      expect(nedAsked).toEqual([]);
      expect(await ned.getByText(banner).count()).toBe(0);

      await t.admin.createStaff({ email: 'cho@x.example', role: 'nurse', organizationId: 'org-x', displayName: 'Cho', isChargeNurse: true, phone: '+15550101010' });
      const chief = await context.newPage();
      const answered = chief.waitForResponse((r) => r.url().endsWith('/v1/escalations/reach'));
      await signIn(chief, t.baseUrl, 'chief@x.example');
      expect(await (await answered).json()).toEqual({ deliverable: true, reason: null, message: null });
      expect(await chief.getByText(banner).count()).toBe(0);
    } finally {
      await context.close();
    }
  });
});
