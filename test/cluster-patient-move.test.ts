import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from './helpers/child-gateway.js';
import { ADMIN_TOKEN, isoMinutesAgo, request, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import { dropRedisPrefix, freshRedisPrefix, REDIS_TEST_URL, requireRedis } from './helpers/redis.js';

/**
 * A patient moved to another organization at one gateway of the distributed mode: the other
 * gateways forget the patient's cached organization at once (cluster event), so the next reading
 * they commit goes to the new organization's EHR, never the old one's.
 */
describe('distributed mode: a patient moved at one gateway is routed by the new organization at the others', () => {
  let db: TestDatabase;
  const prefix = freshRedisPrefix();
  let gw1: TestGateway;
  let gw2: TestGateway;

  beforeAll(async () => {
    await requireRedis();
    db = await createTestDatabase();
    const env = {
      RPM_STORE: 'postgres',
      RPM_DATABASE_URL: db.url,
      RPM_REDIS_URL: REDIS_TEST_URL,
      RPM_REDIS_PREFIX: prefix,
      RPM_SECRET_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    };
    gw1 = await startTestGateway({ ...env, RPM_NODE_NAME: 'move-gw-1' }, { role: 'gateway' });
    gw2 = await startTestGateway({ ...env, RPM_NODE_NAME: 'move-gw-2' }, { role: 'gateway' });
  }, 60_000);
  afterAll(async () => {
    await gw1?.close();
    await gw2?.close();
    await dropRedisPrefix(prefix);
    await db?.drop();
  });

  const outboxOf = async (readingClientId: string): Promise<string[]> => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const rows = await client.query<{ destination_id: string }>(
        'SELECT o.destination_id FROM fhir_outbox o JOIN readings r ON r.seq = o.reading_seq WHERE r.client_id = $1 ORDER BY 1',
        [readingClientId],
      );
      return rows.rows.map((r) => r.destination_id);
    } finally {
      await client.end();
    }
  };

  it('routes the next reading committed at the other gateway to the new organization', async () => {
    for (const org of ['org-a', 'org-b']) {
      await gw1.admin.createOrganization(org);
      const d = await gw1.admin.post('/v1/admin/fhir/destinations', { id: `ehr-${org}`, organizationId: org, baseUrl: 'http://127.0.0.1:9/fhir', auth: { type: 'none' } });
      expect(d.status, JSON.stringify(d.body)).toBe(201);
    }
    await gw1.admin.createPatient('p-move', { organizationId: 'org-a' });
    const secret = await gw1.admin.createDevice({ id: 'hr-move', kind: 'heart-rate-monitor', patientId: 'p-move' });
    const post = async (gw: TestGateway, id: string): Promise<void> => {
      const res = await request(`${gw.baseUrl}/v1/readings`, { token: secret, json: { readings: [{ id, kind: 'heart-rate', value: 70, unit: '/min', measuredAt: isoMinutesAgo(5) }] } });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
    };
    // The second gateway learns of both destinations and caches the patient's organization.
    for (let i = 0; ; i++) {
      await post(gw2, `before-${i}`);
      if ((await outboxOf(`before-${i}`)).length > 0) {
        expect(await outboxOf(`before-${i}`)).toEqual(['ehr-org-a']);
        break;
      }
      if (i > 50) throw new Error('gateway 2 never routed to the first destination');
      await sleep(100);
    }
    const moved = await request(`${gw1.baseUrl}/v1/admin/patients/p-move/organization`, { method: 'PUT', token: ADMIN_TOKEN, json: { organizationId: 'org-b' } });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    // The event reaches gateway 2 within moments; its next commit goes to the new organization's EHR.
    for (let i = 0; ; i++) {
      await post(gw2, `after-${i}`);
      const routed = await outboxOf(`after-${i}`);
      if (routed.includes('ehr-org-b')) {
        expect(routed).toEqual(['ehr-org-b']);
        expect(i).toBeLessThan(20);
        break;
      }
      if (i > 50) throw new Error(`gateway 2 still routes the moved patient to ${routed.join(', ')}`);
      await sleep(50);
    }
  });
});
