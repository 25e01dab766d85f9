import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { FhirTestServer } from './fhir-server/fhir-test-server.js';
import { type DeliveryCounts, FAST_FORWARDING_ENV, READING_SYSTEM } from './fhir/gateway-env.js';
import { ChildGateway, sleep, waitFor } from './helpers/child-gateway.js';
import { ADMIN_TOKEN, AdminClient, isoMinutesAgo, request, tempDir } from './helpers/gateway.js';

/**
 * The transactional outbox under SIGKILL: the gateway process is killed while batches are in
 * flight to the EHR (the EHR commits them, the gateway never learns), and again during an EHR
 * outage with acknowledged readings still undelivered. After restarts every acknowledged
 * reading is at the EHR exactly once, counted by identifier.
 */
describe('FHIR forwarding across gateway crashes (SIGKILL)', () => {
  const dataDir = tempDir('rpm-fhir-crash-');
  const gw = new ChildGateway({ dataDir, env: { ...FAST_FORWARDING_ENV, RPM_FHIR_BATCH_SIZE: '5', RPM_LOG_LEVEL: 'warn' } });
  let server: FhirTestServer | undefined;
  afterAll(async () => {
    await gw.dispose();
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const counts = async (): Promise<DeliveryCounts> => {
    const res = await request<{ deliveries: DeliveryCounts }>(`${gw.baseUrl}/v1/admin/fhir/destinations/ehr`, { token: ADMIN_TOKEN });
    if (res.status !== 200) throw new Error(`destination: ${res.status}`);
    return res.body.deliveries;
  };

  it('delivers every acknowledged reading exactly once after kills mid-delivery and mid-outage', async () => {
    server = await FhirTestServer.start();
    const ehr = server;
    await gw.start();
    const admin = new AdminClient(gw.baseUrl);
    await admin.createOrganization('clinic');
    await admin.createPatient('p-1', { organizationId: 'clinic' });
    const secret = await admin.createDevice({ id: 'hrm-1', kind: 'heart-rate-monitor', patientId: 'p-1' });
    expect((await admin.post('/v1/admin/fhir/destinations', { id: 'ehr', organizationId: 'clinic', baseUrl: ehr.baseUrl, auth: { type: 'none' } })).status).toBe(201);

    let n = 0;
    const send = async (count: number): Promise<void> => {
      const readings = Array.from({ length: count }, () => {
        n += 1;
        return { id: `r-${n}`, kind: 'heart-rate', value: 50 + (n % 60), unit: '/min', measuredAt: isoMinutesAgo(500 - n) };
      });
      const res = await request<{ accepted: number }>(`${gw.baseUrl}/v1/readings`, { token: secret, json: { readings } });
      expect(res.status).toBe(202);
      expect(res.body.accepted).toBe(count);
    };

    // 1. A slow EHR, so that exchanges are in flight when the process dies.
    ehr.latencyMs = 150;
    await send(40);
    let recorded = 0;
    for (const deadline = Date.now() + 20_000; ; ) {
      recorded = (await counts()).delivered;
      if (recorded >= 5 && ehr.inFlight > 0) break;
      if (Date.now() > deadline) throw new Error(`no delivery in flight (delivered ${recorded})`);
      await sleep(10);
    }
    await gw.current?.killHard();
    // The EHR finishes what it received: committed there, never recorded by the gateway.
    await waitFor(() => ehr.inFlight === 0, 5_000, 'the EHR to finish in-flight requests');
    const atEhr = (await ehr.countByIdentifier('Observation', READING_SYSTEM)).size;

    // 2. The EHR goes down; the gateway comes back and has not lost the outbox.
    await ehr.down();
    ehr.latencyMs = 0;
    await gw.start();
    const afterFirstCrash = await counts();
    expect(afterFirstCrash.delivered + afterFirstCrash.pending + afterFirstCrash.failed).toBe(40);
    // Some readings reached the EHR without the gateway recording it: they will be resent.
    expect(atEhr).toBeGreaterThan(afterFirstCrash.delivered);
    await send(20);
    await sleep(300); // attempts fail against the missing EHR meanwhile
    await gw.current?.killHard();

    // 3. Restart, the EHR comes back: everything arrives, once.
    await gw.start();
    await ehr.up();
    for (const deadline = Date.now() + 30_000; ; ) {
      const c = await counts();
      if (c.delivered === 60 && c.pending + c.failed === 0) {
        expect(c.dead).toBe(0);
        break;
      }
      if (Date.now() > deadline) throw new Error(`not all delivered: ${JSON.stringify(c)}`);
      await sleep(50);
    }
    const byIdentifier = await ehr.countByIdentifier('Observation', READING_SYSTEM);
    expect(byIdentifier.size).toBe(60);
    expect([...byIdentifier.values()].filter((k) => k !== 1)).toEqual([]);
    expect(await ehr.all('Device')).toHaveLength(1);
  }, 90_000);
});
