import type { Device as FhirDevice, Observation as FhirObservation } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FhirTestServer } from '../../test/fhir-server/fhir-test-server.js';
import { conformanceErrors } from '../../test/fhir/conformance.js';
import { addDevice, destinationStatus, eventually, FAST_FORWARDING_ENV, READING_SYSTEM } from '../../test/fhir/gateway-env.js';
import { isoMinutesAgo, request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';

describe('Forwarding to an EHR: readings become Observations at a real FHIR server, exactly once', () => {
  let server: FhirTestServer;
  let t: TestGateway;
  let cuff: string;
  let hub: string;
  let other: string;
  let meter: string;
  const post = (token: string, readings: unknown[]) => request(`${t.baseUrl}/v1/readings`, { token, json: { readings } });

  beforeAll(async () => {
    server = await FhirTestServer.start();
    t = await startTestGateway(FAST_FORWARDING_ENV);
    await t.admin.createOrganization('clinic-a');
    await t.admin.createOrganization('clinic-b');
    await t.admin.createPatient('p-1', { organizationId: 'clinic-a' });
    await t.admin.createPatient('p-2', { organizationId: 'clinic-b' });
    cuff = await addDevice(t, { id: 'cuff-1', kind: 'bp-cuff', patientId: 'p-1', manufacturer: 'Omron', model: 'BP7450', serial: 'SN-1' });
    hub = await addDevice(t, { id: 'hub-1', kind: 'hub', manufacturer: 'Acme', model: 'Hub 2', serial: 'H-1' });
    await addDevice(t, { id: 'scale-1', kind: 'scale', patientId: 'p-1', hubId: 'hub-1', model: 'S1', serial: 'SC-1', simulated: true });
    other = await addDevice(t, { id: 'cuff-2', kind: 'bp-cuff', patientId: 'p-2' });
    meter = await addDevice(t, { id: 'meter-1', kind: 'glucometer', patientId: 'p-1' });
  });
  afterAll(async () => {
    await t.close();
    await server.close();
  });

  it('configures destinations per organization through the admin API, never echoing credentials', async () => {
    const create = await t.admin.post('/v1/admin/fhir/destinations', {
      id: 'ehr-a',
      organizationId: 'clinic-a',
      baseUrl: server.baseUrl,
      auth: { type: 'basic', username: 'rpm', password: 'not-echoed-secret' },
      patientMapping: { type: 'identifier', system: 'https://ehr.test/mrn' },
      batchSize: 5,
    });
    expect(create.status).toBe(201);
    expect(create.body).toMatchObject({ id: 'ehr-a', organizationId: 'clinic-a', auth: { type: 'basic', username: 'rpm' }, enabled: true, batchSize: 5 });
    expect(create.body.kinds).toHaveLength(7);
    expect(JSON.stringify(create.body)).not.toContain('not-echoed-secret');
    // The test server asks for no credentials; switch to none (the change applies at once).
    const patch = await request(`${t.baseUrl}/v1/admin/fhir/destinations/ehr-a`, { token: 'test-admin-token-0123456789', method: 'PATCH', json: { auth: { type: 'none' } } });
    expect(patch.status).toBe(200);
    expect(patch.body.auth).toEqual({ type: 'none' });
    const problems: Array<[unknown, number, string]> = [
      [{ id: 'ehr-a', organizationId: 'clinic-a', baseUrl: server.baseUrl, auth: { type: 'none' } }, 409, 'RPM_ERR_FHIR_DESTINATION_EXISTS'],
      [{ id: 'ehr-x', organizationId: 'nowhere', baseUrl: server.baseUrl, auth: { type: 'none' } }, 404, 'RPM_ERR_ORGANIZATION_NOT_FOUND'],
      [{ id: 'ehr-y', organizationId: 'clinic-a', baseUrl: 'ftp://x', auth: { type: 'none' } }, 400, 'RPM_ERR_REQUEST_INVALID'],
      [{ id: 'ehr-z', organizationId: 'clinic-a', baseUrl: server.baseUrl, auth: { type: 'smart-backend', clientId: 'c', alg: 'RS384', privateKey: 'not a key' } }, 400, 'RPM_ERR_REQUEST_INVALID'],
    ];
    for (const [body, status, code] of problems) {
      const res = await t.admin.post('/v1/admin/fhir/destinations', body);
      expect(res.status, code).toBe(status);
      expect(res.body.code).toBe(code);
    }
    const missing = await request(`${t.baseUrl}/v1/admin/fhir/destinations/nope`, { token: 'test-admin-token-0123456789', method: 'PATCH', json: { enabled: false } });
    expect(missing.body.code).toBe('RPM_ERR_FHIR_DESTINATION_NOT_FOUND');
    const unauthorized = await request(`${t.baseUrl}/v1/admin/fhir/deliveries`, { token: cuff });
    expect(unauthorized.status).toBe(401);
    const list = await t.admin.get('/v1/admin/fhir/destinations?organizationId=clinic-a');
    expect(list.body.destinations.map((d: { id: string }) => d.id)).toEqual(['ehr-a']);
  });

  it("delivers the organization's readings, from HTTP and FHIR input alike, as valid Observations with Devices and provenance", async () => {
    const a = await post(cuff, [
      { id: 'bp-1', kind: 'blood-pressure', systolic: 151, diastolic: 94, pulse: 77, unit: 'mmHg', measuredAt: isoMinutesAgo(30) },
      { id: 'hr-1', kind: 'heart-rate', value: 66, unit: 'bpm', measuredAt: isoMinutesAgo(29) },
    ]);
    expect(a.body.accepted).toBe(2);
    const b = await post(hub, [{ id: 'w-1', kind: 'body-weight', value: 180.4, unit: 'lb', deviceId: 'scale-1', measuredAt: isoMinutesAgo(28) }]);
    expect(b.body.accepted).toBe(1);
    const fhirIn = await request(`${t.baseUrl}/fhir/Observation`, {
      token: cuff,
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '59408-5' }] },
        effectiveDateTime: isoMinutesAgo(27),
        valueQuantity: { value: 95, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
      }),
    });
    expect(fhirIn.status).toBe(201);
    // Another organization's reading has no destination: it is not forwarded.
    expect((await post(other, [{ kind: 'heart-rate', value: 80, unit: '/min', measuredAt: isoMinutesAgo(26) }])).body.accepted).toBe(1);

    const status = await eventually('four deliveries', async () => {
      const s = await destinationStatus(t, 'ehr-a');
      return s.deliveries.delivered === 4 && s.deliveries.pending + s.deliveries.failed === 0 ? s : undefined;
    });
    expect(status.deliveries).toEqual({ pending: 0, failed: 0, delivered: 4, dead: 0 });
    expect(status.circuit?.state).toBe('closed');
    expect(status.server).toEqual({ interaction: 'conditional-create', batch: true });

    // Five Observations (the cuff's pulse is its own), each once, each valid.
    const counts = await server.countByIdentifier('Observation', READING_SYSTEM);
    expect([...counts.values()]).toEqual([1, 1, 1, 1, 1]);
    const observations = await server.all<FhirObservation>('Observation');
    for (const o of observations) expect(conformanceErrors(o), JSON.stringify(o)).toEqual([]);
    expect(observations.every((o) => o.subject?.identifier?.system === 'https://ehr.test/mrn' && o.subject.identifier.value === 'p-1')).toBe(true);
    // Devices, conditionally created by serial: cuff, scale and hub once each.
    const devices = await server.all<FhirDevice>('Device');
    expect(devices.map((d) => d.serialNumber).sort()).toEqual(['H-1', 'SC-1', 'SN-1']);
    const weight = observations.find((o) => o.code.coding?.some((c) => c.code === '29463-7'));
    const deviceOf = (ref: string | undefined) => devices.find((d) => `Device/${d.id}` === ref);
    expect(deviceOf(weight?.device?.reference)?.serialNumber).toBe('SC-1');
    expect(deviceOf(weight?.extension?.find((e) => e.url.endsWith('observation-gatewayDevice'))?.valueReference?.reference)?.serialNumber).toBe('H-1');
    expect(weight?.valueQuantity).toMatchObject({ value: 180.4, code: '[lb_av]' });
    // The scale is simulated: its data is test data.
    expect(weight?.meta?.security?.[0]?.code).toBe('HTEST');
    expect(observations.filter((o) => o.meta?.security !== undefined)).toHaveLength(1);

    // The operator sees the deliveries with the server's references; that read and the
    // disclosure itself are audited.
    const deliveries = await t.admin.get('/v1/admin/fhir/deliveries?destinationId=ehr-a&status=delivered');
    expect(deliveries.body.deliveries).toHaveLength(4);
    expect(deliveries.body.deliveries[0].refs[0]).toMatch(/^Observation\//);
    const audit = await t.admin.get('/v1/admin/audit?limit=200');
    const actions = audit.body.entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['fhir.deliver', 'fhir.deliveries.read', 'fhir.destination.create', 'fhir.destination.update']));
  });

  it('dead-letters what the EHR refuses as invalid, without blocking the rest; the operator retries it once fixed', async () => {
    server.refuse((r) => (r.resourceType === 'Observation' && JSON.stringify(r).includes('"8310-5"') ? 'Body temperature is not accepted by this EHR' : undefined));
    await post(cuff, [
      { id: 'temp-1', kind: 'body-temperature', value: 38.2, unit: 'Cel', measuredAt: isoMinutesAgo(20) },
      { id: 'hr-2', kind: 'heart-rate', value: 88, unit: 'bpm', measuredAt: isoMinutesAgo(19) },
    ]);
    await eventually('a dead letter', async () => {
      const s = await destinationStatus(t, 'ehr-a');
      return s.deliveries.dead === 1 && s.deliveries.delivered === 5 ? s : undefined;
    });
    const dead = await t.admin.get('/v1/admin/fhir/deliveries?status=dead');
    expect(dead.body.deliveries).toHaveLength(1);
    expect(dead.body.deliveries[0]).toMatchObject({
      kind: 'body-temperature',
      status: 'dead',
      attempts: 1,
      error: { code: 'RPM_ERR_UPSTREAM_FHIR_REJECTED' },
      outcome: { resourceType: 'OperationOutcome', issue: [{ details: { text: 'Body temperature is not accepted by this EHR' } }] },
    });
    server.refuse(undefined);
    const retry = await t.admin.post('/v1/admin/fhir/deliveries/retry', { destinationId: 'ehr-a', status: ['dead'] });
    expect(retry.body).toEqual({ requeued: 1 });
    await eventually('the retried delivery', async () => {
      const s = await destinationStatus(t, 'ehr-a');
      return s.deliveries.dead === 0 && s.deliveries.delivered === 6 ? s : undefined;
    });
    const counts = await server.countByIdentifier('Observation', READING_SYSTEM);
    expect(counts.size).toBe(7);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  });

  it('forwards only the kinds a destination takes; while paused it queues (nothing dropped) and sends on resume', async () => {
    await request(`${t.baseUrl}/v1/admin/fhir/destinations/ehr-a`, { token: 'test-admin-token-0123456789', method: 'PATCH', json: { kinds: ['blood-pressure'] } });
    await post(cuff, [{ id: 'hr-3', kind: 'heart-rate', value: 61, unit: 'bpm', measuredAt: isoMinutesAgo(10) }]);
    await request(`${t.baseUrl}/v1/admin/fhir/destinations/ehr-a`, { token: 'test-admin-token-0123456789', method: 'PATCH', json: { enabled: false, kinds: ['blood-pressure', 'heart-rate'] } });
    await post(cuff, [{ id: 'hr-4', kind: 'heart-rate', value: 62, unit: 'bpm', measuredAt: isoMinutesAgo(9) }]);
    const paused = await destinationStatus(t, 'ehr-a');
    // hr-3 arrived while the destination did not take heart rate: not queued (a backfill can send it).
    expect(paused.deliveries).toEqual({ pending: 1, failed: 0, delivered: 6, dead: 0 });
    expect(paused.circuit).toBeNull();
    await new Promise((r) => setTimeout(r, 300));
    expect((await destinationStatus(t, 'ehr-a')).deliveries.pending).toBe(1);
    const resumed = await t.admin.post('/v1/admin/fhir/destinations/ehr-a/resume', {});
    expect(resumed.body).toMatchObject({ id: 'ehr-a', enabled: true });
    await eventually('the queued reading', async () => {
      const s = await destinationStatus(t, 'ehr-a');
      return s.deliveries.delivered === 7 && s.deliveries.pending === 0 ? s : undefined;
    });
  });

  it('sends the glucose meal context, and a kPa blood pressure with the precision the cuff had', async () => {
    await request(`${t.baseUrl}/v1/admin/fhir/destinations/ehr-a`, { token: 'test-admin-token-0123456789', method: 'PATCH', json: { kinds: ['blood-pressure', 'blood-glucose'] } });
    await post(meter, [{ id: 'g-1', kind: 'blood-glucose', value: 154, unit: 'mg/dL', mealContext: 'after-meal', measuredAt: isoMinutesAgo(8) }]);
    await post(cuff, [{ id: 'bp-kpa', kind: 'blood-pressure', systolic: 17.3, diastolic: 11.2, unit: 'kPa', measuredAt: isoMinutesAgo(7) }]);
    await eventually('both delivered', async () => {
      const s = await destinationStatus(t, 'ehr-a');
      return s.deliveries.delivered === 9 && s.deliveries.pending === 0 ? s : undefined;
    });
    const observations = await server.all<FhirObservation>('Observation');
    const glucose = observations.find((o) => o.code.coding?.some((c) => c.code === '41653-7'));
    expect(glucose?.valueQuantity).toMatchObject({ value: 154, code: 'mg/dL' });
    expect(glucose?.component).toEqual([
      {
        code: { coding: [{ system: 'urn:iso:std:iso:11073:10101', code: '8417864', display: 'MDC_CTXT_GLU_MEAL' }], text: 'Meal context' },
        valueCodeableConcept: {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/v3-TimingEvent', code: 'PC', display: 'after meal' },
            { system: 'urn:iso:std:iso:11073:10101', code: '8417872', display: 'MDC_CTXT_GLU_MEAL_POSTPRANDIAL' },
          ],
          text: 'After meal',
        },
      },
    ]);
    const kpa = observations.find((o) => o.component?.some((c) => c.valueQuantity?.value === 130));
    expect(kpa?.component?.map((c) => [c.valueQuantity?.value, c.valueQuantity?.code])).toEqual([
      [130, 'mm[Hg]'],
      [84, 'mm[Hg]'],
    ]);
    for (const o of [glucose, kpa]) expect(conformanceErrors(o as FhirObservation)).toEqual([]);
  });
});
