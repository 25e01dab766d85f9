import type { Appointment as FhirAppointment, Encounter } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validationErrors } from '../../test/fhir/conformance.js';
import { FhirTestServer } from '../../test/fhir-server/fhir-test-server.js';
import { FAST_FORWARDING_ENV } from '../../test/fhir/gateway-env.js';
import { ADMIN_TOKEN, request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { livekitWebhook } from '../../test/helpers/livekit-webhook.js';

const LIVEKIT = { key: 'APIrpmEncounters', secret: 's'.repeat(24) + 't'.repeat(24) };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    const v = await probe();
    if (v !== undefined) return v;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * A video visit held for a booked appointment, end to end through the running gateway with the
 * LiveKit provider and its webhooks: the visit is linked to the appointment, presence comes from
 * LiveKit's signed events, the EHR that takes them gets one R4 Encounter (class VR, in-progress
 * then finished, the destination's Practitioner, the Appointment referenced) and the Appointment
 * arrived then fulfilled; a no-show is refused once the patient came; a nurse's timer yields to
 * the visit and typed-in time over it is refused, so no minute is logged twice.
 */
describe('Video visits from appointments, FHIR Encounters, LiveKit presence, one log per minute', () => {
  let ehr: FhirTestServer;
  let other: FhirTestServer;
  let t: TestGateway;
  let nurse: string;
  let staffId: string;

  beforeAll(async () => {
    ehr = await FhirTestServer.start({ patients: 'enforce' });
    other = await FhirTestServer.start();
    t = await startTestGateway({
      ...FAST_FORWARDING_ENV,
      RPM_JOB_POLL_S: '1',
      RPM_VIDEO_PROVIDER: 'livekit',
      RPM_LIVEKIT_URL: 'wss://rpm.livekit.test',
      RPM_LIVEKIT_API_KEY: LIVEKIT.key,
      RPM_LIVEKIT_API_SECRET: LIVEKIT.secret,
      RPM_LIVEKIT_WEBHOOKS: 'true',
    });
    await t.admin.createOrganization('clinic');
    staffId = (await t.admin.createStaff({ email: 'ann@clinic.example', role: 'nurse', organizationId: 'clinic', displayName: 'Ann Lee, RN' })).id;
    nurse = await t.admin.login('ann@clinic.example');
    await t.admin.createPatient('p-1', { organizationId: 'clinic' });
    const weekly = [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: '00:00', end: '23:59' }));
    // Working hours cannot cross midnight: near midnight UTC the nurse works in Tokyo (UTC+9, no DST), so a visit booked now fits her day.
    const hour = new Date().getUTCHours();
    const timeZone = hour >= 20 || hour < 4 ? 'Asia/Tokyo' : 'UTC';
    expect((await request(`${t.baseUrl}/v1/staff/${staffId}/availability`, { method: 'PUT', token: nurse, json: { timeZone, weekly } })).status).toBe(200);
    expect(
      (await request(`${t.baseUrl}/v1/patients/p-1/identity`, { method: 'PUT', token: nurse, json: { givenName: 'Annabelle', familyName: 'Quintero', birthDate: '1948-02-29', mrn: 'MRN-77123', phone: '+15557654321', preferredLanguage: 'en', timeZone: 'UTC' } })).status,
    ).toBe(200);
    expect((await request(`${t.baseUrl}/v1/patients/p-1/consents/telehealth`, { token: ADMIN_TOKEN, json: { granted: true, method: 'verbal' } })).status).toBe(201);
    await ehr.addPatient({ system: 'urn:oid:2.16.840.1.113883.19.5', value: 'MRN-77123' });
    const create = (id: string, baseUrl: string, extra: Record<string, unknown>) =>
      t.admin.post('/v1/admin/fhir/destinations', { id, organizationId: 'clinic', baseUrl, auth: { type: 'none' }, patientMapping: { type: 'search', system: 'urn:oid:2.16.840.1.113883.19.5' }, ...extra });
    expect((await create('ehr', ehr.baseUrl, { appointments: true, encounters: true, practitioners: { [staffId]: 'Practitioner/prac-ann' } })).body).toMatchObject({ appointments: true, encounters: true, practitioners: { [staffId]: 'Practitioner/prac-ann' } });
    expect((await create('other', other.baseUrl, { appointments: false })).body).toMatchObject({ encounters: false, practitioners: {} });
    expect((await request(`${t.baseUrl}/v1/admin/fhir/destinations/ehr/patients/p-1`, { token: ADMIN_TOKEN, method: 'PUT', json: { identifier: 'MRN-77123' } })).status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await ehr?.close();
    await other?.close();
  });

  const hook = async (event: Parameters<typeof livekitWebhook>[2], secret = LIVEKIT.secret) => {
    const { body, headers } = await livekitWebhook(LIVEKIT.key, secret, event);
    const res = await fetch(`${t.baseUrl}/v1/video/livekit/webhook`, { method: 'POST', headers, body });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const visitOf = async (id: string) => {
    const { participants, ...visit } = (await request(`${t.baseUrl}/v1/visits/${id}`, { token: nurse })).body;
    return { visit, participants };
  };
  const appointmentOf = async (id: string) => (await request(`${t.baseUrl}/v1/appointments/${id}`, { token: nurse })).body;

  let appointmentId: string;
  let visitId: string;
  let room: string;
  let timerId: string;

  it('starts the visit from the booked appointment (the patient and the link come from it); a second start names the open one', async () => {
    // A timer the nurse runs while preparing; the visit takes over from its start.
    const timer = await request(`${t.baseUrl}/v1/patients/p-1/time/start`, { token: nurse, json: { interactive: false } });
    expect(timer.status, JSON.stringify(timer.body)).toBe(201);
    timerId = timer.body.id;

    const start = new Date(Math.ceil((Date.now() + 3_000) / 1000) * 1000);
    const booked = await request(`${t.baseUrl}/v1/appointments`, { token: nurse, json: { patientId: 'p-1', typeId: 'monthly-check-in', start: start.toISOString() } });
    expect(booked.status, JSON.stringify(booked.body)).toBe(201);
    appointmentId = booked.body.id;

    const res = await request(`${t.baseUrl}/v1/visits`, { token: nurse, json: { appointmentId, sendSms: false } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.visit).toMatchObject({ appointmentId, patientId: 'p-1', staffId, provider: 'livekit', modality: 'video', status: 'waiting' });
    visitId = res.body.visit.id;

    const again = await request(`${t.baseUrl}/v1/visits`, { token: nurse, json: { appointmentId, sendSms: false } });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'RPM_ERR_VISIT_ALREADY_OPEN', visitId });

    // With LiveKit's webhooks, a token issued is not presence: the visit waits for the room's events.
    const join = await request(`${t.baseUrl}/v1/visits/${visitId}/join`, { token: nurse, json: {} });
    expect(join.status, JSON.stringify(join.body)).toBe(200);
    expect((await visitOf(visitId)).participants).toEqual([]);
    room = JSON.parse(Buffer.from(String(join.body.join.token).split('.')[1] ?? '', 'base64url').toString()).video.room;
    expect(room).toMatch(/^rpm-[0-9a-f]{24}$/);
  });

  it('records presence from LiveKit’s signed webhooks: the visit starts when both are in, the timer stops there, the EHR sees in-progress and arrived', async () => {
    // The booked start passes (a no-show is only possible once it has).
    await sleep(Math.max(0, Date.parse((await appointmentOf(appointmentId)).start) - Date.now() + 200));
    const forged = await hook({ event: 'participant_joined', room, identity: `staff-${staffId}`, atMs: Date.now() }, 'f'.repeat(48));
    expect(forged.status).toBe(403);
    expect(forged.body).toMatchObject({ code: 'RPM_ERR_WEBHOOK_SIGNATURE_INVALID' });
    expect((await hook({ event: 'participant_joined', room: 'rpm-not-ours', identity: 'patient-x', atMs: Date.now() })).body).toEqual({ handled: false });

    expect((await hook({ event: 'participant_joined', room, identity: `staff-${staffId}`, atMs: Date.now() })).body).toEqual({ handled: true });
    expect((await visitOf(visitId)).visit.status).toBe('waiting');
    expect((await hook({ event: 'participant_joined', room, identity: `patient-${visitId}`, atMs: Date.now() })).body).toEqual({ handled: true });
    const running = await visitOf(visitId);
    expect(running.visit.status).toBe('in-progress');
    expect(running.participants.map((p: { role: string }) => p.role)).toEqual(['staff', 'patient']);

    // The nurse's timer stopped where the visit's minutes begin; a new one is refused while the visit runs.
    const log = (await request(`${t.baseUrl}/v1/patients/p-1/time`, { token: nurse })).body.entries as { id: string; endedAt: string | null; stopReason: string | null }[];
    expect(log.find((e) => e.id === timerId)).toMatchObject({ stopReason: 'visit-started', endedAt: running.visit.startedAt });
    const refused = await request(`${t.baseUrl}/v1/patients/p-1/time/start`, { token: nurse, json: { interactive: true } });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'RPM_ERR_TIME_OVERLAPS_VISIT', visitId });

    // The patient came: not a no-show.
    const noShow = await request(`${t.baseUrl}/v1/appointments/${appointmentId}/no-show`, { token: nurse, json: { expectedVersion: (await appointmentOf(appointmentId)).version } });
    expect(noShow.status, JSON.stringify(noShow.body)).toBe(409);
    expect(noShow.body).toMatchObject({ code: 'RPM_ERR_APPOINTMENT_STATE', visitId });

    const encounter = await until('an in-progress Encounter', async () => (await ehr.all<Encounter>('Encounter')).find((e) => e.status === 'in-progress'));
    expect(validationErrors(encounter)).toEqual([]);
    expect(encounter).toMatchObject({ class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR' }, period: { start: running.visit.startedAt } });
    expect(encounter.participant?.[0]?.individual).toEqual({ reference: 'Practitioner/prac-ann' });
    const appointment = await until('an arrived Appointment', async () => (await ehr.all<FhirAppointment>('Appointment')).find((a) => a.status === 'arrived'));
    expect(encounter.appointment).toEqual([{ reference: `Appointment/${appointment.id}` }]);
  }, 60_000);

  it('ends the visit when LiveKit closes the room: finished Encounter (one, updated in place), fulfilled Appointment, one time entry per minute', async () => {
    await sleep(1_200);
    expect((await hook({ event: 'participant_left', room, identity: `patient-${visitId}`, atMs: Date.now() })).body).toEqual({ handled: true });
    expect((await hook({ event: 'participant_left', room, identity: `staff-${staffId}`, atMs: Date.now() })).body).toEqual({ handled: true });
    expect((await hook({ event: 'room_finished', room, atMs: Date.now() })).body).toEqual({ handled: true });
    // A redelivery changes nothing.
    expect((await hook({ event: 'room_finished', room, atMs: Date.now() })).body).toEqual({ handled: false });
    const ended = (await visitOf(visitId)).visit;
    expect(ended).toMatchObject({ status: 'ended', endReason: 'ended' });
    expect(ended.timeEntryId).not.toBeNull();
    expect((await appointmentOf(appointmentId)).status).toBe('completed');

    const finished = await until('a finished Encounter', async () => (await ehr.all<Encounter>('Encounter')).find((e) => e.status === 'finished'));
    expect(await ehr.all('Encounter')).toHaveLength(1);
    expect(validationErrors(finished)).toEqual([]);
    expect(finished.period).toEqual({ start: ended.startedAt, end: ended.endedAt });
    expect(finished.length).toMatchObject({ unit: 'min', system: 'http://unitsofmeasure.org', code: 'min' });
    expect(finished.subject?.reference).toMatch(/^Patient\//);
    expect(finished.identifier?.[0]?.value).toMatch(/^[0-9a-f]{64}$/);
    const text = JSON.stringify(finished);
    for (const phi of ['Annabelle', 'Quintero', '1948', 'MRN-77123', '5557654321', 'p-1', 'Ann Lee']) expect(text).not.toContain(phi);
    // Conditional updates on our identifier, its value a hash: nothing about the patient in any URL.
    const writes = ehr.requests.filter((r) => r.path === '/Encounter');
    expect(writes.length).toBeGreaterThanOrEqual(2);
    expect(writes.every((r) => r.method === 'PUT' && /^\?identifier=https%3A%2F%2F.*%7C[0-9a-f]{64}$/.test(r.query))).toBe(true);
    await until('a fulfilled Appointment', async () => (await ehr.all<FhirAppointment>('Appointment')).find((a) => a.status === 'fulfilled'));
    expect(await other.all('Encounter')).toEqual([]);

    // Time: the timer up to the visit's start, the visit from there; typed-in time over the visit is refused.
    const entries = (await request(`${t.baseUrl}/v1/patients/p-1/time`, { token: nurse })).body.entries as { source: string; startedAt: string; endedAt: string }[];
    const visitEntry = entries.find((e) => e.source === 'visit');
    const timerEntry = entries.find((e) => e.source === 'timer');
    expect(visitEntry).toMatchObject({ startedAt: ended.startedAt, endedAt: ended.endedAt });
    expect(Date.parse(timerEntry?.endedAt ?? '')).toBeLessThanOrEqual(Date.parse(visitEntry?.startedAt ?? ''));
    const overlap = await request(`${t.baseUrl}/v1/patients/p-1/time`, { token: nurse, json: { startedAt: new Date(Date.parse(ended.startedAt) - 60_000).toISOString(), minutes: 2, interactive: true } });
    expect(overlap.status).toBe(409);
    expect(overlap.body.code).toBe('RPM_ERR_TIME_OVERLAPS_VISIT');
    expect(overlap.body.detail).toMatch(/logged .*–.* \(UTC\) already; log only the time outside it/);
    const outside = await request(`${t.baseUrl}/v1/patients/p-1/time`, { token: nurse, json: { startedAt: new Date(Date.parse(ended.startedAt) - 10 * 60_000).toISOString(), minutes: 1, interactive: false } });
    expect(outside.status, JSON.stringify(outside.body)).toBe(201);
  }, 60_000);

  it('refuses a visit for an appointment that is over, cancelled, or not its patient’s', async () => {
    expect((await request(`${t.baseUrl}/v1/visits`, { token: nurse, json: { appointmentId, sendSms: false } })).body).toMatchObject({ code: 'RPM_ERR_APPOINTMENT_STATE' });
    expect((await request(`${t.baseUrl}/v1/visits`, { token: nurse, json: { appointmentId: 'ghost', sendSms: false } })).status).toBe(404);
    expect((await request(`${t.baseUrl}/v1/visits`, { token: nurse, json: { sendSms: false } })).body).toMatchObject({ code: 'RPM_ERR_REQUEST_INVALID' });
  });
});
