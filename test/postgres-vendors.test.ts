import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../gateway/vendors/translation.js';
import { WithingsCloud } from '../simulators/vendors/withings-cloud.js';
import { request, startTestGateway, tempDir } from './helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import { VendorGateway, vendorFixture } from './helpers/vendors.js';

const TENOVI_KEY = 'tenovi-webhook-key-pg-0123456789';
const TENOVI_BPM = '7c1e5f0a-2b8d-4e39-9a61-0f3c5d2e8b14';
const TENOVI_PATH = '/vendors/tenovi/org-v/measurements';
const WITHINGS_APP = { clientId: 'withings-client-id', clientSecret: 'withings-client-secret' };
const CALLBACK = 'cb-token-pg-0123456789abcdefghij';
const NOTIFY = `/vendors/withings/org-v/notify/${CALLBACK}`;
const form = { 'content-type': 'application/x-www-form-urlencoded' };
/** Seconds since the epoch of an ISO time. */
const s = (iso: string): number => Date.parse(iso) / 1000;

/**
 * Vendor integrations on PostgreSQL (RPM_STORE=postgres), end to end: a Tenovi webhook and a
 * Withings notification with its OAuth refresh and authenticated pull (against the stand-in
 * speaking Withings' wire format) reach the same ingest path as on SQLite; the vendor source is
 * stored with each reading, credentials are encrypted in the tables, an ambiguous-user measure
 * waits for a nurse; and a second gateway with an empty data directory carries on with the
 * connections, bindings and rotated tokens it finds in PostgreSQL.
 */
