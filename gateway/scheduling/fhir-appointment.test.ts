import type { Appointment as FhirAppointment } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FhirTestServer } from '../../test/fhir-server/fhir-test-server.js';
import { FAST_FORWARDING_ENV } from '../../test/fhir/gateway-env.js';
import { request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';

/**
 * Visits reach the EHRs that take them as FHIR R4 Appointments, through the forwarding
 * destinations (credentials, patient mapping): written at a deterministic id so that a move, a
 * cancellation or a no-show updates the one Appointment; validated by the test FHIR server against
 * the R4 definitions; no PHI in the identifiers we mint; a destination that does not take
 * appointments gets none.
 */
describe('FHIR Appointment forwarding', () => {
  let ehr: FhirTestServer;
  let other: FhirTestServer;
  let t: TestGateway;
  let nurse: string;
  let staffId: string;

  beforeAll(async () => {
    ehr = await FhirTestServer.start({ patients: 'enforce' });
    other = await FhirTestServer.start();
    t = await startTestGateway({ ...FAST_FORWARDING_ENV, RPM_JOB_POLL_S: '1' });
    await t.admin.createOrganization('clinic');
    staffId = (await t.admin.createStaff({ email: 'ann@clinic.example', role: 'nurse', organizationId: 'clinic' })).id;
    nurse = await t.admin.login('ann@clinic.example');
    await t.admin.createPatient('p-1', { organizationId: 'clinic' });
    const weekly = [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: '00:00', end: '23:59' }));
    expect((await request(`${t.baseUrl}/v1/staff/${staffId}/availability`, { method: 'PUT', token: nurse, json: { timeZone: 'UTC', weekly } })).status).toBe(200);
    expect((await request(`${t.baseUrl}/v1/patients/p-1/identity`, { method: 'PUT', token: nurse, json: { givenName: 'Annabelle', familyName: 'Quintero', birthDate: '1948-02-29', mrn: 'MRN-77123', phone: '+15557654321', preferredLanguage: 'en', timeZone: 'UTC' } })).status).toBe(200);
    // The EHR knows the patient by MRN; the destination finds the Patient by searching it.
    expect(await ehr.addPatient({ system: 'urn:oid:2.16.840.1.113883.19.5', value: 'MRN-77123' })).toMatch(/^[0-9a-f-]{36}$/);
    const create = (id: string, baseUrl: string, appointments: boolean) =>
      t.admin.post('/v1/admin/fhir/destinations', { id, organizationId: 'clinic', baseUrl, auth: { type: 'none' }, patientMapping: { type: 'search', system: 'urn:oid:2.16.840.1.113883.19.5' }, appointments });
    expect((await create('ehr', ehr.baseUrl, true)).body).toMatchObject({ appointments: true });
    expect((await create('other', other.baseUrl, false)).body).toMatchObject({ appointments: false });
    expect((await request(`${t.baseUrl}/v1/admin/fhir/destinations/ehr/patients/p-1`, { token: t.gw.ctx.adminToken, method: 'PUT', json: { identifier: 'MRN-77123' } })).status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await ehr?.close();
    await other?.close();
  });

  const appointments = () => ehr.all<FhirAppointment>('Appointment');

  it('creates, moves and cancels one Appointment at the EHR that takes them, none at the other', async () => {
    const start = Date.now() + 2 * 86_400_000;
    const rounded = new Date(Math.ceil(start / 3_600_000) * 3_600_000);
    const booked = await request(`${t.baseUrl}/v1/appointments`, { token: nurse, json: { patientId: 'p-1', typeId: 'monthly-check-in', start: rounded.toISOString() } });
    expect(booked.status).toBe(201);
    let list: FhirAppointment[] = [];
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
      list = await appointments();
      if (list.length === 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(list).toHaveLength(1);
    const a = list[0]!;
    expect(a).toMatchObject({
      status: 'booked',
      start: rounded.toISOString(),
      minutesDuration: 20,
      appointmentType: { text: 'Monthly check-in' },
    });
    expect(a.participant?.[0]?.actor?.reference).toMatch(/^Patient\//);
    expect(a.participant?.[0]?.status).toBe('needs-action');
    const text = JSON.stringify(a);
    for (const phi of ['Annabelle', 'Quintero', '1948', 'MRN-77123', '5557654321', 'p-1']) expect(text).not.toContain(phi);
    expect(a.identifier?.[0]?.value).toMatch(/^[0-9a-f]{64}$/);

    const moved = await request(`${t.baseUrl}/v1/appointments/${booked.body.id}/reschedule`, { token: nurse, json: { start: new Date(rounded.getTime() + 3_600_000).toISOString(), expectedVersion: 1 } });
    expect(moved.status).toBe(200);
    const cancelled = await request(`${t.baseUrl}/v1/appointments/${booked.body.id}/cancel`, { token: nurse, json: { expectedVersion: 2 } });
    expect(cancelled.status).toBe(200);
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
      list = await appointments();
      if (list[0]?.status === 'cancelled') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ id: a.id, status: 'cancelled', start: new Date(rounded.getTime() + 3_600_000).toISOString() });
    expect(await other.all('Appointment')).toEqual([]);
    const audit = (await t.admin.get('/v1/admin/audit?subject=patient:p-1&limit=100')).body.entries.filter((e: { action: string }) => e.action === 'fhir.appointment');
    expect(audit.length).toBeGreaterThanOrEqual(1);
    expect(audit.every((e: { details: { destinationId: string } }) => e.details.destinationId === 'ehr')).toBe(true);
  }, 60_000);
});
