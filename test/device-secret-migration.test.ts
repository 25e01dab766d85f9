import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialIdOf } from '../gateway/auth/device-secret.js';
import { hashPassword } from '../gateway/auth/password.js';
import { isoMinutesAgo, request, startTestGateway, tempDir, type TestGateway } from './helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';

/**
 * Devices registered before the keyed format (their credential stored as argon2id) keep
 * connecting over MQTT and HTTP after an upgrade; the first success rewrites the stored hash
 * as `$hmac-sha256$<key id>$…`, which a restarted gateway then checks; a wrong secret is refused
 * and changes nothing. On both stores, checked straight in the database.
 */
interface StoreUnderTest {
  readonly env: Record<string, string>;
  /** The stored hash of a credential, and a way to overwrite it (as an older version left it). */
  hashOf(credentialId: string): Promise<string | undefined>;
  setHash(credentialId: string, hash: string): Promise<void>;
  dispose(): Promise<void>;
}

const sqliteStore = (dataDir: string): StoreUnderTest => {
  const file = path.join(dataDir, 'rpm.sqlite');
  const open = () => new Database(file);
  return {
    env: {},
    async hashOf(id) {
      const db = open();
      try {
        return (db.prepare('SELECT secret_hash FROM device_credentials WHERE id = ?').get(id) as { secret_hash: string } | undefined)?.secret_hash;
      } finally {
        db.close();
      }
    },
    async setHash(id, hash) {
      const db = open();
      try {
        expect(db.prepare('UPDATE device_credentials SET secret_hash = ? WHERE id = ?').run(hash, id).changes).toBe(1);
      } finally {
        db.close();
      }
    },
    async dispose() {},
  };
};

const postgresStore = async (): Promise<StoreUnderTest> => {
  const db: TestDatabase = await createTestDatabase();
  const sql = await db.client();
  return {
    env: { RPM_STORE: 'postgres', RPM_DATABASE_URL: db.url, RPM_DATABASE_POOL_SIZE: '4', RPM_SECRET_KEYS: `k1:${randomBytes(32).toString('base64')}` },
    async hashOf(id) {
      return (await sql.query<{ secret_hash: string }>('SELECT secret_hash FROM device_credentials WHERE id = $1', [id])).rows[0]?.secret_hash;
    },
    async setHash(id, hash) {
      expect((await sql.query('UPDATE device_credentials SET secret_hash = $1 WHERE id = $2', [hash, id])).rowCount).toBe(1);
    },
    async dispose() {
      await sql.end();
      await db.drop();
    },
  };
};

const KEYED = /^\$hmac-sha256\$k1\$[A-Za-z0-9+/]{43}$/;
const reading = (id: string, minutesAgo: number) => ({ id, kind: 'blood-pressure', systolic: 121, diastolic: 79, unit: 'mmHg', measuredAt: isoMinutesAgo(minutesAgo) });
const otherSecretOf = (secret: string): string => `rpmd_${credentialIdOf(secret)}_${randomBytes(32).toString('base64url')}`;

async function mqttConnect(port: number, deviceId: string, secret: string): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { username: deviceId, password: secret, clientId: `${deviceId}-${randomBytes(3).toString('hex')}`, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10_000 });
}

async function mqttRefusal(port: number, deviceId: string, secret: string): Promise<number | undefined> {
  try {
    const c = await mqttConnect(port, deviceId, secret);
    await c.endAsync();
    return 0;
  } catch (err) {
    return (err as { code?: number }).code;
  }
}