describe('vendor integrations on PostgreSQL (RPM_STORE=postgres)', () => {
  let db: TestDatabase;
  let sql: pg.Client;
  let cloud: WithingsCloud;
  let g: VendorGateway;
  let nurse = '';
  const dataDir = tempDir('rpm-pg-vendors-');
  const secretKeys = `k1:${randomBytes(32).toString('base64')}`;
  const env = (): Record<string, string> => ({
    RPM_STORE: 'postgres',
    RPM_DATABASE_URL: db.url,
    RPM_DATABASE_POOL_SIZE: '6',
    RPM_SECRET_KEYS: secretKeys,
    // Vendor fixtures carry the dates of the vendors' documentation.
    RPM_MAX_READING_AGE_DAYS: '3650',
    RPM_VENDOR_PULL_RETRY_BASE_MS: '20',
    RPM_VENDOR_PULL_RETRY_MAX_MS: '50',
    RPM_VENDOR_PULL_MAX_ATTEMPTS: '4',
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = await db.client();
    cloud = new WithingsCloud({ ...WITHINGS_APP, pageSize: 2 });
    await cloud.start();
    g = new VendorGateway(await startTestGateway(env(), { dataDir }));
    await g.t.admin.createOrganization('org-v');
  });
  afterAll(async () => {
    await g?.close();
    await cloud?.stop();
    await sql?.end();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const rows = async <T extends pg.QueryResultRow>(query: string, params: unknown[] = []): Promise<T[]> => (await sql.query<T>(query, params)).rows;

  /** Waits until the gateway's Withings puller has nothing due. */
  const drainPulls = async (timeoutMs = 10_000): Promise<void> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if ((await rows("SELECT id FROM vendor_pulls WHERE status IN ('pending', 'failed')")).length === 0) return;
      if (Date.now() > until) throw new Error('Withings pulls still waiting');
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('connects and binds vendors in PostgreSQL, with every credential encrypted', async () => {
    await g.connect('tenovi', { authHeader: 'X-Tenovi-Key', authKey: TENOVI_KEY });
    await g.connect('withings', { ...WITHINGS_APP, callbackToken: CALLBACK, apiBaseUrl: cloud.baseUrl });
    await g.bind('tenovi', TENOVI_BPM, { id: 'tn-cuff', kind: 'bp-cuff', patientId: 'p-1' });
    const tokens = cloud.addUser('12345', 'Europe/Berlin');
    await g.bind('withings', '12345', { id: 'wi-body', kind: 'multi-parameter', patientId: 'p-1' }, { withings: { refreshToken: tokens.refreshToken } });

    const connections = await rows<{ vendor: string; config: string }>('SELECT vendor, config FROM vendor_connections ORDER BY vendor');
    expect(connections.map((c) => c.vendor)).toEqual(['tenovi', 'withings']);
    const bindings = await rows<{ external_id: string; device_id: string; credentials: string | null }>('SELECT external_id, device_id, credentials FROM vendor_bindings ORDER BY vendor');
    expect(bindings.map((b) => [b.external_id, b.device_id])).toEqual([
      [TENOVI_BPM, 'tn-cuff'],
      ['12345', 'wi-body'],
    ]);
    const stored = JSON.stringify([connections, bindings]);
    for (const plain of [TENOVI_KEY, WITHINGS_APP.clientSecret, CALLBACK, tokens.refreshToken]) expect(stored).not.toContain(plain);
    for (const c of connections) expect(c.config).toMatch(/^enc1\.k1\./);
    expect(bindings[1]?.credentials).toMatch(/^enc1\.k1\./);

    await g.t.admin.createStaff({ email: 'nurse@org-v.test', role: 'nurse', organizationId: 'org-v' });
    nurse = await g.t.admin.login('nurse@org-v.test');
    const plan = await request(`${g.baseUrl}/v1/patients/p-1/care-plan`, { method: 'PUT', token: nurse, json: { programs: ['general', 'hypertension', 'heart-failure'], riskTier: 2 } });
    expect(plan.status).toBe(200);
  });

  it('stores a Tenovi webhook reading with its vendor source in PostgreSQL, and a redelivery once', async () => {
    const body = vendorFixture('tenovi/bpm-post-as-array.json');
    const auth = { 'x-tenovi-key': TENOVI_KEY };
    const res = await g.post(TENOVI_PATH, body, auth);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: 2, duplicate: 0, rejected: 0 });
    const source = { vendor: 'tenovi', payloadSha256: sha256Hex(body), details: { measurementIndex: 3, sensorCode: '10', deviceName: 'Tenovi BPM - L', irregularHeartbeat: true } };
    const stored = await rows<{ kind: string; source: unknown }>("SELECT kind, source FROM readings WHERE device_id = 'tn-cuff' ORDER BY kind");
    expect(stored.map((r) => r.kind)).toEqual(['blood-pressure', 'heart-rate']);
    expect(stored[0]?.source).toEqual(source);
    const api = (await g.readings('p-1')).find((r) => r.kind === 'blood-pressure');
    expect(api.source).toEqual(source);
    expect((await g.post(TENOVI_PATH, body, auth)).body).toMatchObject({ accepted: 0, duplicate: 2 });
    expect(await rows("SELECT id FROM readings WHERE device_id = 'tn-cuff'")).toHaveLength(2);
  });

  it('pulls Withings measures after a notification: the rotated refresh token stored encrypted, the pull done, the readings with their source', async () => {
    cloud.measure('12345', { attrib: 0, date: s('2026-12-01T06:00:00Z'), category: 1, model: 'BPM Core', measures: [{ value: 152, type: 10, unit: 0 }, { value: 96, type: 9, unit: 0 }, { value: 71, type: 11, unit: 0 }] });
    cloud.measure('12345', { attrib: 0, date: s('2026-12-01T06:05:00Z'), category: 1, model: 'Body+', measures: [{ value: 80500, type: 1, unit: -3 }] });
    const res = await g.post(NOTIFY, `userid=12345&appli=4&startdate=${s('2026-12-01T05:00:00Z')}&enddate=${s('2026-12-01T07:00:00Z')}`, form);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ queued: true });
    await drainPulls();
    expect(await rows('SELECT reason, status, attempts, readings FROM vendor_pulls')).toEqual([{ reason: 'notification', status: 'done', attempts: 1, readings: 3 }]);
    const readings = await rows<{ kind: string; value: number; source: { vendor: string; recordId?: string; details?: Record<string, unknown> } }>(
      "SELECT kind, value, source FROM readings WHERE device_id = 'wi-body' ORDER BY measured_at_ms, kind",
    );
    expect(readings.map((r) => [r.kind, r.value])).toEqual([
      ['blood-pressure', 152],
      ['heart-rate', 71],
      ['body-weight', 80.5],
    ]);
    expect(readings[0]?.source).toMatchObject({ vendor: 'withings', recordId: expect.any(String), details: { attrib: 0 } });
    expect(cloud.calls.refresh).toBe(1);
    const [binding] = await rows<{ credentials: string }>("SELECT credentials FROM vendor_bindings WHERE vendor = 'withings'");
    expect(binding?.credentials).toMatch(/^enc1\.k1\./);
    expect(binding?.credentials).not.toContain(cloud.currentRefreshToken('12345'));
  });

  it('holds an ambiguous-user measure from the rules until a nurse confirms it, recorded in PostgreSQL', async () => {
    // 4 kg in twelve hours would alert a heart-failure patient: but who stepped on the scale?
    cloud.measure('12345', { attrib: 1, date: s('2026-12-01T18:00:00Z'), category: 1, measures: [{ value: 84500, type: 1, unit: -3 }] });
    await g.post(NOTIFY, `userid=12345&appli=1&startdate=${s('2026-12-01T17:00:00Z')}&enddate=${s('2026-12-01T19:00:00Z')}`, form);
    await drainPulls();
    await g.t.gw.ctx.alerting!.drain();
    const [held] = await rows<{ id: string; flags: string[]; entry_method: string }>("SELECT id, flags, entry_method FROM readings WHERE device_id = 'wi-body' AND value = 84.5");
    expect(held).toMatchObject({ flags: ['user-unconfirmed'], entry_method: 'ambiguous-user' });
    const openAlerts = async (): Promise<string[]> =>
      (await rows<{ rule_id: string }>("SELECT rule_id FROM alerts WHERE patient_id = 'p-1' AND status <> 'resolved'")).map((r) => r.rule_id);
    expect(await openAlerts()).not.toContain('weight-gain-day');

    const confirmed = await request(`${g.baseUrl}/v1/patients/p-1/readings/${held?.id}/user`, { token: nurse, json: { decision: 'confirmed' } });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body).toMatchObject({ id: held?.id, flags: ['attributed'] });
    expect((await rows<{ flags: string[] }>('SELECT flags FROM readings WHERE id = $1', [held?.id]))[0]?.flags).toEqual(['attributed']);
    expect(await openAlerts()).toContain('weight-gain-day');
    const twice = await request(`${g.baseUrl}/v1/patients/p-1/readings/${held?.id}/user`, { token: nurse, json: { decision: 'rejected' } });
    expect(twice.status).toBe(409);
    expect(twice.body).toMatchObject({ code: 'RPM_ERR_READING_USER_DECIDED' });
  });

  it('carries on in a second gateway with an empty data directory: connections, bindings and rotated tokens are in PostgreSQL', async () => {
    await g.close();
    const otherDir = tempDir('rpm-pg-vendors-2-');
    g = new VendorGateway(await startTestGateway(env(), { dataDir: otherDir }));
    try {
      // The Tenovi key decrypts in the new process: a redelivery is authenticated and a duplicate.
      const again = await g.post(TENOVI_PATH, vendorFixture('tenovi/bpm-post-as-array.json'), { 'x-tenovi-key': TENOVI_KEY });
      expect(again.body).toMatchObject({ accepted: 0, duplicate: 2 });
      // The refresh token the first gateway stored is the current one: the pull needs no operator.
      cloud.expireAccessTokens();
      cloud.measure('12345', { attrib: 0, date: s('2026-12-02T06:00:00Z'), category: 1, measures: [{ value: 80300, type: 1, unit: -3 }] });
      await g.post(NOTIFY, `userid=12345&appli=1&startdate=${s('2026-12-02T05:00:00Z')}&enddate=${s('2026-12-02T07:00:00Z')}`, form);
      await drainPulls();
      expect((await rows<{ status: string }>('SELECT status FROM vendor_pulls ORDER BY id')).map((p) => p.status)).toEqual(['done', 'done', 'done']);
      expect(await rows("SELECT id FROM readings WHERE device_id = 'wi-body' AND value = 80.3")).toHaveLength(1);
    } finally {
      await g.close();
      rmSync(otherDir, { recursive: true, force: true });
    }
  });
});
