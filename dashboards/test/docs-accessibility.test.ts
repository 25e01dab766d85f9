import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { axeViolations, describeViolations } from './axe.js';
import { launchChromium } from './browser.js';

/**
 * /docs, the API documentation, in Chromium: no axe-core violation of any impact (Swagger UI had
 * 2 critical and 2 serious), a strict CSP that the page itself never trips (no script at all), and
 * every operation of the OpenAPI document on the page, reachable by keyboard.
 */
describe('API documentation at /docs (axe-core in Chromium)', () => {
  let t: TestGateway;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestGateway();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('loads under its CSP without a violation, and shows every operation of the OpenAPI document', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    try {
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(e.message));
      const res = await page.goto(`${t.baseUrl}/docs`);
      expect(res?.status()).toBe(200);
      expect(res?.headers()['content-security-policy']).toContain("script-src 'none'");
      // The stylesheet applied (under style-src 'self'): the method badges have their colour.
      expect(await page.locator('.method-post').first().evaluate((el) => getComputedStyle(el).backgroundColor)).toBe('rgb(30, 107, 47)');
      expect(await page.locator('script').count()).toBe(0);
      expect(problems).toEqual([]);
      const doc = (await (await fetch(`${t.baseUrl}/docs/json`)).json()) as { paths: Record<string, Record<string, unknown>> };
      const operations = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
      expect(await page.locator('section.operation').count()).toBe(operations);
      await expect(page.getByRole('heading', { name: 'POST /v1/readings' }).count()).resolves.toBe(1);
    } finally {
      await context.close();
    }
  });

  for (const [device, viewport] of [
    ['laptop', { width: 1366, height: 768 }],
    ['phone', { width: 390, height: 844 }],
  ] as const) {
    it(`has no axe violations, with every operation folded and unfolded (${device})`, async () => {
      // axe is injected as an inline script, which the page's CSP (rightly) refuses.
      const context = await browser.newContext({ viewport, bypassCSP: true });
      try {
        const page = await context.newPage();
        await page.goto(`${t.baseUrl}/docs`);
        expect(describeViolations(await axeViolations(page), 3), 'folded').toEqual([]);
        await page.evaluate(() => document.querySelectorAll('details').forEach((d) => d.setAttribute('open', '')));
        expect(describeViolations(await axeViolations(page), 3), 'unfolded').toEqual([]);
        // Keyboard: the skip link first, then it moves focus to the operations.
        await page.keyboard.press('Tab');
        expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to the operations');
        await page.keyboard.press('Enter');
        expect(await page.evaluate(() => location.hash)).toBe('#main');
      } finally {
        await context.close();
      }
      // Two full-page audits of every operation unfolded: seconds on a quiet machine, but CI shares
      // two cores with the other test files (it once took over 30 s).
    }, 120_000);
  }
});
