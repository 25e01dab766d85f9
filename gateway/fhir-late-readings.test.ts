import type { Observation as FhirObservation } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FhirTestServer } from '../test/fhir-server/fhir-test-server.js';
import { destinationStatus, eventually, FAST_FORWARDING_ENV, READING_SYSTEM } from '../test/fhir/gateway-env.js';
import { isoMinutesAgo, request, startTestGateway, type TestGateway } from '../test/helpers/gateway.js';

/**
 * Every reading of a patient whose organization has a destination reaches it exactly once,
 * whenever it became that patient's and whenever the destination came to want it: readings
 * attributed by a later assignment, readings that arrived while the destination was paused, of a
 * kind it did not take yet, or before it existed (an operator's backfill).
 */
describe('readings that became forwardable late reach the EHR, exactly once', () => {
  let server: FhirTestServer;
  let t: TestGateway;
  let cuff: string;
  const post = (secret: string, readings: unknown[]) => request(`${t.baseUrl}/v1/readings`, { token: secret, json: { readings } });
  const delivered = (id: string, n: number) =>
    eventually(`${n} delivered to ${id}`, async () => {
      const s = await destinationStatus(t, id);
      return s.deliveries.delivered === n && s.deliveries.pending + s.deliveries.failed === 0 ? s : undefined;
    });
  const atEhr = async (): Promise<Map<string, number>> => server.countByIdentifier('Observation', READING_SYSTEM);

  beforeAll(async () => {
    server = await FhirTestServer.start();
    t = await startTestGateway(FAST_FORWARDING_ENV);
    await t.admin.createOrganization('clinic');
    await t.admin.createPatient('p-1', { organizationId: 'clinic' });
    cuff = await t.admin.createDevice({ id: 'cuff-1', kind: 'bp-cuff', patientId: 'p-1' });
  });
  afterAll(async () => {
    await t.close();
    await server.close();
  });

  it('backfills what arrived before the destination existed, and a kind it did not take, once, audited', async () => {
    // Before any destination: committed, nothing queued.
    expect((await post(cuff, [{ id: 'early-bp', kind: 'blood-pressure', systolic: 128, diastolic: 81, unit: 'mmHg', measuredAt: isoMinutesAgo(300) }])).body.accepted).toBe(1);
    expect((await post(cuff, [{ id: 'early-hr', kind: 'heart-rate', value: 64, unit: 'bpm', measuredAt: isoMinutesAgo(290) }])).body.accepted).toBe(1);
    const created = await t.admin.post('/v1/admin/fhir/destinations', { id: 'ehr', organizationId: 'clinic', baseUrl: server.baseUrl, auth: { type: 'none' }, kinds: ['blood-pressure'] });
    expect(created.status).toBe(201);
    // A heart rate while the destination does not take heart rates: not queued.
    expect((await post(cuff, [{ id: 'hr-off', kind: 'heart-rate', value: 66, unit: 'bpm', measuredAt: isoMinutesAgo(200) }])).body.accepted).toBe(1);
    expect((await destinationStatus(t, 'ehr')).deliveries).toEqual({ pending: 0, failed: 0, delivered: 0, dead: 0 });

    // Refused: a kind the destination does not take, an empty window, an unknown destination.
    const since = new Date(Date.now() - 24 * 3_600_000).toISOString();
    expect((await t.admin.post('/v1/admin/fhir/destinations/ehr/backfill', { since, kinds: ['heart-rate'] })).body.code).toBe('RPM_ERR_REQUEST_INVALID');
    expect((await t.admin.post('/v1/admin/fhir/destinations/ehr/backfill', { since, until: since })).body.code).toBe('RPM_ERR_REQUEST_INVALID');
    expect((await t.admin.post('/v1/admin/fhir/destinations/ghost/backfill', { since })).status).toBe(404);
    expect((await t.admin.post('/v1/admin/fhir/destinations/ehr/backfill', { since: 'yesterday' })).status).toBe(400);

    // "Send this destination everything since T": the blood pressure from before it existed.
    const first = await t.admin.post('/v1/admin/fhir/destinations/ehr/backfill', { since });
    expect(first.body).toEqual({ queued: 1, kinds: ['blood-pressure'] });
    await delivered('ehr', 1);
    // Heart rates too, now that it takes them: both of them, once.
    await request(`${t.baseUrl}/v1/admin/fhir/destinations/ehr`, { token: 'test-admin-token-0123456789', method: 'PATCH', json: { kinds: ['blood-pressure', 'heart-rate'] } });
    expect((await t.admin.post('/v1/admin/fhir/destinations/ehr/backfill', { since, kinds: ['heart-rate'] })).body).toEqual({ queued: 2, kinds: ['heart-rate'] });
    await delivered('ehr', 3);
    // Run again: nothing more to queue, nothing sent twice.
    expect((await t.admin.post('/v1/admin/fhir/destinations/ehr/backfill', { since })).body.queued).toBe(0);
    const counts = await atEhr();
    // The cuff's BP reading carried no pulse: one Observation per reading.
    expect(counts.size).toBe(3);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    const audit = await t.admin.get('/v1/admin/audit?limit=200');
    const backfills = audit.body.entries.filter((e: { action: string }) => e.action === 'fhir.destination.backfill');
    expect(backfills).toHaveLength(3);
    expect(backfills.map((e: { details: { queued: number } }) => e.details.queued).sort()).toEqual([0, 1, 2]);
  });

  it('queues while paused and sends on resume (pause is not drop)', async () => {
    const paused = await t.admin.post('/v1/admin/fhir/destinations/ehr/pause', {});
    expect(paused.body).toMatchObject({ id: 'ehr', enabled: false });
    await post(cuff, [
      { id: 'paused-1', kind: 'heart-rate', value: 70, unit: 'bpm', measuredAt: isoMinutesAgo(100) },
      { id: 'paused-2', kind: 'heart-rate', value: 71, unit: 'bpm', measuredAt: isoMinutesAgo(99) },
    ]);
    await new Promise((r) => setTimeout(r, 300));
    const s = await destinationStatus(t, 'ehr');
    expect(s.deliveries.pending).toBe(2);
    expect(s.oldestWaitingSince).not.toBeNull();
    expect((await atEhr()).size).toBe(3);
    await t.admin.post('/v1/admin/fhir/destinations/ehr/resume', {});
    await delivered('ehr', 5);
    expect((await atEhr()).size).toBe(5);
    const actions = (await t.admin.get('/v1/admin/audit?limit=200')).body.entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['fhir.destination.pause', 'fhir.destination.resume']));
  });

  it('forwards readings a device sent while unassigned once an assignment reaching back before them attributes them', async () => {
    const loose = await t.admin.createDevice({ id: 'cuff-loose', kind: 'bp-cuff' });
    expect((await post(loose, [{ id: 'loose-1', kind: 'blood-pressure', systolic: 141, diastolic: 90, unit: 'mmHg', measuredAt: isoMinutesAgo(60) }])).body.accepted).toBe(1);
    expect((await destinationStatus(t, 'ehr')).deliveries.pending).toBe(0);
    const assigned = await t.admin.post('/v1/admin/devices/cuff-loose/assignments', { patientId: 'p-1', from: isoMinutesAgo(120) });
    expect(assigned.body.attributedReadings).toBe(1);
    await delivered('ehr', 6);
    const bp = (await server.all<FhirObservation>('Observation')).filter((o) => o.component?.some((c) => c.valueQuantity?.value === 141));
    expect(bp).toHaveLength(1);
    expect(bp[0]?.subject?.reference).toBe('Patient/p-1');
    // A backfill afterwards finds it already queued: still once.
    expect((await t.admin.post('/v1/admin/fhir/destinations/ehr/backfill', { since: isoMinutesAgo(600) })).body.queued).toBe(0);
    expect([...(await atEhr()).values()].every((n) => n === 1)).toBe(true);
  });
});
