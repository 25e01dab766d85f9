/**
 * Screenshots of the worklist and the patient view with realistic data, for the README:
 *   node --import tsx dashboards/test/screenshots.ts      → docs/worklist.png, docs/patient.png
 * A real gateway (temporary data dir), the dashboard built from source, Debian's Chromium.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { startTestGateway } from '../../test/helpers/gateway.js';
import { buildDashboard, launchChromium, REPO } from './browser.js';
import { seedWard, signIn } from './scenario.js';

const build = await buildDashboard();
const t = await startTestGateway({ RPM_DASHBOARD_DIR: build.dir });
const browser = await launchChromium();
try {
  const ward = await seedWard(t);
  // Last-seen times are written every few seconds; write them now so the devices table shows them.
  await t.gw.ctx.presence.flush();
  const page = await browser.newPage({ viewport: { width: 1440, height: 860 }, deviceScaleFactor: 1 });
  await signIn(page, t.baseUrl, ward.ann.email);
  await page.locator('table.worklist tbody tr').nth(7).waitFor();
  const docs = path.join(REPO, 'docs');
  mkdirSync(docs, { recursive: true });
  await page.screenshot({ path: path.join(docs, 'worklist.png') });

  await page.getByRole('link', { name: ward.featured, exact: true }).click();
  await page.locator('figure[data-kind="blood-pressure"] canvas').first().waitFor();
  await page.getByRole('button', { name: 'Start timer' }).click();
  await page.getByRole('button', { name: 'Stop timer' }).waitFor();
  await page.locator('.history-list details').first().click();
  await page.locator('.events-list li').first().waitFor();
  await page.mouse.move(10, 10);
  await page.screenshot({ path: path.join(docs, 'patient.png'), fullPage: true });
  console.log(`wrote ${path.join(docs, 'worklist.png')} and ${path.join(docs, 'patient.png')}`);
} finally {
  await browser.close();
  await t.close();
  build.dispose();
}
