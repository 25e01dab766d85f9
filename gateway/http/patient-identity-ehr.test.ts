import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FhirTestServer } from '../../test/fhir-server/fhir-test-server.js';
import { FAST_FORWARDING_ENV } from '../../test/fhir/gateway-env.js';
import { request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';

const MRN_SYSTEM = 'urn:oid:2.16.840.1.113883.19.5';

/** Filling a patient's identity from the EHR's FHIR Patient, found by MRN through a FHIR destination. */
describe('patient identity from the EHR (FHIR Patient by MRN)', () => {
  let ehr: FhirTestServer;
  let t: TestGateway;
  let nurse: string;

  const createPatientAtEhr = async (resource: Record<string, unknown>): Promise<void> => {
    const res = await fetch(`${ehr.baseUrl}/Patient`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify({ resourceType: 'Patient', ...resource }) });
    expect(res.status, await res.clone().text()).toBe(201);
  };

  beforeAll(async () => {
    ehr = await FhirTestServer.start();
    t = await startTestGateway(FAST_FORWARDING_ENV);
    await t.admin.createOrganization('clinic');
    await t.admin.createOrganization('other');
    await t.admin.createStaff({ email: 'ann@clinic.example', role: 'nurse', organizationId: 'clinic' });
    nurse = await t.admin.login('ann@clinic.example');
    for (const p of ['p-1', 'p-2', 'p-3']) await t.admin.createPatient(p, { organizationId: 'clinic' });
    const dest = (id: string, organizationId: string, patientMapping: unknown) => t.admin.post('/v1/admin/fhir/destinations', { id, organizationId, baseUrl: ehr.baseUrl, auth: { type: 'none' }, patientMapping });
    expect((await dest('ehr', 'clinic', { type: 'search', system: MRN_SYSTEM })).status).toBe(201);
    expect((await dest('by-ref', 'clinic', { type: 'reference', template: 'Patient/{patientId}' })).status).toBe(201);
    expect((await dest('elsewhere', 'other', { type: 'search', system: MRN_SYSTEM })).status).toBe(201);
    await createPatientAtEhr({
      identifier: [{ system: MRN_SYSTEM, value: 'MRN-1001' }],
      name: [{ use: 'nickname', given: ['Annie'] }, { use: 'official', family: 'Quintero', given: ['Annabelle', 'Maria'] }],
      birthDate: '1948-02-29',
      telecom: [{ system: 'phone', value: '(555) 111-2222', use: 'home' }, { system: 'phone', value: '+1 555 765 4321', use: 'mobile' }],
      communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'es-MX' }] }, preferred: true }],
      extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/timezone', valueCode: 'America/Chicago' }],
    });
    await createPatientAtEhr({ identifier: [{ system: MRN_SYSTEM, value: 'MRN-1002' }], name: [{ family: 'Lindqvist', given: ['Bert'] }], birthDate: '1951-07-04' });
    await createPatientAtEhr({ identifier: [{ system: MRN_SYSTEM, value: 'MRN-TWICE' }], name: [{ family: 'A', given: ['A'] }], birthDate: '1950-01-01' });
    await createPatientAtEhr({ identifier: [{ system: MRN_SYSTEM, value: 'MRN-TWICE' }], name: [{ family: 'B', given: ['B'] }], birthDate: '1950-01-01' });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await ehr?.close();
  });

  const fill = (patientId: string, body: Record<string, unknown>) => request(`${t.baseUrl}/v1/patients/${patientId}/identity/from-ehr`, { token: nurse, json: body });

  it('fills name, date of birth, mobile phone, language and time zone from the Patient the MRN finds, without the MRN in any URL', async () => {
    const res = await fill('p-1', { destinationId: 'ehr', mrn: 'MRN-1001' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ givenName: 'Annabelle Maria', familyName: 'Quintero', birthDate: '1948-02-29', mrn: 'MRN-1001', phone: '+15557654321', preferredLanguage: 'es-MX', timeZone: 'America/Chicago', version: 1 });
    expect(ehr.requests.some((r) => r.method === 'POST' && r.path === '/Patient/_search')).toBe(true);
    expect(ehr.requests.every((r) => !r.query.includes('MRN'))).toBe(true);
    const audit = (await t.admin.get('/v1/admin/audit?subject=patient:p-1&limit=20')).body.entries.map((e: { action: string }) => e.action);
    expect(audit).toContain('identity.import');
  });

  it('takes what the EHR lacks from the request, and refuses what cannot be filled', async () => {
    expect((await fill('p-2', { destinationId: 'ehr', mrn: 'MRN-1002' })).body.code).toBe('RPM_ERR_FHIR_INVALID');
    const ok = await fill('p-2', { destinationId: 'ehr', mrn: 'MRN-1002', timeZone: 'America/Denver', phone: '+15550009999' });
    expect(ok.body).toMatchObject({ givenName: 'Bert', timeZone: 'America/Denver', phone: '+15550009999', preferredLanguage: 'en' });
    expect((await fill('p-3', { destinationId: 'ehr', mrn: 'MRN-NONE', timeZone: 'UTC' })).body.code).toBe('RPM_ERR_FHIR_PATIENT_UNKNOWN');
    expect((await fill('p-3', { destinationId: 'ehr', mrn: 'MRN-TWICE', timeZone: 'UTC' })).body.code).toBe('RPM_ERR_FHIR_PATIENT_AMBIGUOUS');
    expect((await fill('p-3', { destinationId: 'by-ref', mrn: 'MRN-1002', timeZone: 'UTC' })).status).toBe(400);
    // Another organization's destination looks like none at all.
    expect((await fill('p-3', { destinationId: 'elsewhere', mrn: 'MRN-1002', timeZone: 'UTC' })).body.code).toBe('RPM_ERR_FHIR_DESTINATION_NOT_FOUND');
    // The MRN is unique in the organization: p-1 has MRN-1001.
    expect((await fill('p-3', { destinationId: 'ehr', mrn: 'MRN-1001' })).body.code).toBe('RPM_ERR_PATIENT_MRN_EXISTS');
  });
});
