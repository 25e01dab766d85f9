import type { Observation as FhirObservation } from '@medplum/fhirtypes';
import { afterEach, describe, expect, it } from 'vitest';
import { FhirTestServer } from '../test/fhir-server/fhir-test-server.js';
import { conformanceErrors } from '../test/fhir/conformance.js';
import { destinationStatus, eventually, FAST_FORWARDING_ENV } from '../test/fhir/gateway-env.js';
import { ADMIN_TOKEN, isoMinutesAgo, request, startTestGateway, type TestGateway } from '../test/helpers/gateway.js';

const MRN = 'urn:oid:2.16.840.1.113883.19.5';
const ENV = { ...FAST_FORWARDING_ENV, RPM_FHIR_PATIENT_RECHECK_MS: '200' };

/**
 * An EHR that enforces references refuses an Observation whose subject is not one of its
 * Patients. The gateway finds the EHR's Patient the way the destination says (search by
 * identifier and keep it, a conditional reference, an admin's explicit mapping), dead-letters the
 * readings of a patient the EHR does not know with a code that says so, and sends them again
 * when the patient becomes known.
 */
describe('patients at an EHR that enforces references', () => {
  let server: FhirTestServer | undefined;
  let t: TestGateway | undefined;
  afterEach(async () => {
    await t?.close();
    await server?.close();
    t = undefined;
    server = undefined;
  });

  const setUp = async (patientMapping: Record<string, unknown>): Promise<{ gw: TestGateway; ehr: FhirTestServer; secrets: Record<string, string> }> => {
    const ehr = await FhirTestServer.start({ patients: 'enforce' });
    const gw = await startTestGateway(ENV);
    server = ehr;
    t = gw;
    await gw.admin.createOrganization('clinic');
    const secrets: Record<string, string> = {};
    for (const p of ['p-1', 'p-2', 'p-3']) {
      await gw.admin.createPatient(p, { organizationId: 'clinic' });
      secrets[p] = await gw.admin.createDevice({ id: `hrm-${p}`, kind: 'heart-rate-monitor', patientId: p });
    }
    const created = await gw.admin.post('/v1/admin/fhir/destinations', { id: 'ehr', organizationId: 'clinic', baseUrl: ehr.baseUrl, auth: { type: 'none' }, patientMapping });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return { gw, ehr, secrets };
  };
  let minute = 900;
  const send = (gw: TestGateway, secret: string, n = 1) =>
    request(`${gw.baseUrl}/v1/readings`, {
      token: secret,
      json: { readings: Array.from({ length: n }, () => ({ kind: 'heart-rate', value: 60 + (minute % 30), unit: 'bpm', measuredAt: isoMinutesAgo(minute--) })) },
    });
  const deliveries = async (gw: TestGateway, status: string) => (await gw.admin.get(`/v1/admin/fhir/deliveries?destinationId=ehr&status=${status}`)).body.deliveries as {
    patientId: string;
    error: { code: string; message: string } | null;
  }[];
  const settled = (gw: TestGateway, delivered: number, dead: number) =>
    eventually(`${delivered} delivered, ${dead} dead`, async () => {
      const s = await destinationStatus(gw, 'ehr');
      return s.deliveries.delivered === delivered && s.deliveries.dead === dead && s.deliveries.pending + s.deliveries.failed === 0 ? s : undefined;
    });
  const putPatient = (gw: TestGateway, patientId: string, body: unknown) =>
    request(`${gw.baseUrl}/v1/admin/fhir/destinations/ehr/patients/${patientId}`, { token: ADMIN_TOKEN, method: 'PUT', json: body });
  const subjects = async (ehr: FhirTestServer) => (await ehr.all<FhirObservation>('Observation')).map((o) => o.subject?.reference);

  it('search: finds the EHR Patient by MRN once and keeps it; an unknown patient waits as a dead letter and goes once the EHR knows them', async () => {
    const { gw, ehr, secrets } = await setUp({ type: 'search', system: MRN });
    const known = await ehr.addPatient({ system: MRN, value: 'MRN-1001' });
    // p-1's MRN, set by an admin; p-2 is known to the EHR under our patient id (the default value).
    const mapped = await putPatient(gw, 'p-1', { identifier: 'MRN-1001' });
    expect(mapped.status).toBe(200);
    expect(mapped.body).toMatchObject({ patientId: 'p-1', identifier: 'MRN-1001', reference: null, requeued: 0 });
    await send(gw, secrets['p-1'] as string, 3);
    await send(gw, secrets['p-1'] as string, 2);
    await send(gw, secrets['p-2'] as string, 2);
    await settled(gw, 5, 2);
    expect(new Set(await subjects(ehr))).toEqual(new Set([`Patient/${known}`]));
    for (const o of await ehr.all<FhirObservation>('Observation')) expect(conformanceErrors(o)).toEqual([]);
    // One search for p-1 (then remembered), none in a URL: the MRN stays out of URLs and server logs.
    const searches = ehr.requests.filter((r) => r.path === '/Patient/_search');
    expect(searches.length).toBeGreaterThanOrEqual(2);
    expect(searches.length).toBeLessThanOrEqual(4);
    expect(ehr.requests.every((r) => !r.query.includes('MRN') && !r.query.includes('p-2'))).toBe(true);
    const links = (await gw.admin.get('/v1/admin/fhir/destinations/ehr/patients')).body.patients;
    expect(links).toEqual([expect.objectContaining({ patientId: 'p-1', identifier: 'MRN-1001', reference: `Patient/${known}`, referenceSource: 'search' })]);
    // The dead letters say why, and whose they are.
    const dead = await deliveries(gw, 'dead');
    expect(dead.map((d) => [d.patientId, d.error?.code])).toEqual([
      ['p-2', 'RPM_ERR_FHIR_PATIENT_UNKNOWN'],
      ['p-2', 'RPM_ERR_FHIR_PATIENT_UNKNOWN'],
    ]);
    expect(dead[0]?.error?.message).toContain(`no Patient at the EHR has the patient's identifier under ${MRN}`);
    // The EHR registers p-2: the periodic look-up finds them and the dead letters go.
    const later = await ehr.addPatient({ system: MRN, value: 'p-2' });
    await settled(gw, 7, 0);
    expect((await subjects(ehr)).filter((s) => s === `Patient/${later}`)).toHaveLength(2);
  });

  it('conditional: the EHR resolves Patient?identifier= itself; a refusal for an unknown patient is explained and replayed once it exists', async () => {
    const { gw, ehr, secrets } = await setUp({ type: 'conditional', system: MRN });
    const p1 = await ehr.addPatient({ system: MRN, value: 'p-1' });
    await send(gw, secrets['p-1'] as string, 2);
    await send(gw, secrets['p-3'] as string, 1);
    await settled(gw, 2, 1);
    expect(await subjects(ehr)).toEqual([`Patient/${p1}`, `Patient/${p1}`]);
    const [dead] = await deliveries(gw, 'dead');
    expect(dead).toMatchObject({ patientId: 'p-3', error: { code: 'RPM_ERR_FHIR_PATIENT_UNKNOWN' } });
    expect(dead?.error?.message).toContain(`no Patient with the patient's identifier under ${MRN}`);
    await ehr.addPatient({ system: MRN, value: 'p-3' });
    await settled(gw, 3, 0);
  });

  it('explicit: only patients an admin mapped are sent; mapping one sends what waited for them at once', async () => {
    const { gw, ehr, secrets } = await setUp({ type: 'explicit' });
    const p1 = await ehr.addPatient({ system: MRN, value: 'anything' });
    await send(gw, secrets['p-1'] as string, 3);
    await settled(gw, 0, 3);
    expect((await deliveries(gw, 'dead'))[0]?.error?.message).toContain('no EHR Patient is mapped to this patient');
    expect(ehr.requests.filter((r) => r.method === 'POST' && r.path !== '/metadata')).toHaveLength(0);
    // Refused: not a Patient reference; a patient of another organization; an unknown destination.
    expect((await putPatient(gw, 'p-1', { reference: 'Observation/1' })).status).toBe(400);
    expect((await putPatient(gw, 'p-1', {})).status).toBe(400);
    await gw.admin.createOrganization('other');
    await gw.admin.createPatient('p-x', { organizationId: 'other' });
    expect((await putPatient(gw, 'p-x', { reference: 'Patient/1' })).body.code).toBe('RPM_ERR_PATIENT_NOT_FOUND');
    const mapped = await putPatient(gw, 'p-1', { reference: `Patient/${p1}` });
    expect(mapped.body).toMatchObject({ reference: `Patient/${p1}`, referenceSource: 'admin', requeued: 3 });
    await settled(gw, 3, 0);
    expect(await subjects(ehr)).toEqual([`Patient/${p1}`, `Patient/${p1}`, `Patient/${p1}`]);
    const audit = (await gw.admin.get('/v1/admin/audit?limit=200')).body.entries.map((e: { action: string }) => e.action);
    expect(audit).toEqual(expect.arrayContaining(['fhir.patient.map']));
    // Unmapped again: later readings wait again.
    expect((await request(`${gw.baseUrl}/v1/admin/fhir/destinations/ehr/patients/p-1`, { token: ADMIN_TOKEN, method: 'DELETE' })).status).toBe(204);
    await send(gw, secrets['p-1'] as string, 1);
    await settled(gw, 3, 1);
  });

  it('reference template at an EHR without that Patient: the refusal is explained as an unknown patient, and an admin mapping sends it', async () => {
    const { gw, ehr, secrets } = await setUp({ type: 'reference', template: 'Patient/{patientId}' });
    await send(gw, secrets['p-2'] as string, 1);
    await settled(gw, 0, 1);
    const [dead] = await deliveries(gw, 'dead');
    expect(dead).toMatchObject({ patientId: 'p-2', error: { code: 'RPM_ERR_FHIR_PATIENT_UNKNOWN', message: expect.stringContaining('the EHR has no Patient/p-2') } });
    const id = await ehr.addPatient({ system: MRN, value: '77' });
    expect((await putPatient(gw, 'p-2', { reference: `Patient/${id}` })).body.requeued).toBe(1);
    await settled(gw, 1, 0);
  });
});