describe.each([
  ['SQLite', (dataDir: string) => Promise.resolve(sqliteStore(dataDir))],
  ['PostgreSQL', () => postgresStore()],
] as const)('device credentials from before the keyed format, on %s', (_name, makeStore) => {
  const dataDir = tempDir('rpm-secret-migration-');
  let store: StoreUnderTest;
  let t: TestGateway;
  let mqttSecret = '';
  let httpSecret = '';

  beforeAll(async () => {
    store = await makeStore(dataDir);
    t = await startTestGateway(store.env, { dataDir });
    await t.admin.createPatient('p-migrate');
    mqttSecret = await t.admin.createDevice({ id: 'cuff-mqtt', kind: 'bp-cuff', patientId: 'p-migrate' });
    httpSecret = await t.admin.createDevice({ id: 'cuff-http', kind: 'bp-cuff', patientId: 'p-migrate' });
    // What an older version stored: argon2id (m=19 MiB, t=2) of the secret.
    for (const secret of [mqttSecret, httpSecret]) {
      const id = credentialIdOf(secret) as string;
      expect(await store.hashOf(id)).toMatch(KEYED);
      await store.setHash(id, await hashPassword(secret));
    }
  });
  afterAll(async () => {
    await t?.close();
    await store?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('MQTT: a wrong secret is refused (CONNACK 4) and changes nothing; the right one connects, publishes, and its hash is migrated', async () => {
    const id = credentialIdOf(mqttSecret) as string;
    const legacy = await store.hashOf(id);
    expect(legacy).toMatch(/^\$argon2id\$/);
    expect(await mqttRefusal(t.mqttPort, 'cuff-mqtt', otherSecretOf(mqttSecret))).toBe(4);
    expect(await store.hashOf(id)).toBe(legacy);

    const client = await mqttConnect(t.mqttPort, 'cuff-mqtt', mqttSecret);
    try {
      await client.publishAsync('devices/cuff-mqtt/readings', JSON.stringify({ readings: [reading('mig-mqtt-1', 10)] }), { qos: 1 });
    } finally {
      await client.endAsync();
    }
    expect(await store.hashOf(id)).toMatch(KEYED);
  });

  it('HTTP: a wrong secret is refused (401) and changes nothing; the right one is accepted and its hash is migrated', async () => {
    const id = credentialIdOf(httpSecret) as string;
    const legacy = await store.hashOf(id);
    expect(legacy).toMatch(/^\$argon2id\$/);
    const wrong = await request(`${t.baseUrl}/v1/readings`, { token: otherSecretOf(httpSecret), json: { readings: [reading('mig-http-x', 9)] } });
    expect(wrong.status).toBe(401);
    expect(await store.hashOf(id)).toBe(legacy);

    const res = await request<{ accepted: number }>(`${t.baseUrl}/v1/readings`, { token: httpSecret, json: { readings: [reading('mig-http-1', 9)] } });
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(1);
    expect(await store.hashOf(id)).toMatch(KEYED);
  });

  it('after a restart (nothing cached) both devices connect on their migrated hashes; wrong secrets still fail', async () => {
    await t.close();
    t = await startTestGateway(store.env, { dataDir });
    const client = await mqttConnect(t.mqttPort, 'cuff-mqtt', mqttSecret);
    try {
      await client.publishAsync('devices/cuff-mqtt/readings', JSON.stringify({ readings: [reading('mig-mqtt-2', 8)] }), { qos: 1 });
    } finally {
      await client.endAsync();
    }
    const res = await request<{ accepted: number }>(`${t.baseUrl}/v1/readings`, { token: httpSecret, json: { readings: [reading('mig-http-2', 7)] } });
    expect(res.status).toBe(202);
    expect(await mqttRefusal(t.mqttPort, 'cuff-mqtt', otherSecretOf(mqttSecret))).toBe(4);
    expect((await request(`${t.baseUrl}/v1/readings`, { token: otherSecretOf(httpSecret), json: { readings: [reading('mig-http-y', 6)] } })).status).toBe(401);
    const stored = (await t.admin.readings('p-migrate')).map((r: { clientId: string; deviceId: string }) => `${r.deviceId}:${r.clientId}`).sort();
    expect(stored).toEqual(['cuff-http:mig-http-1', 'cuff-http:mig-http-2', 'cuff-mqtt:mig-mqtt-1', 'cuff-mqtt:mig-mqtt-2']);
  });
});
