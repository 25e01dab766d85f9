/**
 * Screenshots of the roster, the billing page and the administration screens, for the README:
 *   node --import tsx dashboards/test/panel-screenshots.ts
 *   → docs/roster.png, docs/roster-tablet.png, docs/billing.png, docs/admin-staff.png, docs/admin-devices.png, docs/admin-care-plans.png
 * A real gateway (temporary data dir), the dashboard built from source, Debian's Chromium.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { request, startTestGateway } from '../../test/helpers/gateway.js';
import { buildDashboard, launchChromium, REPO } from './browser.js';
import { seedWard, signIn } from './scenario.js';

const DAY = 86_400_000;
const build = await buildDashboard();
const t = await startTestGateway({ RPM_DASHBOARD_DIR: build.dir });
const browser = await launchChromium();
try {
  const ward = await seedWard(t);
  await t.admin.createStaff({ email: 'omar.haddad@riverside.example', role: 'physician', organizationId: 'riverside', displayName: 'Dr Omar Haddad' });
  await t.admin.createStaff({ email: 'priya.shah@riverside.example', role: 'admin', organizationId: 'riverside', displayName: 'Priya Shah' });
  const admin = await t.admin.login('priya.shah@riverside.example');
  await request(`${t.baseUrl}/v1/admin/organizations/riverside/display`, { method: 'PUT', token: admin, json: { timeZone: 'America/New_York', weightUnit: '[lb_av]' } });
  await t.admin.createCareTeam('north', 'riverside', 'North team');
  await t.admin.addTeamMember('north', ward.ann.id);
  for (const p of [ward.featured, 'pt-2210', 'pt-0877']) await t.admin.addTeamPatient('north', p);
  const people: [string, string, string, string][] = [
    [ward.featured, 'Maria', 'Gonzalez', '1951-03-14'],
    ['pt-2210', 'Robert', 'Chen', '1946-11-02'],
    ['pt-0877', 'Dorothy', 'Williams', '1939-06-21'],
    ['pt-3391', 'James', 'Okafor', '1962-01-30'],
  ];
  for (const [id, given, family, born] of people) {
    await request(`${t.baseUrl}/v1/patients/${id}/identity`, {
      method: 'PUT',
      token: admin,
      json: { givenName: given, familyName: family, birthDate: born, mrn: `RV-${id.slice(3)}`, phone: null, preferredLanguage: 'en', timeZone: 'America/New_York' },
    });
  }
  // The featured patient's episode started 45 days ago: its first device period ended 16 days ago.
  const start = new Date(Date.now() - 45 * DAY).toISOString().slice(0, 10);
  await request(`${t.baseUrl}/v1/patients/${ward.featured}/billing-episode`, { method: 'PUT', token: admin, json: { startDate: start, timeZone: 'America/New_York', reason: 'Enrolled at the March visit' } });
  await t.gw.ctx.presence.flush();
  const docs = path.join(REPO, 'docs');
  mkdirSync(docs, { recursive: true });

  const laptop = await browser.newPage({ viewport: { width: 1366, height: 768 }, deviceScaleFactor: 1 });
  await signIn(laptop, t.baseUrl, 'omar.haddad@riverside.example');
  await laptop.goto(`${t.baseUrl}/#/roster`);
  await laptop.locator('table.roster tbody tr').nth(7).waitFor();
  await laptop.screenshot({ path: path.join(docs, 'roster.png') });
  const month = new Date(Date.now() - 16 * DAY).toISOString().slice(0, 7);
  await laptop.goto(`${t.baseUrl}/#/billing?month=${month}`);
  await laptop.locator('table.billing tbody tr').first().waitFor();
  await laptop.locator('table.billing details').first().click();
  await laptop.screenshot({ path: path.join(docs, 'billing.png'), fullPage: true });

  const tablet = await browser.newPage({ viewport: { width: 768, height: 1024 }, deviceScaleFactor: 1 });
  await signIn(tablet, t.baseUrl, ward.ann.email);
  await tablet.goto(`${t.baseUrl}/#/roster?mine=true`);
  await tablet.locator('table.roster tbody tr').nth(2).waitFor();
  await tablet.screenshot({ path: path.join(docs, 'roster-tablet.png') });

  const adminPage = await browser.newPage({ viewport: { width: 1366, height: 768 }, deviceScaleFactor: 1 });
  await signIn(adminPage, t.baseUrl, 'priya.shah@riverside.example');
  for (const section of ['staff', 'devices', 'care-plans']) {
    await adminPage.goto(`${t.baseUrl}/#/admin/${section}`);
    await adminPage.locator('.admin-body table tbody tr').first().waitFor();
    await adminPage.screenshot({ path: path.join(docs, `admin-${section}.png`) });
  }
  console.log(`wrote roster, roster-tablet, billing and admin screenshots to ${docs}`);
} finally {
  await browser.close();
  await t.close();
  build.dispose();
}
