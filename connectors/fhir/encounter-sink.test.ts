import type { Encounter } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logging.js';
import type { Visit } from '../../core/model/visit.js';
import { validationErrors } from '../../test/fhir/conformance.js';
import { SYSTEM_BASE } from '../../test/fhir/gateway-env.js';
import { destination } from '../../test/fhir/readings.js';
import { FhirTestServer } from '../../test/fhir-server/fhir-test-server.js';
import { encounterIdentifier } from './encounter-mapper.js';
import { fhirSystems } from './fhir-codes.js';
import { FhirSink } from './fhir-sink.js';

const visit = (overrides: Partial<Visit> = {}): Visit => ({
  id: '5b0c6a52-2f4e-4c55-9a43-0d7c1c2f9e11',
  organizationId: 'org-1',
  patientId: 'p-1',
  staffId: 'n-1',
  alertId: null,
  appointmentId: null,
  provider: 'embedded',
  room: 'rpm-0011223344556677889900aa',
  modality: 'video',
  createdAtMs: Date.parse('2026-03-02T14:00:00Z'),
  linkExpiresAtMs: Date.parse('2026-03-02T14:30:00Z'),
  startedAtMs: Date.parse('2026-03-02T14:02:00Z'),
  endedAtMs: null,
  endReason: null,
  linkUsedAtMs: null,
  timeEntryId: null,
  ...overrides,
});

/**
 * FhirSink.sendEncounter against the FHIR test server (real HTTP, R4 validation on write): a
 * conditional update on our identifier, so a resend after an answer lost on the way back, or a
 * later state, leaves exactly one Encounter; a staff member the destination does not know is a
 * role without a name; an Appointment the destination was not sent is referenced by identifier.
 */
describe('FHIR Encounters (FhirSink.sendEncounter)', () => {
  let server: FhirTestServer;
  let patientRef: string;
  const sink = new FhirSink({ systemBase: SYSTEM_BASE, timeoutMs: 2000, log: createLogger('silent') });

  beforeAll(async () => {
    server = await FhirTestServer.start({ patients: 'enforce' });
    patientRef = `Patient/${await server.addPatient({ system: 'urn:oid:1.2.3', value: 'MRN-1' })}`;
  });
  afterAll(async () => server?.close());

  it('writes one Encounter per visit: a lost answer and a later state update it in place', async () => {
    const dest = destination(server.baseUrl, { encounters: true });
    const target = { kind: 'literal', reference: patientRef } as const;
    server.dropAfterCommit(1);
    await expect(sink.sendEncounter(dest, { visit: visit(), staffRole: 'nurse' }, target)).rejects.toMatchObject({ code: expect.stringMatching(/^RPM_ERR_UPSTREAM_FHIR/) });
    expect(await server.all('Encounter')).toHaveLength(1);
    // The retry finds the Encounter the lost answer created.
    expect(await sink.sendEncounter(dest, { visit: visit(), staffRole: 'nurse' }, target)).toMatchObject({ status: 'delivered' });
    const ended = visit({ endedAtMs: Date.parse('2026-03-02T14:21:30Z'), endReason: 'ended' });
    const done = await sink.sendEncounter(dest, { visit: ended, staffRole: 'nurse' }, target);
    const all = await server.all<Encounter>('Encounter');
    expect(all).toHaveLength(1);
    expect(done).toEqual({ status: 'delivered', refs: [`Encounter/${all[0]?.id}`] });
    const e = all[0] as Encounter;
    expect(validationErrors(e)).toEqual([]);
    expect(e).toMatchObject({
      status: 'finished',
      class: { code: 'VR', display: 'virtual' },
      period: { start: '2026-03-02T14:02:00.000Z', end: '2026-03-02T14:21:30.000Z' },
      length: { value: 19.5, code: 'min' },
      subject: { reference: patientRef },
      identifier: [encounterIdentifier(fhirSystems(SYSTEM_BASE), visit().id)],
    });
    // Unknown to this EHR: the role, our opaque staff id, no name.
    expect(e.participant?.[0]?.individual).toMatchObject({ display: 'RPM care team nurse', identifier: { value: 'n-1' } });
    expect(e.appointment).toBeUndefined();
  });

  it('cancels a visit that ended before the patient came, and refers to its appointment by identifier where Appointments are not sent', async () => {
    const dest = destination(server.baseUrl, { id: 'ehr-2', encounters: true, practitioners: { 'n-2': 'Practitioner/p-77' } });
    const v = visit({ id: '0f5d8f0a-1c1e-4f1f-8f4e-2b8a9c0d1e2f', staffId: 'n-2', startedAtMs: null, endedAtMs: Date.parse('2026-03-02T14:10:00Z'), endReason: 'cancelled', appointmentId: 'ap-1', modality: 'audio' });
    expect(await sink.sendEncounter(dest, { visit: v, staffRole: 'physician' }, { kind: 'literal', reference: patientRef })).toMatchObject({ status: 'delivered' });
    const e = (await server.all<Encounter>('Encounter')).find((x) => x.status === 'cancelled') as Encounter;
    expect(validationErrors(e)).toEqual([]);
    expect(e.participant?.[0]?.individual).toEqual({ reference: 'Practitioner/p-77' });
    expect(e.appointment?.[0]).toMatchObject({ type: 'Appointment', identifier: { value: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    expect(e.length).toBeUndefined();
  });
});
