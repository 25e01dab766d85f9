import type { Observation as FhirObservation } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validationErrors } from '../../test/fhir/conformance.js';
import { ADMIN_TOKEN, isoMinutesAgo, request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';

const FHIR_JSON = { 'content-type': 'application/fhir+json' };
const CODE_SYSTEM = 'urn:rpm-gateway:error-code';

const bpObservation = (effectiveDateTime: string, systolic = 138, identifier = 'obs-1') => ({
  resourceType: 'Observation',
  status: 'final',
  identifier: [{ system: 'urn:phd-gateway:obs', value: identifier }],
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }, { system: 'urn:iso:std:iso:11073:10101', code: '150020' }] },
  subject: { reference: 'Patient/ignored' },
  effectiveDateTime,
  component: [
    { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: { value: systolic, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
    { code: { coding: [{ system: 'urn:iso:std:iso:11073:10101', code: '150022' }] }, valueQuantity: { value: 88, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
  ],
});

const valueObservation = (code: string, value: number, ucum: string, effectiveDateTime: string, extra: Record<string, unknown> = {}) => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code }] },
  effectiveDateTime,
  valueQuantity: { value, unit: ucum, system: 'http://unitsofmeasure.org', code: ucum },
  ...extra,
});

const issueCodes = (body: { issue?: { details?: { coding?: { system: string; code: string }[] } }[] }): string[] =>
  (body.issue ?? []).flatMap((i) => (i.details?.coding ?? []).filter((c) => c.system === CODE_SYSTEM).map((c) => c.code));

