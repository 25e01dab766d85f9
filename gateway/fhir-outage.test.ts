import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { FhirTestServer } from '../test/fhir-server/fhir-test-server.js';
import { destinationStatus, eventually, FAST_FORWARDING_ENV, READING_SYSTEM } from '../test/fhir/gateway-env.js';
import { isoMinutesAgo, request, startTestGateway, tempDir, type TestGateway } from '../test/helpers/gateway.js';

const ENV = { ...FAST_FORWARDING_ENV, RPM_FHIR_BATCH_SIZE: '10' };

describe('FHIR outage: the EHR goes down, the gateway restarts, answers get lost; every reading still arrives exactly once', () => {
  const dataDir = tempDir('rpm-fhir-outage-');
  let server: FhirTestServer | undefined;
  let t: TestGateway | undefined;
  afterAll(async () => {
    await t?.close();
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('delivers 80 readings once each through a 503 burst, an outage with a gateway restart, and committed-but-unanswered batches', async () => {
    server = await FhirTestServer.start();
    t = await startTestGateway(ENV, { dataDir });
    await t.admin.createOrganization('clinic');
    await t.admin.createPatient('p-1', { organizationId: 'clinic' });
    const secret = await t.admin.createDevice({ id: 'hrm-1', kind: 'heart-rate-monitor', patientId: 'p-1' });
    expect((await t.admin.post('/v1/admin/fhir/destinations', { id: 'ehr', organizationId: 'clinic', baseUrl: server.baseUrl, auth: { type: 'none' } })).status).toBe(201);

    let minute = 0;
    const send = async (gw: TestGateway, n: number): Promise<void> => {
      const readings = Array.from({ length: n }, () => {
        minute += 1;
        return { id: `r-${minute}`, kind: 'heart-rate', value: 50 + (minute % 60), unit: 'bpm', measuredAt: isoMinutesAgo(1000 - minute) };
      });
      const res = await request(`${gw.baseUrl}/v1/readings`, { token: secret, json: { readings } });
      expect(res.body.accepted).toBe(n);
    };
    const delivered = (gw: TestGateway, n: number) =>
      eventually(`${n} delivered`, async () => {
        const s = await destinationStatus(gw, 'ehr');
        return s.deliveries.delivered === n && s.deliveries.pending + s.deliveries.failed === 0 ? s : undefined;
      });

    // Normal operation, then a burst of 503s the retries absorb.
    server.failNext(4, 503);
    await send(t, 20);
    await delivered(t, 20);

    // The EHR goes away. Readings keep arriving; deliveries fail, back off, and the circuit opens.
    await server.down();
    for (let i = 0; i < 4; i++) {
      await send(t, 10);
      await new Promise((r) => setTimeout(r, 100));
    }
    const during = await eventually('the circuit to open', async () => {
      const s = await destinationStatus(t as TestGateway, 'ehr');
      return s.circuit?.state === 'open' && s.deliveries.failed > 0 ? s : undefined;
    });
    expect(during.deliveries.delivered).toBe(20);

    // The operator sees what waits: failed deliveries with our code and their next attempt,
    // scheduled by exponential backoff with jitter (RPM_FHIR_RETRY_BASE_MS=40, _MAX_MS=400:
    // after n attempts, between half and all of min(400, 40·2^(n-1)) ms), and untried ones pending.
    const waiting = await t.admin.get('/v1/admin/fhir/deliveries?destinationId=ehr&status=pending,failed&limit=1000');
    expect(waiting.status).toBe(200);
    const rows = waiting.body.deliveries as Array<{ status: string; attempts: number; lastAttemptAt: string | null; nextAttemptAt: string | null; error: { code: string } | null }>;
    expect(rows).toHaveLength(40);
    const failed = rows.filter((r) => r.status === 'failed');
    // (A probe may fail more of them at any moment, so no exact count here.)
    expect(failed.length).toBeGreaterThan(0);
    for (const r of failed) {
      expect(r.error?.code).toBe('RPM_ERR_UPSTREAM_FHIR');
      const delay = Date.parse(r.nextAttemptAt ?? '') - Date.parse(r.lastAttemptAt ?? '');
      const exp = Math.min(400, 40 * 2 ** (r.attempts - 1));
      expect(delay).toBeGreaterThanOrEqual(Math.floor(exp / 2));
      expect(delay).toBeLessThanOrEqual(exp);
    }
    expect(rows.filter((r) => r.status === 'pending').every((r) => r.attempts === 0 && r.error === null)).toBe(true);
    // Retried by the operator while the circuit is open: due now, but nothing is sent until the
    // breaker lets a probe through, so they simply wait as pending.
    const requeued = await t.admin.post('/v1/admin/fhir/deliveries/retry', { destinationId: 'ehr', status: ['failed'] });
    expect(requeued.status).toBe(200);
    expect(requeued.body.requeued).toBeGreaterThan(0);
    const afterRetry = await destinationStatus(t, 'ehr');
    expect(afterRetry.deliveries.pending + afterRetry.deliveries.failed).toBe(40);
    expect(afterRetry.deliveries.delivered).toBe(20);

    // The gateway restarts in the middle of the outage: the outbox is on disk, nothing is lost.
    await t.close();
    t = await startTestGateway(ENV, { dataDir });
    await send(t, 20);
    const afterRestart = await destinationStatus(t, 'ehr');
    expect(afterRestart.deliveries.pending + afterRestart.deliveries.failed).toBe(60);

    // The EHR comes back; its first answers are lost after it committed them.
    server.dropAfterCommit(3);
    await server.up();
    const final = await delivered(t, 80);
    expect(final.deliveries).toEqual({ pending: 0, failed: 0, delivered: 80, dead: 0 });
    expect(final.circuit?.state).toBe('closed');

    // Counted by identifier at the EHR: 80 Observations, each exactly once.
    const counts = await server.countByIdentifier('Observation', READING_SYSTEM);
    expect(counts.size).toBe(80);
    expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
    expect((await server.all('Device')).length).toBe(1);
    // The faults really happened: 503s answered, committed batches whose answers were dropped.
    expect(server.requests.filter((r) => r.status === 503).length).toBe(4);
    expect(server.requests.filter((r) => r.status < 0).length).toBe(3);
  });
});
