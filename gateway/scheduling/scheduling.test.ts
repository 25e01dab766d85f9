import ICAL from 'ical.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { startTwilioDouble, type TwilioDouble, twilioSignature } from '../../test/helpers/twilio-double.js';

const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const AUTH_TOKEN = 'twilio-auth-token-scheduling';
const PUBLIC_URL = 'https://gw.example.org';
const MIN = 60_000;
const HOUR = 60 * MIN;

/** Tuesday 8 Dec 2026, 10:00 in New York (EST, UTC-5). */
const TUE_10 = Date.parse('2026-12-08T15:00:00Z');
const at = (ms: number): string => new Date(ms).toISOString();

const identity = (over: Record<string, unknown> = {}) => ({
  givenName: 'Annabelle',
  familyName: 'Quintero-Vasquez',
  birthDate: '1948-02-29',
  mrn: 'MRN-77123',
  phone: '+15557654321',
  preferredLanguage: 'en-US',
  timeZone: 'America/Chicago',
  ...over,
});

describe('Scheduling: working hours, booking without double booking, reminders without PHI, SMS replies, iCalendar feed', () => {
  let t: TestGateway;
  let twilio: TwilioDouble;
  let now = Date.parse('2026-12-07T12:00:00Z');
  const clock = { now: () => now };
  let ann: string;
  let annId: string;
  let cleo: string;
  let cleoId: string;
  let admin: string;
  let bob: string;

  beforeAll(async () => {
    twilio = await startTwilioDouble({ accountSid: ACCOUNT, authToken: AUTH_TOKEN });
    t = await startTestGateway(
      { RPM_SESSION_IDLE_MINUTES: '1440', RPM_SESSION_MAX_HOURS: '168', RPM_TWILIO_ACCOUNT_SID: ACCOUNT, RPM_TWILIO_AUTH_TOKEN: AUTH_TOKEN, RPM_TWILIO_FROM: '+15550001111', RPM_TWILIO_BASE_URL: twilio.url, RPM_PUBLIC_URL: PUBLIC_URL },
      { clock },
    );
    await t.admin.createOrganization('org-a');
    await t.admin.createOrganization('org-b');
    annId = (await t.admin.createStaff({ email: 'ann@a.example', role: 'nurse', organizationId: 'org-a', displayName: 'Ann' })).id;
    cleoId = (await t.admin.createStaff({ email: 'cleo@a.example', role: 'nurse', organizationId: 'org-a', displayName: 'Cleo' })).id;
    await t.admin.createStaff({ email: 'boss@a.example', role: 'admin', organizationId: 'org-a' });
    await t.admin.createStaff({ email: 'bob@b.example', role: 'nurse', organizationId: 'org-b' });
    ann = await t.admin.login('ann@a.example');
    cleo = await t.admin.login('cleo@a.example');
    admin = await t.admin.login('boss@a.example');
    bob = await t.admin.login('bob@b.example');
    for (const p of ['pa-1', 'pa-2', 'pa-3']) await t.admin.createPatient(p, { organizationId: 'org-a' });
    for (let i = 0; i < 10; i++) await t.admin.createPatient(`race-${i}`, { organizationId: 'org-a' });
    await t.admin.createPatient('pb-1', { organizationId: 'org-b' });
    expect((await request(`${t.baseUrl}/v1/patients/pa-1/identity`, { method: 'PUT', token: ann, json: identity() })).status).toBe(200);
    expect((await request(`${t.baseUrl}/v1/patients/pa-2/identity`, { method: 'PUT', token: ann, json: identity({ givenName: 'Bert', familyName: 'Lindqvist', mrn: 'MRN-2', phone: '+15559990000', preferredLanguage: 'es-MX' }) })).status).toBe(200);
  });
  afterAll(async () => {
    await t.close();
    await twilio.close();
  });

  const api = (path: string, token: string, json?: unknown, method?: string) => request(`${t.baseUrl}${path}`, { token, ...(json === undefined ? {} : { json }), ...(method === undefined ? {} : { method }) });
  const book = (token: string, body: Record<string, unknown>) => api('/v1/appointments', token, { typeId: 'monthly-check-in', ...body });
  const weekdays = [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: '09:00', end: '17:00' }));

  it('records working hours: your own, or an administrator for you; other organizations see nobody', async () => {
    const mine = await api(`/v1/staff/${annId}/availability`, ann, { timeZone: 'America/New_York', weekly: weekdays, exceptions: [{ date: '2026-12-09', available: false }], expectedVersion: 0 }, 'PUT');
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({ timeZone: 'America/New_York', version: 1 });
    expect((await api(`/v1/staff/${cleoId}/availability`, ann, { timeZone: 'America/New_York', weekly: weekdays }, 'PUT')).status).toBe(403);
    expect((await api(`/v1/staff/${cleoId}/availability`, admin, { timeZone: 'America/New_York', weekly: weekdays }, 'PUT')).status).toBe(200);
    expect((await api(`/v1/staff/${annId}/availability`, bob)).status).toBe(404);
    expect((await api(`/v1/staff/${annId}/availability`, ann, { timeZone: 'America/New_York', weekly: weekdays, expectedVersion: 0 }, 'PUT')).body.code).toBe('RPM_ERR_AVAILABILITY_VERSION_CONFLICT');
    expect((await api(`/v1/staff/${annId}/availability`, cleo)).body.exceptions).toEqual([{ date: '2026-12-09', available: false }]);
  });

  it('offers the default appointment types and lets administrators add one', async () => {
    const types = (await api('/v1/scheduling/appointment-types', ann)).body.types;
    expect(types).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: 'monthly-check-in', durationMinutes: 20, modality: 'video' }),
        expect.objectContaining({ id: 'device-onboarding', durationMinutes: 30, modality: 'video' }),
      ]),
    );
    const add = { id: 'care-plan-review', name: 'Care plan review', durationMinutes: 45, modality: 'phone' };
    expect((await api('/v1/scheduling/appointment-types', ann, add)).status).toBe(403);
    expect((await api('/v1/scheduling/appointment-types', admin, add)).status).toBe(201);
    expect((await api('/v1/scheduling/appointment-types', admin, add)).status).toBe(409);
  });

  let first: { id: string; version: number };

  it('books inside working hours, in the future, never over another visit of the staff member or the patient', async () => {
    const res = await book(ann, { patientId: 'pa-1', start: at(TUE_10) });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ patientId: 'pa-1', staffId: annId, start: at(TUE_10), end: at(TUE_10 + 20 * MIN), durationMinutes: 20, status: 'booked', version: 1, modality: 'video' });
    first = res.body;
    expect((await book(ann, { patientId: 'pa-2', start: at(TUE_10 + 10 * MIN) })).body.code).toBe('RPM_ERR_APPOINTMENT_SLOT_TAKEN');
    expect((await book(cleo, { patientId: 'pa-1', start: at(TUE_10 + 5 * MIN) })).body.code).toBe('RPM_ERR_APPOINTMENT_SLOT_TAKEN');
    expect((await book(ann, { patientId: 'pa-2', start: at(TUE_10 - 2 * HOUR) })).body.code).toBe('RPM_ERR_APPOINTMENT_OUTSIDE_HOURS');
    expect((await book(ann, { patientId: 'pa-2', start: '2026-12-09T15:00:00Z' })).body.code).toBe('RPM_ERR_APPOINTMENT_OUTSIDE_HOURS');
    expect((await book(ann, { patientId: 'pa-2', start: at(now - HOUR) })).status).toBe(400);
    expect((await book(bob, { patientId: 'pa-1', start: at(TUE_10 + HOUR) })).status).toBe(404);
    expect((await book(ann, { patientId: 'pa-2', staffId: 'someone-else', start: at(TUE_10 + HOUR) })).status).toBe(404);
    // Touching the first visit is fine.
    expect((await book(ann, { patientId: 'pa-2', start: at(TUE_10 + 20 * MIN) })).status).toBe(201);
  });

  it('lets exactly one of ten concurrent bookings of one slot through (409 for the others)', async () => {
    const slot = at(TUE_10 + 3 * HOUR);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => book(i % 2 === 0 ? ann : cleo, { patientId: `race-${i}`, staffId: annId, start: slot })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.code === 'RPM_ERR_APPOINTMENT_SLOT_TAKEN')).toBe(true);
    expect(results.filter((r) => r.status === 409)).toHaveLength(9);
  });

  it('lists free slots around booked visits', async () => {
    const res = await api(`/v1/staff/${annId}/free-slots?typeId=monthly-check-in&from=${at(TUE_10 - HOUR)}&to=${at(TUE_10 + HOUR)}`, cleo);
    const starts = res.body.slots.map((s: { start: string }) => s.start);
    expect(starts).toContain(at(TUE_10 - HOUR));
    expect(starts).not.toContain(at(TUE_10));
    expect(starts).not.toContain(at(TUE_10 + 15 * MIN));
    expect(starts).toContain(at(TUE_10 + 40 * MIN));
  });

  it('sends the 24 h reminder by SMS when due, to the patient’s phone, with no PHI in it', async () => {
    expect(await t.gw.ctx.reminders!.runOnce()).toBe(0);
    // pa-1 at 10:00 and pa-2 at 10:20 are due; the race winner has no phone on record (skipped, not sent).
    now = TUE_10 - 24 * HOUR + 21 * MIN;
    expect(await t.gw.ctx.reminders!.runOnce()).toBe(2);
    const toAnnabelle = twilio.messages.find((m) => m.form.get('To') === '+15557654321')!;
    const body = toAnnabelle.form.get('Body')!;
    expect(body).toMatch(/^Reminder: you have a video visit with your care team on Tue, Dec 8, 9:00\sAM CST\. Reply C to confirm or R to reschedule\.$/);
    const spanish = twilio.messages.find((m) => m.form.get('To') === '+15559990000')!.form.get('Body')!;
    expect(spanish).toMatch(/videoconsulta/);
    for (const m of twilio.messages) {
      const text = m.form.get('Body')!;
      for (const phi of ['Annabelle', 'Quintero', 'Bert', 'Lindqvist', 'MRN', '77123', '1948', 'Ann', 'Cleo', 'hypertension', 'blood', 'mmHg', 'pa-1', 'pa-2', 'Monthly check-in']) expect(text).not.toContain(phi);
    }
    expect(toAnnabelle.idempotencyToken).toMatch(/^reminder:/);
    // Sent once: a second pass finds nothing due.
    expect(await t.gw.ctx.reminders!.runOnce()).toBe(0);
  });

  it("takes the patient's signed SMS reply: C confirms; a bad signature is refused", async () => {
    const params = { From: '+15557654321', To: '+15550001111', Body: 'c ', MessageSid: 'SM0001', AccountSid: ACCOUNT };
    const form = new URLSearchParams(params).toString();
    const post = (signature: string) =>
      fetch(`${t.baseUrl}/v1/sms/inbound`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature }, body: form });
    const refused = await post(twilioSignature('wrong-token', `${PUBLIC_URL}/v1/sms/inbound`, params));
    expect(refused.status).toBe(403);
    const ok = await post(twilioSignature(AUTH_TOKEN, `${PUBLIC_URL}/v1/sms/inbound`, params));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/xml/);
    expect(await ok.text()).toBe('<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thank you, your visit is confirmed.</Message></Response>');
    expect((await api(`/v1/appointments/${first.id}`, ann)).body).toMatchObject({ patientResponse: 'confirmed', version: 1 });
  });

  it('reschedules with the version read (409 when stale); old reminders are cancelled and the new time is reminded', async () => {
    const stale = await api(`/v1/appointments/${first.id}/reschedule`, ann, { start: at(TUE_10 + HOUR), expectedVersion: 7 });
    expect(stale.body.code).toBe('RPM_ERR_APPOINTMENT_VERSION_CONFLICT');
    const moved = await api(`/v1/appointments/${first.id}/reschedule`, ann, { start: at(TUE_10 + HOUR), expectedVersion: 1 });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ version: 2, start: at(TUE_10 + HOUR), patientResponse: null });
    const sent = twilio.messages.length;
    // The old 15 min reminder (09:45) is cancelled; the new time gets its own 24 h reminder (due an hour later than the first).
    now = TUE_10 - 15 * MIN + 1000;
    expect(await t.gw.ctx.reminders!.runOnce()).toBe(1);
    now = TUE_10 + HOUR - 15 * MIN + 1000;
    // pa-2's 15 min reminder is past its visit's start by now: skipped, not sent late.
    expect(await t.gw.ctx.reminders!.runOnce()).toBe(1);
    const fresh = twilio.messages.slice(sent);
    expect(fresh.map((m) => m.form.get('To'))).toEqual(['+15557654321', '+15557654321']);
    expect(fresh[0]!.form.get('Body')).toMatch(/^Reminder: you have a video visit with your care team on Tue, Dec 8, 10:00\sAM CST/);
    expect(fresh[1]!.form.get('Body')).toMatch(/^Your video visit with your care team starts in 15 minutes \(Tue, Dec 8, 10:00\sAM CST\)/);
    first = moved.body;
  });

  it("marks a no-show only once the visit has started, cancels with the version, and shows the patient's upcoming and past visits", async () => {
    // A day passed on the injected clock: sessions idled out; sign in again.
    ann = await t.admin.login('ann@a.example');
    cleo = await t.admin.login('cleo@a.example');
    bob = await t.admin.login('bob@b.example');
    const pa2 = await api('/v1/patients/pa-2/appointments', cleo);
    expect(pa2.body.past, JSON.stringify(pa2.body)).toHaveLength(1);
    now = TUE_10 + HOUR - 5 * MIN;
    expect((await api(`/v1/appointments/${first.id}/no-show`, ann, { expectedVersion: 2 })).body.code).toBe('RPM_ERR_APPOINTMENT_STATE');
    now = TUE_10 + HOUR + 10 * MIN;
    expect((await api(`/v1/appointments/${first.id}/no-show`, ann, { expectedVersion: 2 })).body).toMatchObject({ status: 'no-show', version: 3 });
    expect((await api(`/v1/appointments/${first.id}/cancel`, ann, { expectedVersion: 3 })).body.code).toBe('RPM_ERR_APPOINTMENT_STATE');
    const later = await book(ann, { patientId: 'pa-1', start: '2026-12-10T15:00:00Z' });
    expect((await api(`/v1/appointments/${later.body.id}/cancel`, ann, { expectedVersion: 1 })).body).toMatchObject({ status: 'cancelled', version: 2 });
    const again = await book(ann, { patientId: 'pa-1', start: '2026-12-10T15:00:00Z' });
    expect(again.status).toBe(201);
    const visits = (await api('/v1/patients/pa-1/appointments', ann)).body;
    expect(visits.upcoming.map((a: { id: string }) => a.id)).toEqual([again.body.id]);
    expect(visits.past.map((a: { status: string }) => a.status)).toEqual(['no-show']);
    expect((await api('/v1/patients/pa-1/appointments', bob)).status).toBe(404);
    expect((await api(`/v1/appointments/${first.id}`, bob)).status).toBe(404);
  });

  it("shows my day with each patient's two identifiers, audited as one read naming the patients", async () => {
    const day = (await api('/v1/me/day?date=2026-12-08', ann)).body;
    expect(day).toMatchObject({ date: '2026-12-08', timeZone: 'America/New_York' });
    const rows = day.visits.map((v: { patient: { name: string | null }; typeName: string; status: string }) => [v.patient.name, v.typeName, v.status]);
    expect(rows).toEqual([
      ['Lindqvist, Bert', 'Monthly check-in', 'booked'],
      ['Quintero-Vasquez, Annabelle', 'Monthly check-in', 'no-show'],
      [null, 'Monthly check-in', 'booked'],
    ]);
    expect(day.visits[1].patient).toMatchObject({ birthDate: '1948-02-29', mrn: 'MRN-77123', age: { value: 78, unit: 'a' } });
    const audit = (await t.admin.get('/v1/admin/audit?limit=50')).body.entries.find((e: { action: string; subject: string }) => e.action === 'identity.read' && e.subject.startsWith(`staff:${annId}:day:`));
    expect(audit.patientIds.sort()).toEqual(['pa-1', 'pa-2']);
  });

  it('publishes a private iCalendar feed that a parser reads: no patient names, cancelled visits marked, updates by UID and SEQUENCE', async () => {
    const link = await api('/v1/me/calendar-feed', ann, {});
    expect(link.status).toBe(201);
    expect(link.body.url).toBe(`${PUBLIC_URL}${link.body.path}`);
    const res = await fetch(`${t.baseUrl}${link.body.path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/calendar/);
    const text = await res.text();
    const cal = new ICAL.Component(ICAL.parse(text));
    const events = cal.getAllSubcomponents('vevent').map((v) => new ICAL.Event(v));
    const byUid = new Map(events.map((e) => [e.uid, e]));
    const noShow = byUid.get(`${first.id}@rpm-gateway.invalid`)!;
    expect(noShow.startDate.toJSDate().toISOString()).toBe(at(TUE_10 + HOUR));
    expect(noShow.endDate.toJSDate().toISOString()).toBe(at(TUE_10 + HOUR + 20 * MIN));
    expect(noShow.summary).toBe('Monthly check-in (video, no-show)');
    expect(noShow.sequence).toBe(2);
    expect(events.filter((e) => e.component.getFirstPropertyValue('status') === 'CANCELLED')).toHaveLength(1);
    for (const phi of ['Annabelle', 'Quintero', 'Bert', 'MRN', '1948', 'pa-1', '+1555']) expect(text).not.toContain(phi);
    // A new link replaces the old one.
    await api('/v1/me/calendar-feed', ann, {});
    expect((await fetch(`${t.baseUrl}${link.body.path}`)).status).toBe(404);
  });

  it('documents the scheduling routes in OpenAPI', async () => {
    const spec = (await request(`${t.baseUrl}/docs/json`)).body;
    for (const p of ['/v1/appointments', '/v1/appointments/{id}/reschedule', '/v1/staff/{id}/availability', '/v1/staff/{id}/free-slots', '/v1/me/day', '/v1/sms/inbound', '/v1/patients/{id}/appointments', '/v1/calendar/{token}.ics']) {
      expect(spec.paths[p], p).toBeDefined();
    }
  });
});
