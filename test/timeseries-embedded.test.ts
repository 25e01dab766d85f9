import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from './helpers/child-gateway.js';
import { isoMinutesAgo, request, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { VictoriaMetrics } from './helpers/victoria-metrics.js';

/**
 * The single process with RPM_TIMESERIES_URL set: readings go to the time-series store after their
 * commit (the same writer a worker runs in the distributed mode), and readings of an unassigned
 * device follow once an assignment attributes them.
 */
describe('the single process writes readings to a time-series store when one is configured', () => {
  let vm: VictoriaMetrics;
  let t: TestGateway;
  beforeAll(async () => {
    vm = await VictoriaMetrics.start();
    t = await startTestGateway({ RPM_TIMESERIES_URL: vm.url });
  });
  afterAll(async () => {
    await t?.close();
    await vm?.stop();
  });

  const points = async (selector: string, want: number): Promise<number> => {
    for (const deadline = Date.now() + 15_000; ; ) {
      const n = (await vm.export(selector)).reduce((sum, s) => sum + s.timestamps.length, 0);
      if (n >= want || Date.now() > deadline) return n;
      await sleep(100);
    }
  };

  it('writes each committed reading once, and attributed ones when they get their patient', async () => {
    await t.admin.createOrganization('org-ts');
    await t.admin.createPatient('p-ts', { organizationId: 'org-ts' });
    const secret = await t.admin.createDevice({ id: 'hr-ts', kind: 'heart-rate-monitor', patientId: 'p-ts' });
    const readings = Array.from({ length: 5 }, (_, i) => ({ id: `ts-${i}`, kind: 'heart-rate', value: 60 + i, unit: '/min', measuredAt: isoMinutesAgo(30 - i) }));
    expect((await request(`${t.baseUrl}/v1/readings`, { token: secret, json: { readings } })).status).toBe(202);
    // A resend is a duplicate: still one point each.
    expect((await request(`${t.baseUrl}/v1/readings`, { token: secret, json: { readings } })).status).toBe(202);
    expect(await points('{__name__="rpm_reading_value", patient="p-ts", device="hr-ts"}', 5)).toBe(5);

    const loose = await t.admin.createDevice({ id: 'hr-loose', kind: 'heart-rate-monitor' });
    expect((await request(`${t.baseUrl}/v1/readings`, { token: loose, json: { readings: [{ id: 'l-1', kind: 'heart-rate', value: 70, unit: '/min', measuredAt: isoMinutesAgo(10) }] } })).status).toBe(202);
    const assigned = await t.admin.post('/v1/admin/devices/hr-loose/assignments', { patientId: 'p-ts', from: isoMinutesAgo(60) });
    expect(assigned.status, JSON.stringify(assigned.body)).toBe(201);
    expect(await points('{__name__="rpm_reading_value", patient="p-ts", device="hr-loose"}', 1)).toBe(1);
  });
});
