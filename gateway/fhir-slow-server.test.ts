import { afterAll, describe, expect, it } from 'vitest';
import { FhirTestServer } from '../test/fhir-server/fhir-test-server.js';
import { destinationStatus, eventually, FAST_FORWARDING_ENV, READING_SYSTEM } from '../test/fhir/gateway-env.js';
import { isoMinutesAgo, request, startTestGateway, type TestGateway } from '../test/helpers/gateway.js';

/**
 * A server that needs longer than the timeout for a whole batch: resending the same batch on
 * every timeout would never complete. Batches shrink on timeouts until the server keeps up, and
 * the destination's status says why they are small.
 */
describe('an EHR slower than the timeout for a full batch', () => {
  let server: FhirTestServer | undefined;
  let t: TestGateway | undefined;
  afterAll(async () => {
    await t?.close();
    await server?.close();
  });

  it('still gets every reading, once, in smaller batches; the status says why', async () => {
    server = await FhirTestServer.start();
    // 20 ms per entry: 50 readings take 1 s, 25 take 0.5 s, 12 take 0.24 s; the timeout is 0.4 s.
    server.entryLatencyMs = 20;
    t = await startTestGateway({ ...FAST_FORWARDING_ENV, RPM_FHIR_TIMEOUT_MS: '400', RPM_FHIR_BATCH_SIZE: '50' });
    await t.admin.createOrganization('clinic');
    await t.admin.createPatient('p-1', { organizationId: 'clinic' });
    const secret = await t.admin.createDevice({ id: 'hrm-1', kind: 'heart-rate-monitor', patientId: 'p-1' });
    expect((await t.admin.post('/v1/admin/fhir/destinations', { id: 'ehr', organizationId: 'clinic', baseUrl: server.baseUrl, auth: { type: 'none' } })).status).toBe(201);
    const readings = Array.from({ length: 50 }, (_, i) => ({ id: `r-${i}`, kind: 'heart-rate', value: 50 + i, unit: 'bpm', measuredAt: isoMinutesAgo(500 - i) }));
    expect((await request(`${t.baseUrl}/v1/readings`, { token: secret, json: { readings } })).body.accepted).toBe(50);

    const done = await eventually(
      'all 50 delivered',
      async () => {
        const s = await destinationStatus(t as TestGateway, 'ehr');
        return s.deliveries.delivered === 50 ? s : undefined;
      },
      30_000,
    );
    const batching = done.batching;
    if (batching === null) throw new Error('the destination is running: it has a batching status');
    expect(batching.configured).toBe(50);
    expect(batching.current).toBeLessThanOrEqual(12);
    expect(batching.reason).toMatch(/^an exchange of \d+ readings got no answer within 400 ms: sending \d+ per exchange until the server keeps up$/);
    // The Bundles got smaller; the ones that fit in the timeout went through.
    const bundles = server.requests.filter((r) => r.method === 'POST' && r.path === '/').map((r) => r.entries);
    expect(Math.max(...bundles)).toBe(50);
    expect(Math.min(...bundles)).toBeLessThanOrEqual(12);
    // Timed-out batches may have been stored after we gave up on them: still once each.
    const counts = await server.countByIdentifier('Observation', READING_SYSTEM);
    expect(counts.size).toBe(50);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  });
});
