import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import mqtt from 'mqtt';
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
    await admin.createStaff({ email: 'ann@a.example', role: 'nurse', organizationId: 'org-a', phone: '+15557654321' });
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
    for (const e of events) check(`event ${e.channel}`, JSON.parse(e.message));
    expect(problems).toEqual([]);
    // What was looked at: the readings' rule-partition nudges at least, and the session and device events.
    expect(new Set(jobs.map((j) => j.name)).size).toBeGreaterThanOrEqual(1);
    expect(events.length).toBeGreaterThanOrEqual(2);
  });
});
