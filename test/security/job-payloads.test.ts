import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config/load-config.js';
import { createLogger } from '../../core/logging.js';
import { type RunningGateway, startGateway } from '../../gateway/start.js';
import { AdminClient, ADMIN_TOKEN, isoMinutesAgo, request, tempDir } from '../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { dropRedisPrefix, REDIS_TEST_URL, requireRedis } from '../helpers/redis.js';

/*
 * Issue 19: no PHI in the distributed mode's job payloads (core/ports/work-bus.ts). A gateway of
 * the distributed mode (role `gateway`: PostgreSQL + Redis, no workers running, so every job it
 * posts stays in its BullMQ queue) takes readings over HTTP and MQTT, administration and logins;
 * then every job in Redis and every cluster event it published is read back and checked: flat
 * records of ids, positions and flags, nothing a reading or a person said.
 */

/** What a job or event value may be: a number (a log position, a version), a flag, or an id-shaped string. */
const ID_SHAPED = /^[A-Za-z0-9._:|@-]{1,128}$/;
/** Values the readings carried: none may appear in a job. */
const READING_VALUES = [187, 113, 131, 39.4];

describe('work-bus jobs and cluster events carry ids only', () => {
  let db: TestDatabase;
  let gw: RunningGateway;
  let dataDir: string;
  const prefix = `rpmjobs-${randomBytes(4).toString('hex')}`;
  const events: { channel: string; message: string }[] = [];
  let sub: Redis;

  beforeAll(async () => {
    await requireRedis();
    db = await createTestDatabase();
    dataDir = tempDir('rpm-jobs-');
    sub = new Redis(REDIS_TEST_URL);
    sub.on('pmessage', (_pattern: string, channel: string, message: string) => events.push({ channel, message }));
    await sub.psubscribe(`${prefix}:*`);
    const config = loadConfig({
      RPM_DATA_DIR: dataDir,
      RPM_HTTP_HOST: '127.0.0.1',
      RPM_HTTP_PORT: '0',
      RPM_MQTT_HOST: '127.0.0.1',
      RPM_MQTT_PORT: '0',
      RPM_ADMIN_TOKEN: ADMIN_TOKEN,
      RPM_LOG_LEVEL: 'silent',
      RPM_STORE: 'postgres',
      RPM_DATABASE_URL: db.url,
      RPM_DATABASE_POOL_SIZE: '4',
      RPM_REDIS_URL: REDIS_TEST_URL,
      RPM_REDIS_PREFIX: prefix,
      RPM_NODE_NAME: 'gw-jobs',
      RPM_SECRET_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    });
    gw = await startGateway(config, { log: createLogger('silent'), role: 'gateway' });
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
    await sub?.punsubscribe().catch(() => undefined);
    sub?.disconnect();
    await dropRedisPrefix(prefix);
    await db?.drop();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  it('posts jobs and events for readings, administration and sessions whose data is ids, positions and flags only', async () => {
    const base = `http://127.0.0.1:${gw.httpPort}`;
    const admin = new AdminClient(base);
    await admin.createOrganization('org-a');
    await admin.createPatient('p-1', { organizationId: 'org-a' });
    const cuff = await admin.createDevice({ id: 'cuff-1', kind: 'bp-cuff', patientId: 'p-1' });
    const thermo = await admin.createDevice({ id: 'thermo-1', kind: 'thermometer', patientId: 'p-1' });
    const dest = await admin.post('/v1/admin/fhir/destinations', { id: 'ehr-1', organizationId: 'org-a', baseUrl: 'http://127.0.0.1:9/fhir', auth: { type: 'bearer', token: 'a-secret-bearer-token-0123' } });
    expect(dest.status).toBe(201);
    const staffId = (await admin.createStaff({ email: 'ann@a.example', role: 'nurse', organizationId: 'org-a', phone: '+15557654321' })).id;
    const ann = await admin.login('ann@a.example');

    const posted = await request(`${base}/v1/readings`, {
      token: cuff,
      json: { readings: [{ kind: 'blood-pressure', systolic: 187, diastolic: 113, pulse: 131, unit: 'mmHg', measuredAt: isoMinutesAgo(3) }] },
    });
    expect(posted.status).toBe(202);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${gw.mqttPort}`, { protocolVersion: 4, reconnectPeriod: 0, username: 'thermo-1', password: thermo });
    await client.publishAsync('devices/thermo-1/readings', JSON.stringify({ readings: [{ kind: 'body-temperature', value: 39.4, unit: 'Cel', measuredAt: isoMinutesAgo(2) }] }), { qos: 1 });
    await client.endAsync();
    expect((await admin.post('/v1/admin/devices/cuff-1/rotate-secret', {})).status).toBe(200);

    // Scheduling: a booked visit's reminders are nudged as BullMQ delayed jobs naming the durable job.
    await admin.createCareTeam('team-a', 'org-a');
    await admin.addTeamMember('team-a', staffId);
    await admin.addTeamPatient('team-a', 'p-1');
    const identity = { givenName: 'Maria', familyName: 'Gonzalez', birthDate: '1950-03-14', mrn: 'MRN-77', phone: '+15551230077', preferredLanguage: 'en', timeZone: 'UTC' };
    expect((await request(`${base}/v1/patients/p-1/identity`, { token: ADMIN_TOKEN, method: 'PUT', json: identity })).status).toBe(200);
    const booker = ann;
    const weekly = [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: '00:00', end: '23:59' }));
    const hours = await request(`${base}/v1/staff/${staffId}/availability`, { method: 'PUT', token: booker, json: { timeZone: 'UTC', weekly } });
    expect(hours.status, JSON.stringify(hours.body)).toBe(200);
    const start = new Date(Math.ceil((Date.now() + 26 * 3_600_000) / 3_600_000) * 3_600_000).toISOString();
    const booked = await request(`${base}/v1/appointments`, { token: booker, json: { patientId: 'p-1', typeId: 'monthly-check-in', start } });
    expect(booked.status, JSON.stringify(booked.body)).toBe(201);
    // Video signaling across gateways: with no patient here, the nurse's offer goes out to the others.
    expect((await request(`${base}/v1/patients/p-1/consents/telehealth`, { token: ADMIN_TOKEN, json: { granted: true, method: 'verbal' } })).status).toBe(201);
    const visit = await request(`${base}/v1/visits`, { token: booker, json: { patientId: 'p-1', sendSms: false } });
    expect(visit.status, JSON.stringify(visit.body)).toBe(201);
    const ws = new WebSocket(`ws://127.0.0.1:${gw.httpPort}/v1/visits/signal`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const welcome = new Promise((resolve) => ws.once('message', resolve));
    ws.send(JSON.stringify({ type: 'hello', visitId: visit.body.visit.id, role: 'staff', token: booker }));
    await welcome;
    ws.send(JSON.stringify({ type: 'signal', data: { description: { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 10.1.2.3\r\n' } } }));
    await expect.poll(() => events.some((e) => e.channel.endsWith(':visit-signaling') && e.message.includes('"signal"')), { timeout: 5000 }).toBe(true);
    ws.close();
    expect((await request(`${base}/v1/auth/logout`, { token: ann, method: 'POST' })).status).toBe(204);

    // Every job the gateway left in Redis (no worker consumed them).
    const redis = new Redis(REDIS_TEST_URL);
    const jobs: { key: string; name: string; data: unknown }[] = [];
    try {
      await expect
        .poll(
          async () => {
            jobs.length = 0;
            let cursor = '0';
            do {
              const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:unit.*`, 'COUNT', 1000);
              cursor = next;
              for (const key of keys) {
                if ((await redis.type(key)) !== 'hash') continue;
                const [name, data] = (await redis.hmget(key, 'name', 'data')) as [string | null, string | null];
                if (name !== null && data !== null) jobs.push({ key, name, data: JSON.parse(data) as unknown });
              }
            } while (cursor !== '0');
            return jobs.length;
          },
          { timeout: 10_000 },
        )
        .toBeGreaterThanOrEqual(2);
    } finally {
      redis.disconnect();
    }
    expect(jobs.some((j) => j.key.includes('unit.rules'))).toBe(true);
    // The booking's reminders (24 h and 15 min before): nudges on the reminders unit, due with them.
    expect(jobs.filter((j) => j.key.includes('unit.reminders') && j.name === 'due').map((j) => j.data)).toEqual(
      expect.arrayContaining([{ jobId: `reminder:${booked.body.id}:v1:24h` }, { jobId: `reminder:${booked.body.id}:v1:15m` }]),
    );

    const problems: string[] = [];
    const check = (where: string, data: unknown): void => {
      if (typeof data !== 'object' || data === null || Array.isArray(data)) {
        problems.push(`${where}: not a flat record`);
        return;
      }
      for (const [k, v] of Object.entries(data)) {
        if (!ID_SHAPED.test(k)) problems.push(`${where}: key ${k}`);
        if (v === null || typeof v === 'boolean') continue;
        if (typeof v === 'number') {
          if (READING_VALUES.includes(v)) problems.push(`${where}.${k}: a reading's value (${v})`);
          continue;
        }
        if (typeof v !== 'string' || !ID_SHAPED.test(v)) problems.push(`${where}.${k}: ${JSON.stringify(v)} is not id-shaped`);
        else if (/@|\+1555|bearer|mmHg|Cel/i.test(v)) problems.push(`${where}.${k}: ${v}`);
      }
    };
    for (const j of jobs) check(`job ${j.key} (${j.name})`, j.data);
    await expect.poll(() => events.length, { timeout: 5000 }).toBeGreaterThan(0);
    for (const e of events) {
      const message = JSON.parse(e.message) as Record<string, unknown>;
      // The one exception: a call's SDP or ICE candidate for the other side's socket (not PHI;
      // never logged), checked to carry nothing of the patient.
      if (e.channel.endsWith(':visit-signaling') && message.kind === 'signal') {
        const { data, ...rest } = message;
        check(`event ${e.channel}`, rest);
        if (typeof data !== 'string' || /Maria|Gonzalez|MRN|\+1555|p-1/.test(data)) problems.push(`event ${e.channel}: signal data ${String(data)}`);
      } else check(`event ${e.channel}`, message);
    }
    expect(problems).toEqual([]);
    // What was looked at: the readings' rule-partition nudges at least, and the session and device events.
    expect(new Set(jobs.map((j) => j.name)).size).toBeGreaterThanOrEqual(1);
    expect(events.length).toBeGreaterThanOrEqual(2);
  });
});
