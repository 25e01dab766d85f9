import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { seriousViolations } from './axe.js';
import { buildDashboard, launchChromium } from './browser.js';
import { signIn } from './scenario.js';
import { createNurse, isoAgo, type Nurse, postReadings } from './seed.js';

const tomorrowUtc = (): string => new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);

/**
 * The scheduling flows a nurse uses, in real Chromium against a real gateway: the patient header
 * (two identifiers), booking from the patient page (type, date, free times, book; a time taken
 * meanwhile answers with fresh times), the patient's upcoming and past visits, and my day with
 * each patient's identifiers and a Join button for video visits. axe-core finds no serious or
 * critical violation on these pages.
 */
describe('Dashboard: patient header, booking, visits, my day (Chromium)', () => {
  let build: Awaited<ReturnType<typeof buildDashboard>>;
  let t: TestGateway;
  let browser: Browser;
  let context: BrowserContext;
  let nurse: Nurse;
  let colleague: Nurse;

  beforeAll(async () => {
    build = await buildDashboard();
    t = await startTestGateway({ RPM_DASHBOARD_DIR: build.dir });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1366, height: 900 }, bypassCSP: true });
    await t.admin.createOrganization('org-a', 'Clinic A');
    nurse = await createNurse(t, 'org-a', 'ann@a.example', 'Ann Example');
    colleague = await createNurse(t, 'org-a', 'cleo@a.example', 'Cleo Example');
    const weekly = [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: '08:00', end: '18:00' }));
    for (const n of [nurse, colleague]) {
      const res = await request(`${t.baseUrl}/v1/staff/${n.id}/availability`, { method: 'PUT', token: n.token, json: { timeZone: 'UTC', weekly } });
      expect(res.status).toBe(200);
    }
    await t.admin.createPatient('pa-1', { organizationId: 'org-a' });
    await t.admin.createPatient('pa-2', { organizationId: 'org-a' });
    const put = await request(`${t.baseUrl}/v1/patients/pa-1/identity`, {
      method: 'PUT',
      token: nurse.token,
      json: { givenName: 'Annabelle', familyName: 'Quintero-Vasquez', birthDate: '1948-02-29', mrn: 'MRN-77123', phone: '+15557654321', preferredLanguage: 'es-MX', timeZone: 'America/Chicago' },
    });
    expect(put.status).toBe(200);
    expect((await request(`${t.baseUrl}/v1/patients/pa-1/consents/telehealth`, { token: nurse.token, json: { granted: true, method: 'verbal' } })).status).toBe(201);
    // A crisis reading puts pa-1 on the worklist.
    const cuff = await t.admin.createDevice({ id: 'cuff-1', kind: 'bp-cuff', patientId: 'pa-1' });
    await postReadings(t, cuff, [{ kind: 'blood-pressure', systolic: 188, diastolic: 104, unit: 'mmHg', measuredAt: isoAgo(60_000) }]);
    await t.gw.ctx.alerting!.drain();
  }, 120_000);

  it('names the patient on the worklist row: name, date of birth, MRN, phone and time zone (whom to call, when)', async () => {
    const page = await context.newPage();
    await signIn(page, t.baseUrl, nurse.email);
    const row = page.locator('table.worklist tbody tr[data-row="pa-1"]');
    await row.getByRole('link', { name: 'Quintero-Vasquez, Annabelle' }).waitFor();
    const text = (await row.locator('th').textContent()) ?? '';
    for (const part of ['DOB 1948-02-29', 'MRN MRN-77123', '+15557654321', 'America/Chicago']) expect(text).toContain(part);
    expect(await seriousViolations(page), 'worklist with names').toEqual([]);
    await page.close();
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await t?.close();
    build?.dispose();
  });

  it('shows the patient header and books a visit from the patient page; a taken time is refused with fresh choices', async () => {
    const page = await context.newPage();
    await signIn(page, t.baseUrl, nurse.email);
    await page.goto(`${t.baseUrl}/#/patients/pa-1`);
    await page.getByRole('heading', { level: 1, name: 'Quintero-Vasquez, Annabelle' }).waitFor();
    const header = page.locator('section.patient-header');
    await expect.poll(() => header.textContent()).toContain('1948-02-29 (age');
    const text = (await header.textContent()) ?? '';
    for (const part of ['MRN', 'MRN-77123', '+15557654321', 'Mexican Spanish', 'America/Chicago', 'general', 'Telehealth consent', 'Given (verbal']) expect(text).toContain(part);

    // Book: type, date, free times.
    await page.locator('#visit-type option').first().waitFor({ state: 'attached' });
    await page.getByLabel('Visit type').selectOption('monthly-check-in');
    await page.getByLabel('Date').fill(tomorrowUtc());
    await page.getByRole('button', { name: 'Find free times' }).click();
    const firstSlot = page.locator('input[name="slot"]').first();
    await firstSlot.waitFor();
    const taken = await firstSlot.getAttribute('value');
    expect(taken).toBe(`${tomorrowUtc()}T08:00:00.000Z`);
    expect(await seriousViolations(page), 'patient page with booking form').toEqual([]);

    // Someone else takes that time (for another patient) before the nurse presses Book.
    const other = await request(`${t.baseUrl}/v1/appointments`, { token: colleague.token, json: { patientId: 'pa-2', staffId: nurse.id, typeId: 'monthly-check-in', start: taken } });
    expect(other.status).toBe(201);
    await page.getByRole('button', { name: 'Book visit' }).click();
    await page.getByRole('alert').filter({ hasText: 'That time was just taken' }).waitFor();
    await expect.poll(() => page.locator('input[name="slot"]').first().getAttribute('value')).not.toBe(taken);

    await page.getByRole('button', { name: 'Book visit' }).click();
    await page.locator('.booked-note').waitFor();
    const upcoming = page.getByRole('list', { name: 'Upcoming visits' });
    await upcoming.locator('li[data-visit]').first().waitFor();
    expect(await upcoming.textContent()).toMatch(/Monthly check-in · Video · Booked · with You/);
    await upcoming.getByRole('button', { name: /^Join video visit with Quintero-Vasquez, Annabelle/ }).waitFor();
  });

  it("shows my day with each patient's two identifiers and Join buttons, and no accessibility violations", async () => {
    const page = await context.newPage();
    await signIn(page, t.baseUrl, nurse.email);
    await page.getByRole('link', { name: 'My day' }).click();
    await page.getByRole('heading', { level: 1, name: /^My day: / }).waitFor();
    await page.goto(`${t.baseUrl}/#/day/${tomorrowUtc()}`);
    await page.getByRole('heading', { level: 1, name: `My day: ${tomorrowUtc()}` }).waitFor();
    const rows = page.locator('table.visits tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(2);
    const annabelle = page.locator('table.visits tbody tr', { hasText: 'Quintero-Vasquez, Annabelle' });
    expect(await annabelle.textContent()).toMatch(/DOB 1948-02-29 \(age \d+ y\) · MRN MRN-77123/);
    const unnamed = page.locator('table.visits tbody tr', { hasText: 'Patient pa-2' });
    expect(await unnamed.textContent()).toContain('Identity not recorded');
    expect(await page.getByRole('button', { name: /^Join video visit with/ }).count()).toBe(2);
    expect(await seriousViolations(page), 'my day').toEqual([]);
    // Tomorrow's visit is not open yet: Join says when it opens and starts nothing.
    await annabelle.getByRole('button', { name: /^Join/ }).click();
    await page.getByRole('alert').filter({ hasText: 'This visit opens 30 minutes before it starts' }).waitFor();
    expect((await request(`${t.baseUrl}/v1/patients/pa-1/visits`, { token: nurse.token })).body.visits).toEqual([]);
    // From my day to the patient page: the visit is upcoming, nothing past yet.
    await annabelle.getByRole('link').click();
    await page.getByRole('heading', { level: 1, name: 'Quintero-Vasquez, Annabelle' }).waitFor();
    expect(await page.getByRole('list', { name: 'Past visits' }).textContent()).toContain('None.');
  });

  it('joins a booked video visit from my day and from the patient’s upcoming visits: one visit linked to the appointment', async () => {
    // A nurse working around the clock, with a visit in two minutes.
    const dee = await createNurse(t, 'org-a', 'dee@a.example', 'Dee Example');
    const allDay = [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: '00:00', end: '23:59' }));
    // Working hours cannot cross midnight: near midnight UTC she works in Tokyo (UTC+9, no DST), so a visit booked now fits her day.
    const hour = new Date().getUTCHours();
    const timeZone = hour >= 20 || hour < 4 ? 'Asia/Tokyo' : 'UTC';
    expect((await request(`${t.baseUrl}/v1/staff/${dee.id}/availability`, { method: 'PUT', token: dee.token, json: { timeZone, weekly: allDay } })).status).toBe(200);
    const start = new Date(Math.ceil((Date.now() + 2 * 60_000) / 60_000) * 60_000).toISOString();
    const booked = await request(`${t.baseUrl}/v1/appointments`, { token: dee.token, json: { patientId: 'pa-1', staffId: dee.id, typeId: 'monthly-check-in', start } });
    expect(booked.status, JSON.stringify(booked.body)).toBe(201);
    const appointmentId: string = booked.body.id;

    const page = await context.newPage();
    await signIn(page, t.baseUrl, dee.email);
    await page.goto(`${t.baseUrl}/#/day/${new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(start))}`);
    const row = page.locator(`table.visits tbody tr[data-visit="${appointmentId}"]`);
    await row.getByRole('button', { name: 'Join video visit with Quintero-Vasquez, Annabelle' }).waitFor();
    expect(await seriousViolations(page), 'my day with a visit about to start').toEqual([]);
    await row.getByRole('button', { name: /^Join/ }).click();
    await page.waitForURL(/#\/visits\/[0-9a-f-]{36}$/);
    await page.getByRole('heading', { level: 1, name: /^Video visit/ }).waitFor();
    const visitId = /#\/visits\/([0-9a-f-]{36})$/.exec(page.url())?.[1] ?? '';
    const visit = (await request(`${t.baseUrl}/v1/visits/${visitId}`, { token: dee.token })).body;
    expect(visit).toMatchObject({ patientId: 'pa-1', staffId: dee.id, appointmentId, status: 'waiting' });
    expect(await seriousViolations(page), 'call view of an appointment').toEqual([]);

    // The patient page's upcoming visit: Join goes back into the same visit, none is added.
    await page.goto(`${t.baseUrl}/#/patients/pa-1`);
    const upcoming = page.getByRole('list', { name: 'Upcoming visits' });
    await upcoming.locator(`li[data-visit="${appointmentId}"]`).getByRole('button', { name: /^Join video visit with/ }).click();
    await page.waitForURL(new RegExp(`#/visits/${visitId}$`));
    expect((await request(`${t.baseUrl}/v1/patients/pa-1/visits?open=true`, { token: dee.token })).body.visits.map((v: { id: string }) => v.id)).toEqual([visitId]);
    await page.close();
  }, 60_000);
});
