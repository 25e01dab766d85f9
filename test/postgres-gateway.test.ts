import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FhirTestServer } from './fhir-server/fhir-test-server.js';
import { eventually, FAST_FORWARDING_ENV, READING_SYSTEM } from './fhir/gateway-env.js';
import { isoMinutesAgo, request, startTestGateway, tempDir, type TestGateway } from './helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

/**
 * The whole single process on PostgreSQL (RPM_STORE=postgres): registration, HTTP and MQTT
 * ingest, a rules alert on a nurse's worklist, her actions, the audit trail and the FHIR outbox,
 * checked through the public API and straight in the database; then a second gateway with an
 * empty data directory carries on where the first stopped, because nothing lives outside
 * PostgreSQL.
 */
describe('the gateway on PostgreSQL (RPM_STORE=postgres)', () => {
  let db: TestDatabase;
  let sql: pg.Client;
  let ehr: FhirTestServer;
  let t: TestGateway;
  const dataDir = tempDir('rpm-pg-gateway-');
  // The key that encrypts stored secrets comes from the environment, as every process sharing
  // the database must have it (a key generated into one data directory is that directory's alone).
  const secretKeys = `k1:${randomBytes(32).toString('base64')}`;
  const env = (): Record<string, string> => ({
    ...FAST_FORWARDING_ENV,
    RPM_STORE: 'postgres',
    RPM_DATABASE_URL: db.url,
    RPM_DATABASE_POOL_SIZE: '6',
    RPM_SECRET_KEYS: secretKeys,
  });
  let cuff = '';
  let oximeter = '';
  let nurse = '';
  let otherNurse = '';
  let severe: Record<string, unknown> = {};

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = await db.client();
    ehr = await FhirTestServer.start();
    t = await startTestGateway(env(), { dataDir });
  });
  afterAll(async () => {
    await t?.close();
    await sql?.end();
    await ehr?.close();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const count = async (query: string, params: unknown[] = []): Promise<number> => Number((await sql.query<{ n: string }>(query, params)).rows[0]?.n ?? 0);

  it('registers organizations, staff, patients and devices in PostgreSQL, and keeps no SQLite file', async () => {
    await t.admin.createOrganization('clinic-a');
    await t.admin.createOrganization('clinic-b');
    await t.admin.createStaff({ email: 'ann@a.example', role: 'nurse', organizationId: 'clinic-a' });
    await t.admin.createStaff({ email: 'bob@b.example', role: 'nurse', organizationId: 'clinic-b' });
    await t.admin.createPatient('p-1', { organizationId: 'clinic-a' });
    cuff = await t.admin.createDevice({ id: 'cuff-1', kind: 'bp-cuff', patientId: 'p-1' });
    oximeter = await t.admin.createDevice({ id: 'ox-1', kind: 'pulse-oximeter', patientId: 'p-1' });
    const destination = await t.admin.post('/v1/admin/fhir/destinations', { id: 'ehr-a', organizationId: 'clinic-a', baseUrl: ehr.baseUrl, auth: { type: 'none' } });
    expect(destination.status).toBe(201);
    nurse = await t.admin.login('ann@a.example');
    otherNurse = await t.admin.login('bob@b.example');

    expect((await sql.query('SELECT id FROM devices ORDER BY id')).rows).toEqual([{ id: 'cuff-1' }, { id: 'ox-1' }]);
    expect(await count("SELECT count(*) AS n FROM device_assignments WHERE patient_id = 'p-1' AND to_ms IS NULL")).toBe(2);
    expect(await count('SELECT count(*) AS n FROM staff_sessions')).toBe(2);
    expect(await count("SELECT count(*) AS n FROM fhir_destinations WHERE organization_id = 'clinic-a'")).toBe(1);
    // The data directory holds only the generated-or-given admin material, never a database.
    expect(existsSync(path.join(dataDir, 'rpm.sqlite'))).toBe(false);
    expect(readdirSync(dataDir).filter((f) => f.endsWith('.sqlite'))).toEqual([]);
  });

  it('answers HTTP 202 only for readings committed in PostgreSQL, with their FHIR outbox rows, and delivers them', async () => {
    const bp = { id: 'bp-1', kind: 'blood-pressure', systolic: 128, diastolic: 82, unit: 'mmHg', measuredAt: isoMinutesAgo(40) };
    const res = await request(`${t.baseUrl}/v1/readings`, { token: cuff, json: { readings: [bp] } });
    expect(res.status).toBe(202);
    expect(res.body.outcomes.map((o: { status: string }) => o.status)).toEqual(['accepted']);
    const rows = (await sql.query("SELECT r.client_id, o.destination_id FROM readings r JOIN fhir_outbox o ON o.reading_seq = r.seq WHERE r.device_id = 'cuff-1'")).rows;
    expect(rows).toEqual([{ client_id: 'bp-1', destination_id: 'ehr-a' }]);
    // A resend is a duplicate, not a second row or a second delivery.
    const again = await request(`${t.baseUrl}/v1/readings`, { token: cuff, json: { readings: [bp] } });
    expect(again.body.outcomes.map((o: { status: string }) => o.status)).toEqual(['duplicate']);
    // An invalid reading is refused and its rejection recorded, never stored as a reading.
    const bad = await request(`${t.baseUrl}/v1/readings`, { token: cuff, json: { readings: [{ id: 'bp-x', kind: 'blood-pressure', systolic: 900, diastolic: 82, unit: 'mmHg', measuredAt: isoMinutesAgo(39) }] } });
    expect(bad.body.outcomes?.[0]?.status ?? bad.body.code).toMatch(/rejected|RPM_ERR_READING_IMPLAUSIBLE/);
    expect(await count("SELECT count(*) AS n FROM readings WHERE device_id = 'cuff-1'")).toBe(1);
    expect(await count("SELECT count(*) AS n FROM rejections WHERE device_id = 'cuff-1'")).toBe(1);
    // The EHR answers before the gateway records the attempt: wait for the record, then count at the EHR.
    await eventually('the delivery recorded', async () => ((await count("SELECT count(*) AS n FROM fhir_outbox WHERE status = 'delivered'")) === 1 ? true : undefined));
    expect([...(await ehr.countByIdentifier('Observation', READING_SYSTEM)).values()]).toEqual([1]);
  });

  it('sends the MQTT PUBACK only after the reading is committed in PostgreSQL', async () => {
    const client = await new Promise<MqttClient>((resolve, reject) => {
      const c = mqtt.connect(`mqtt://127.0.0.1:${t.mqttPort}`, { clientId: 'ox-1', username: 'ox-1', password: oximeter, protocolVersion: 4, reconnectPeriod: 0 });
      c.once('connect', () => resolve(c));
      c.once('error', reject);
    });
    try {
      for (let i = 0; i < 5; i++) {
        const clientId = `spo2-${i}`;
        await new Promise<void>((resolve, reject) => {
          const payload = JSON.stringify({ readings: [{ id: clientId, kind: 'spo2', value: 97, unit: '%', measuredAt: isoMinutesAgo(30 - i) }] });
          client.publish('devices/ox-1/readings', payload, { qos: 1 }, (err) => (err ? reject(err) : resolve()));
        });
        // At the PUBACK, another connection already sees the committed row.
        expect(await count('SELECT count(*) AS n FROM readings WHERE device_id = $1 AND client_id = $2', ['ox-1', clientId]), clientId).toBe(1);
      }
    } finally {
      client.end(true);
    }
  });

  it('raises a rules alert onto the nurse worklist, lets her act on it, and audits every read and action', async () => {
    const plan = await request(`${t.baseUrl}/v1/patients/p-1/care-plan`, { token: nurse, method: 'PUT', json: { programs: ['general', 'hypertension'], riskTier: 2 } });
    expect(plan.status).toBe(200);
    severe = { id: 'bp-severe', kind: 'blood-pressure', systolic: 186, diastolic: 100, unit: 'mmHg', measuredAt: isoMinutesAgo(10) };
    const res = await request(`${t.baseUrl}/v1/readings`, { token: cuff, json: { readings: [severe] } });
    expect(res.status).toBe(202);
    await t.gw.ctx.alerting!.drain();
    const list = (await request(`${t.baseUrl}/v1/worklist`, { token: nurse })).body;
    expect(list.patients).toHaveLength(1);
    const alert = list.patients[0].alerts[0];
    expect(alert).toMatchObject({ rule: 'bp-severe', severity: 'high', status: 'open', confirmation: 'pending' });
    // Tenancy: another organization's nurse sees neither the row nor the alert.
    expect((await request(`${t.baseUrl}/v1/worklist`, { token: otherNurse })).body.patients).toEqual([]);
    expect((await request(`${t.baseUrl}/v1/alerts/${alert.id}`, { token: otherNurse })).status).toBe(404);

    const claim = await request(`${t.baseUrl}/v1/alerts/${alert.id}/claim`, { token: nurse, method: 'POST', json: { version: alert.version } });
    expect(claim.body).toMatchObject({ status: 'claimed' });
    const stale = await request(`${t.baseUrl}/v1/alerts/${alert.id}/acknowledge`, { token: nurse, method: 'POST', json: { version: alert.version } });
    expect(stale.status).toBe(409);
    const ack = await request(`${t.baseUrl}/v1/alerts/${alert.id}/acknowledge`, { token: nurse, method: 'POST', json: {} });
    expect(ack.body).toMatchObject({ status: 'acknowledged' });

    expect((await sql.query('SELECT status, claimed_by IS NOT NULL AS claimed FROM alerts WHERE id = $1', [alert.id])).rows).toEqual([{ status: 'acknowledged', claimed: true }]);
    expect((await sql.query('SELECT action FROM alert_events WHERE alert_id = $1 ORDER BY version', [alert.id])).rows.map((r) => r.action)).toEqual(['raised', 'claim', 'acknowledge']);
    expect(await count('SELECT seq AS n FROM rule_cursor')).toBeGreaterThan(0);
    const readings = await request(`${t.baseUrl}/v1/patients/p-1/readings`, { token: nurse });
    expect(readings.status).toBe(200);
    const audited = (await sql.query<{ action: string; subject: string }>('SELECT action, subject FROM audit_log ORDER BY seq')).rows;
    expect(audited).toEqual(expect.arrayContaining([{ action: 'alert.claim', subject: `alert:${alert.id}` }, { action: 'readings.read', subject: 'patient:p-1' }]));
  });

  it('carries on in a second gateway with an empty data directory: everything it needs is in PostgreSQL', async () => {
    const alertsBefore = await count('SELECT count(*) AS n FROM alerts');
    await t.close();
    const otherDir = tempDir('rpm-pg-gateway-2-');
    t = await startTestGateway(env(), { dataDir: otherDir });
    try {
      // The session survives: staff sessions are rows, not process memory.
      const list = await request(`${t.baseUrl}/v1/worklist`, { token: nurse });
      expect(list.status).toBe(200);
      expect(list.body.patients[0].alerts[0]).toMatchObject({ rule: 'bp-severe', status: 'acknowledged' });
      const resend = await request(`${t.baseUrl}/v1/readings`, { token: cuff, json: { readings: [severe] } });
      expect(resend.body.outcomes.map((o: { status: string }) => o.status)).toEqual(['duplicate']);
      await t.gw.ctx.alerting!.drain();
      // The engine resumed at its cursor: nothing was evaluated, or raised, twice.
      expect(await count('SELECT count(*) AS n FROM alerts')).toBe(alertsBefore);
      const readings = await t.admin.readings('p-1');
      expect(readings.map((r: { clientId: string }) => r.clientId).sort()).toEqual(['bp-1', 'bp-severe', 'spo2-0', 'spo2-1', 'spo2-2', 'spo2-3', 'spo2-4']);
    } finally {
      await t.close();
      rmSync(otherDir, { recursive: true, force: true });
    }
  });
});