describe('FHIR in: POST /fhir/Observation and POST /fhir with device credentials', () => {
  let t: TestGateway;
  let cuff: string;
  let hub: string;
  /** `token` null: no credentials. */
  const fhir = (path: string, body: unknown, token: string | null = cuff) =>
    request(`${t.baseUrl}/fhir${path}`, { ...(token === null ? {} : { token }), body: JSON.stringify(body), headers: FHIR_JSON });

  beforeAll(async () => {
    t = await startTestGateway();
    await t.admin.createPatient('p-1');
    cuff = await t.admin.createDevice({ id: 'cuff-1', kind: 'bp-cuff', patientId: 'p-1' });
    hub = await t.admin.createDevice({ id: 'hub-1', kind: 'hub' });
    await t.admin.createDevice({ id: 'scale-1', kind: 'scale', patientId: 'p-1', hubId: 'hub-1' });
  });
  afterAll(async () => t.close());

  it('normalizes a vital-sign Observation into a reading like any other input: 201 once committed, 200 when resent', async () => {
    const at = isoMinutesAgo(30);
    const first = await fhir('/Observation', bpObservation(at));
    expect(first.status).toBe(201);
    expect(first.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect(first.headers.get('location')).toMatch(/^Observation\/[A-Za-z0-9.-]+$/);
    expect(first.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'information' }] });
    const again = await fhir('/Observation', bpObservation(at));
    expect(again.status).toBe(200);
    expect(again.headers.get('location')).toBe(first.headers.get('location'));
    const readings = await t.admin.readings('p-1', '?kind=blood-pressure');
    expect(readings).toHaveLength(1);
    expect(readings[0]).toMatchObject({ deviceId: 'cuff-1', patientId: 'p-1', measuredAt: at, reported: { unit: 'mm[Hg]', values: { systolic: 138, diastolic: 88 } } });
    // The client id is a hash of the Observation identifier: no identifier value is stored.
    expect(readings[0].clientId).toMatch(/^fhir-[A-Za-z0-9_-]{22}$/);
  });

  it('answers problems with an OperationOutcome carrying our code and the FHIRPath of the bad element, and records the rejection', async () => {
    const cases: Array<[unknown, number, string, string | undefined]> = [
      [valueObservation('8867-4', 400, '/min', isoMinutesAgo(5)), 422, 'RPM_ERR_READING_IMPLAUSIBLE', 'Observation.valueQuantity.value'],
      [valueObservation('1234-5', 1, '%', isoMinutesAgo(5)), 422, 'RPM_ERR_READING_UNKNOWN_KIND', 'Observation.code'],
      [valueObservation('29463-7', 80, 'kg', '2026-12-01'), 422, 'RPM_ERR_READING_TIME_INVALID', 'Observation.effectiveDateTime'],
      [valueObservation('8310-5', 37, 'K', isoMinutesAgo(5)), 422, 'RPM_ERR_READING_UNIT_UNSUPPORTED', 'Observation.valueQuantity.code'],
      [{ ...valueObservation('8867-4', 70, '/min', isoMinutesAgo(5)), status: 'entered-in-error' }, 400, 'RPM_ERR_FHIR_INVALID', 'Observation.status'],
      [{ resourceType: 'Patient' }, 400, 'RPM_ERR_FHIR_INVALID', 'Observation.resourceType'],
      [{ ...bpObservation(isoMinutesAgo(5)), component: [] }, 422, 'RPM_ERR_READING_INVALID', 'Observation.component'],
    ];
    for (const [body, status, code, expression] of cases) {
      const res = await fhir('/Observation', body);
      expect(res.status, code).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
      expect(issueCodes(res.body), code).toEqual([code]);
      expect(res.body.issue[0].expression, code).toEqual([expression]);
    }
    const rejections = await t.admin.get('/v1/admin/devices/cuff-1/rejections');
    expect(rejections.body.rejections.map((r: { path: string }) => r.path)).toContain('Observation.valueQuantity.value');
  });

  it('answers every error of the FHIR endpoints as an OperationOutcome, never problem+json', async () => {
    const missing = await fhir('/Observation', bpObservation(isoMinutesAgo(3)), null);
    expect(missing.status).toBe(401);
    expect(issueCodes(missing.body)).toEqual(['RPM_ERR_AUTH_MISSING']);
    expect(missing.body.issue[0].code).toBe('login');
    const wrong = await fhir('/Observation', bpObservation(isoMinutesAgo(3)), 'rpmd_nonsense');
    expect(issueCodes(wrong.body)).toEqual(['RPM_ERR_AUTH_INVALID']);
    const malformed = await request(`${t.baseUrl}/fhir/Observation`, { token: cuff, body: '{"resourceType":', headers: FHIR_JSON });
    expect(malformed.status).toBe(400);
    expect(issueCodes(malformed.body)).toEqual(['RPM_ERR_REQUEST_MALFORMED_JSON']);
    const unknown = await fhir('/Patient', { resourceType: 'Patient' });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect(issueCodes(unknown.body)).toEqual(['RPM_ERR_NOT_FOUND']);
    const tooMany = await fhir('', { resourceType: 'Bundle', type: 'batch', entry: Array.from({ length: 1001 }, () => ({})) });
    expect(tooMany.status).toBe(413);
    expect(issueCodes(tooMany.body)).toEqual(['RPM_ERR_REQUEST_TOO_MANY_READINGS']);
    const notABundle = await fhir('', { resourceType: 'Bundle', type: 'collection', entry: [] });
    expect(issueCodes(notABundle.body)).toEqual(['RPM_ERR_FHIR_INVALID']);
    const metadata = await request(`${t.baseUrl}/fhir/metadata`);
    expect(metadata.body).toMatchObject({ resourceType: 'CapabilityStatement', fhirVersion: '4.0.1', rest: [{ resource: [{ type: 'Observation' }] }] });
  });

  it('takes a batch Bundle: each entry stands alone, answered in a batch-response', async () => {
    const at = isoMinutesAgo(20);
    const res = await fhir('/', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'POST', url: 'Observation' }, resource: valueObservation('59408-5', 97, '%', at) },
        { request: { method: 'POST', url: 'Observation' }, resource: valueObservation('59408-5', 130, '%', at) },
        { request: { method: 'PUT', url: 'Patient/1' }, resource: { resourceType: 'Patient' } },
        { request: { method: 'POST', url: 'Observation' }, resource: valueObservation('8867-4', 71, '/min', at) },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('Bundle');
    expect(res.body.type).toBe('batch-response');
    expect(res.body.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual(['201 Created', '422 Unprocessable Entity', '400 Bad Request', '201 Created']);
    expect(issueCodes(res.body.entry[1].response.outcome)).toEqual(['RPM_ERR_READING_IMPLAUSIBLE']);
    expect(res.body.entry[1].response.outcome.issue[0].expression).toEqual(['Bundle.entry[1].resource.valueQuantity.value']);
    expect(res.body.entry[2].response.outcome.issue[0].expression).toEqual(['Bundle.entry[2].request']);
    expect(res.body.entry[0].response.location).toMatch(/^Observation\//);
    expect((await t.admin.readings('p-1', '?kind=spo2')).map((r) => r.components[0].value)).toEqual([97]);
  });

  it('takes a transaction Bundle all or nothing', async () => {
    const at = isoMinutesAgo(40);
    const failing = await fhir('', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'POST', url: 'Observation' }, resource: valueObservation('9279-1', 16, '/min', at) },
        { request: { method: 'POST', url: 'Observation' }, resource: valueObservation('9279-1', 500, '/min', isoMinutesAgo(41)) },
      ],
    });
    expect(failing.status).toBe(422);
    expect(failing.body.resourceType).toBe('OperationOutcome');
    expect(issueCodes(failing.body)).toEqual(['RPM_ERR_READING_IMPLAUSIBLE']);
    expect(failing.body.issue[0].expression).toEqual(['Bundle.entry[1].resource.valueQuantity.value']);
    expect(await t.admin.readings('p-1', '?kind=respiratory-rate')).toHaveLength(0);
    const ok = await fhir('', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'POST', url: 'Observation' }, resource: valueObservation('9279-1', 16, '/min', at) },
        { request: { method: 'POST', url: 'Observation' }, resource: valueObservation('9279-1', 18, '/min', isoMinutesAgo(41)) },
      ],
    });
    expect(ok.status).toBe(200);
    expect(ok.body.type).toBe('transaction-response');
    expect(ok.body.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual(['201 Created', '201 Created']);
    expect(await t.admin.readings('p-1', '?kind=respiratory-rate')).toHaveLength(2);
  });

  it('lets a hub relay Observations of its paired devices (Observation.device), attributed by measurement time', async () => {
    const res = await fhir('/Observation', valueObservation('29463-7', 81.5, 'kg', isoMinutesAgo(10), { device: { reference: 'Device/scale-1' } }), hub);
    expect(res.status).toBe(201);
    const [w] = await t.admin.readings('p-1', '?kind=body-weight');
    expect(w).toMatchObject({ deviceId: 'scale-1', hubId: 'hub-1', patientId: 'p-1' });
    const stranger = await fhir('/Observation', valueObservation('29463-7', 81.5, 'kg', isoMinutesAgo(11), { device: { reference: 'Device/cuff-1' } }), hub);
    expect(stranger.status).toBe(422);
    expect(issueCodes(stranger.body)).toEqual(['RPM_ERR_READING_DEVICE_NOT_RELAYABLE']);
    expect(stranger.body.issue[0].expression).toEqual(['Observation.device']);
  });

  it('is documented in the OpenAPI document', async () => {
    const doc = await request(`${t.baseUrl}/docs/json`, { token: ADMIN_TOKEN });
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/fhir/Observation',
        '/fhir/',
        '/fhir/metadata',
        '/v1/admin/fhir/destinations',
        '/v1/admin/fhir/destinations/{id}',
        '/v1/admin/fhir/deliveries',
        '/v1/admin/fhir/deliveries/retry',
        '/v1/admin/fhir/destinations/{id}/pause',
        '/v1/admin/fhir/destinations/{id}/resume',
        '/v1/admin/fhir/destinations/{id}/backfill',
        '/v1/admin/fhir/destinations/{id}/patients',
        '/v1/admin/fhir/destinations/{id}/patients/{patientId}',
        '/fhir/Observation/{id}',
      ]),
    );
    // The operator's list filters by status (pending, failed, dead, …) and the retry takes failed and dead.
    const list = doc.body.paths['/v1/admin/fhir/deliveries'].get;
    expect(list.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['destinationId', 'status', 'limit', 'after']));
    expect(Object.keys(doc.body.paths['/v1/admin/fhir/deliveries/retry'].post.requestBody.content['application/json'].schema.properties)).toEqual(['destinationId', 'status', 'seqs', 'codes', 'patientId']);
  });

  it('answers the Location it gives: GET /fhir/Observation/{id} for the device that sent it and for staff who may see the patient, audited', async () => {
    const at = isoMinutesAgo(12);
    const created = await fhir('/Observation', bpObservation(at, 151, 'obs-read'));
    expect(created.status).toBe(201);
    const location = created.headers.get('location') as string;
    const url = `${t.baseUrl}/fhir/${location}`;
    const mine = await request(url, { token: cuff });
    expect(mine.status).toBe(200);
    expect(mine.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect(mine.body).toMatchObject({ resourceType: 'Observation', id: location.split('/')[1], status: 'final', effectiveDateTime: at });
    expect(mine.body.component.map((c: { valueQuantity: { value: number; code: string } }) => [c.valueQuantity.value, c.valueQuantity.code])).toEqual([
      [151, 'mm[Hg]'],
      [88, 'mm[Hg]'],
    ]);
    // A device sees what it measured, not whose it is.
    expect(mine.body.subject).toBeUndefined();
    expect(validationErrors(mine.body as FhirObservation)).toEqual([]);
    // Staff of the patient's organization, and the admin token, see it with its patient; others get 404.
    await t.admin.createOrganization('org-read');
    await t.admin.createOrganization('org-other');
    await t.admin.createPatient('p-read', { organizationId: 'org-read' });
    const reader = await t.admin.createDevice({ id: 'cuff-read', kind: 'bp-cuff', patientId: 'p-read' });
    const theirs = await request(`${t.baseUrl}/fhir/Observation`, { token: reader, body: JSON.stringify(bpObservation(isoMinutesAgo(11), 133, 'obs-r2')), headers: FHIR_JSON });
    const theirUrl = `${t.baseUrl}/fhir/${theirs.headers.get('location')}`;
    const member = await t.admin.createStaff({ email: 'nurse-read@clinic.test', role: 'nurse', organizationId: 'org-read' });
    await t.admin.createStaff({ email: 'admin-other@clinic.test', role: 'admin', organizationId: 'org-other' });
    const nurse = await t.admin.login('nurse-read@clinic.test');
    const stranger = await t.admin.login('admin-other@clinic.test');
    // A nurse sees the patients of her care teams.
    await t.admin.createCareTeam('team-read', 'org-read');
    await t.admin.addTeamMember('team-read', member.id);
    await t.admin.addTeamPatient('team-read', 'p-read');
    const byNurse = await request(theirUrl, { token: nurse });
    expect(byNurse.status).toBe(200);
    expect(byNurse.body.subject).toEqual({ identifier: { system: 'https://rpm-gateway.invalid/fhir/sid/rpm-patient', value: 'p-read' } });
    expect((await request(theirUrl, { token: ADMIN_TOKEN })).status).toBe(200);
    for (const [token, what] of [
      [stranger, 'staff of another organization'],
      [cuff, 'another device'],
    ] as const) {
      const res = await request(theirUrl, { token });
      expect(res.status, what).toBe(404);
      expect(issueCodes(res.body)).toEqual(['RPM_ERR_FHIR_OBSERVATION_NOT_FOUND']);
    }
    for (const id of ['nope', '1-AAAAAAAAAAAAAAAAAAAAAA', `${location.split('/')[1]}x`]) {
      expect((await request(`${t.baseUrl}/fhir/Observation/${id}`, { token: cuff })).status, id).toBe(404);
    }
    expect((await request(url)).status).toBe(401);
    const audit = await t.admin.get('/v1/admin/audit?limit=200');
    const reads = audit.body.entries.filter((e: { action: string }) => e.action === 'fhir.observation.read');
    expect(reads.map((e: { actor: string }) => e.actor)).toEqual(expect.arrayContaining(['device:cuff-1', 'admin', expect.stringMatching(/^staff:/)]));
  });
});
