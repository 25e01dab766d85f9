import { afterEach, describe, expect, it } from 'vitest';
import { type CapabilityMode, FhirTestServer } from '../test/fhir-server/fhir-test-server.js';
import { destinationStatus, eventually, FAST_FORWARDING_ENV, READING_SYSTEM } from '../test/fhir/gateway-env.js';
import { isoMinutesAgo, request, startTestGateway, type TestGateway } from '../test/helpers/gateway.js';

/**
 * One measurement sent twice under two client ids (a hub that lost its outbox and renumbered,
 * a resend through another path): the EHR must hold it once, whichever write path the server's
 * capabilities choose. The second is a duplicate reading at ingest (a reading is its device, kind
 * and instant, whatever its client id); behind that, two deliveries of one Observation identifier
 * are never in flight at once (connectors/fhir/in-flight.test.ts), which keeps an operator's requeue
 * or a backfill overlapping live delivery from writing it twice.
 */
describe('the same Observation twice: one Observation at the EHR, whatever the write path', () => {
  let server: FhirTestServer | undefined;
  let t: TestGateway | undefined;
  afterEach(async () => {
    await t?.close();
    await server?.close();
    t = undefined;
    server = undefined;
  });

  const paths: Array<[string, CapabilityMode, boolean]> = [
    ['search then create, batch Bundles', 'search-only', true],
    ['search then create, one request each', 'search-only', false],
    ['conditional create, batch Bundles', 'conditional-create', true],
    ['PUT to a deterministic id, one request each', 'update-as-create', false],
  ];
  for (const [name, capability, batch] of paths) {
    it(`${name}: 100 readings in one request, 50 pairs identical but for the client id → 50 Observations, each once`, async () => {
      server = await FhirTestServer.start({ capability, batch });
      // Slow enough that two exchanges are always in flight together.
      server.latencyMs = 30;
      t = await startTestGateway(FAST_FORWARDING_ENV);
      await t.admin.createOrganization('clinic');
      await t.admin.createPatient('p-1', { organizationId: 'clinic' });
      const secret = await t.admin.createDevice({ id: 'hrm-1', kind: 'heart-rate-monitor', patientId: 'p-1' });
      expect((await t.admin.post('/v1/admin/fhir/destinations', { id: 'ehr', organizationId: 'clinic', baseUrl: server.baseUrl, auth: { type: 'none' } })).status).toBe(201);

      const pair = (i: number): [Record<string, unknown>, Record<string, unknown>] => {
        const measuredAt = isoMinutesAgo(600 - i);
        const base = { kind: 'heart-rate', value: 55 + i, unit: 'bpm', measuredAt };
        return [
          { ...base, id: `first-${i}` },
          { ...base, id: `again-${i}` },
        ];
      };
      const pairs = Array.from({ length: 50 }, (_, i) => pair(i));
      // With 50 readings per exchange: pairs 0-39 are split across the two exchanges (in flight at
      // once), pairs 40-49 sit in the same exchange.
      const readings = [
        ...pairs.slice(0, 40).map((p) => p[0]),
        ...pairs.slice(40).flatMap((p) => [p[0], p[1]]).slice(0, 10),
        ...pairs.slice(0, 40).map((p) => p[1]),
        ...pairs.slice(40).flatMap((p) => [p[0], p[1]]).slice(10),
      ];
      expect(readings).toHaveLength(100);
      const res = await request(`${t.baseUrl}/v1/readings`, { token: secret, json: { readings } });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ accepted: 50, duplicate: 50 });

      await eventually(
        'every delivery',
        async () => {
          const s = await destinationStatus(t as TestGateway, 'ehr');
          return s.deliveries.delivered === res.body.accepted && s.deliveries.pending + s.deliveries.failed === 0 ? s : undefined;
        },
        30_000,
      );
      const counts = await server.countByIdentifier('Observation', READING_SYSTEM);
      expect(counts.size).toBe(50);
      expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
      expect((await server.all('Observation')).length).toBe(50);
    });
  }
});
