import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isoMinutesAgo, startTestGateway, tempDir, type TestGateway } from '../../test/helpers/gateway.js';
import { ManualClock } from '../../test/helpers/clock.js';

/*
 * End-to-end tests of the embedded aedes broker: a real MQTT.js client (MQTT 3.1.1) against a
 * real gateway (real SQLite file, real TCP / WebSocket / TLS listeners on free ports).
 */

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

// The topic contract, spelled out here rather than imported, so the tests check it independently.
const readingsTopic = (deviceId: string): string => `devices/${deviceId}/readings`;
const commandsTopic = (deviceId: string): string => `devices/${deviceId}/commands`;
const errorsTopic = (deviceId: string): string => `devices/${deviceId}/errors`;
const statusTopic = (deviceId: string): string => `devices/${deviceId}/status`;

// CONNACK return codes, MQTT 3.1.1 §3.2.2.3.
const CONNACK_ACCEPTED = 0;
const CONNACK_SERVER_UNAVAILABLE = 3;
const CONNACK_BAD_CREDENTIALS = 4;
const CONNACK_NOT_AUTHORIZED = 5;
const SUBACK_FAILURE = 128;

interface TestDevice {
  readonly id: string;
  readonly secret: string;
  readonly patientId: string;
}

let seq = 0;
const uid = (prefix: string): string => `${prefix}-${++seq}`;

/** Rejects with a clear message if `promise` does not settle within `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls a condition on gateway state that no event announces (e.g. after a client ends). */
async function waitFor(condition: () => boolean | Promise<boolean>, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sha256 = (payload: string): string => createHash('sha256').update(payload).digest('hex');
const envelope = (readings: unknown[]): string => JSON.stringify({ readings });
const heartRate = (value: number, minutesAgo: number, id?: string): Record<string, unknown> => ({
  ...(id === undefined ? {} : { id }),
  kind: 'heart-rate',
  value,
  unit: '/min',
  measuredAt: isoMinutesAgo(minutesAgo),
});

/** Every client a test opens; all are force-closed after each test. */
const openClients = new Set<MqttClient>();

const baseOptions: IClientOptions = {
  protocolVersion: 4, // MQTT 3.1.1; aedes 1.x does not speak MQTT 5
  reconnectPeriod: 0, // a refused or closed client must not retry
  connectTimeout: 5000,
  clean: true,
};

/** Connects (rejecting on a refused CONNACK or a closed socket, never retrying). */
async function connect(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, { ...baseOptions, ...options }, false);
  openClients.add(client);
  // After connectAsync returns, an 'error' event without a listener would throw.
  client.on('error', () => undefined);
  return client;
}

/** The CONNACK return code a connection attempt gets (0 when accepted). */
async function connackCode(url: string, options: IClientOptions = {}): Promise<number> {
  try {
    await connect(url, options);
    return CONNACK_ACCEPTED;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'number') throw err;
    return code;
  }
}

async function shut(client: MqttClient): Promise<void> {
  openClients.delete(client);
  if (client.stream === undefined || client.stream.destroyed) {
    client.end(true);
    return;
  }
  await withTimeout(client.endAsync(true), 2000, 'client end').catch(() => undefined);
}

/** Resolves when the connection closes; call before the action that should close it. */
function closeOf(client: MqttClient, ms = 2000): Promise<void> {
  return withTimeout(new Promise<void>((resolve) => client.once('close', () => resolve())), ms, 'the connection to close');
}

/** The next message on `topic`, parsed as JSON; call before the action that causes it. */
function nextMessage(client: MqttClient, topic: string, ms = 2000): Promise<any> {
  return withTimeout(
    new Promise((resolve) => {
      const onMessage = (t: string, payload: Buffer): void => {
        if (t !== topic) return;
        client.off('message', onMessage);
        resolve(JSON.parse(payload.toString('utf8')));
      };
      client.on('message', onMessage);
    }),
    ms,
    `a message on ${topic}`,
  );
}

/** The SUBACK return code for one subscription (MQTT.js rejects when it is 0x80). */
async function subackCode(client: MqttClient, topic: string, qos: 0 | 1 = 1): Promise<number> {
  try {
    const granted = await client.subscribeAsync(topic, { qos });
    expect(granted).toHaveLength(1);
    return granted[0]!.qos;
  } catch (err) {
    const granted = (err as { packet?: { granted?: unknown[] } }).packet?.granted;
    if (granted === undefined) throw err;
    expect(granted).toHaveLength(1);
    return granted[0] as number;
  }
}

/** Publishes and resolves with the sent packet on its PUBACK (PUBCOMP for QoS 2), failing fast if none comes. */
function acked(client: MqttClient, topic: string, payload: string, options: IClientPublishOptions = { qos: 1 }): ReturnType<MqttClient['publishAsync']> {
  return withTimeout(client.publishAsync(topic, payload, options), 5000, `the acknowledgement of a publish to ${topic}`);
}

/** Publishes without awaiting; records whether a PUBACK ever came. */
function publishTracked(client: MqttClient, topic: string, payload: string, options: IClientPublishOptions = { qos: 1 }): { acked: () => boolean } {
  let gotAck = false;
  client.publish(topic, payload, options, (err) => {
    if (err === undefined || err === null) gotAck = true;
  });
  return { acked: () => gotAck };
}

async function newDevice(t: TestGateway, kind = 'multi-parameter'): Promise<TestDevice> {
  const patientId = uid('p');
  const id = uid(kind);
  await t.admin.createPatient(patientId);
  const secret = await t.admin.createDevice({ id, kind, patientId });
  return { id, secret, patientId };
}

const credentials = (d: TestDevice): IClientOptions => ({ username: d.id, password: d.secret });

afterEach(async () => {
  await Promise.all([...openClients].map(shut));
});

// ---------------------------------------------------------------------------------------------
// Plain TCP listener
// ---------------------------------------------------------------------------------------------

describe('MQTT broker over TCP', () => {
  let t: TestGateway;
  let url: string;
  const connectAs = (d: TestDevice, options: IClientOptions = {}): Promise<MqttClient> => connect(url, { ...credentials(d), ...options });

  beforeAll(async () => {
    // A 50 ms linger holds every commit back a little: if a PUBACK ever went out before its
    // commit, a read started as soon as the PUBACK arrives would not find the reading.
    t = await startTestGateway({ RPM_COMMIT_LINGER_MS: '50' });
    url = `mqtt://127.0.0.1:${t.mqttPort}`;
  });
  afterAll(async () => t.close());

  it('acknowledges a QoS 1 publish only once the reading is committed and readable with its LOINC code and UCUM units', async () => {
    const d = await newDevice(t, 'bp-cuff');
    const client = await connectAs(d);
    const measuredAt = isoMinutesAgo(30);
    await acked(client, readingsTopic(d.id), envelope([{ id: 'bp-1', kind: 'blood-pressure', systolic: 142, diastolic: 91, pulse: 72, unit: 'mmHg', measuredAt }]));
    // No waiting: the PUBACK itself promises the commit.
    const readings = await t.admin.readings(d.patientId);
    expect(readings).toHaveLength(1);
    expect(readings[0]).toMatchObject({
      clientId: 'bp-1',
      kind: 'blood-pressure',
      code: { system: 'http://loinc.org', code: '85354-9' },
      measuredAt,
      deviceId: d.id,
      patientId: d.patientId,
      reported: { unit: 'mmHg', values: { systolic: 142, diastolic: 91, pulse: 72 } },
    });
    expect(readings[0].components).toEqual([
      { name: 'systolic', code: { system: 'http://loinc.org', code: '8480-6', display: 'Systolic blood pressure' }, value: 142, unit: 'mm[Hg]' },
      { name: 'diastolic', code: { system: 'http://loinc.org', code: '8462-4', display: 'Diastolic blood pressure' }, value: 91, unit: 'mm[Hg]' },
      { name: 'pulse', code: { system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }, value: 72, unit: '/min' },
    ]);
    // Units are normalized with UCUM, as over HTTP.
    await acked(client, readingsTopic(d.id), envelope([{ id: 'w-1', kind: 'body-weight', value: 180, unit: 'lb', measuredAt: isoMinutesAgo(20) }]));
    const [weight] = await t.admin.readings(d.patientId, '?kind=body-weight');
    expect(weight).toMatchObject({ clientId: 'w-1', value: 81.6466, unit: 'kg', code: { code: '29463-7' }, reported: { unit: 'lb', values: { value: 180 } } });
  });

  it('commits a QoS 2 publish before completing the handshake', async () => {
    const d = await newDevice(t, 'pulse-oximeter');
    const client = await connectAs(d);
    await acked(client, readingsTopic(d.id), envelope([{ id: 'ox-q2', kind: 'spo2', value: 96, unit: '%', measuredAt: isoMinutesAgo(12) }]), { qos: 2 });
    const readings = await t.admin.readings(d.patientId);
    expect(readings).toHaveLength(1);
    expect(readings[0]).toMatchObject({ clientId: 'ox-q2', kind: 'spo2', value: 96, unit: '%', code: { code: '59408-5' } });
  });

  it('stores republished readings once, by client id or else by kind and measuredAt', async () => {
    const d = await newDevice(t, 'heart-rate-monitor');
    const client = await connectAs(d);
    const payload = envelope([heartRate(66, 15, 'hr-dup'), heartRate(67, 14)]);
    await acked(client, readingsTopic(d.id), payload);
    // The same payload again, as a new publish and as a redelivery (DUP), and on a new connection.
    await acked(client, readingsTopic(d.id), payload);
    await acked(client, readingsTopic(d.id), payload, { qos: 1, dup: true });
    await shut(client);
    const again = await connectAs(d);
    await acked(again, readingsTopic(d.id), payload);

    const readings = await t.admin.readings(d.patientId);
    expect(readings).toHaveLength(2);
    expect(readings.filter((r) => r.clientId === 'hr-dup')).toHaveLength(1);
    expect(readings.filter((r) => r.clientId === null && r.value === 67)).toHaveLength(1);
  });

  it('refuses bad credentials with CONNACK 4 and a revoked device with CONNACK 5', async () => {
    const a = await newDevice(t);
    const b = await newDevice(t);
    const revoked = await newDevice(t);
    expect((await t.admin.post(`/v1/admin/devices/${revoked.id}/revoke`)).status).toBe(200);

    const cases: Array<[string, IClientOptions, number]> = [
      ['wrong password', { username: a.id, password: `${a.secret.slice(0, -4)}AAAA` }, CONNACK_BAD_CREDENTIALS],
      ['password that is not a device secret', { username: a.id, password: 'hunter2' }, CONNACK_BAD_CREDENTIALS],
      ['unknown device id', { username: 'no-such-device', password: a.secret }, CONNACK_BAD_CREDENTIALS],
      ['unknown device id and unknown secret', { username: 'no-such-device', password: `rpmd_0123456789abcdef_${'A'.repeat(43)}` }, CONNACK_BAD_CREDENTIALS],
      ["device A's secret with device B's id", { username: b.id, password: a.secret }, CONNACK_BAD_CREDENTIALS],
      ['revoked device', credentials(revoked), CONNACK_NOT_AUTHORIZED],
      ['no credentials', {}, CONNACK_BAD_CREDENTIALS],
      ['username without password', { username: a.id }, CONNACK_BAD_CREDENTIALS],
    ];
    for (const [name, options, code] of cases) {
      expect(await connackCode(url, options), name).toBe(code);
    }
    // The right credentials still work.
    expect(await connackCode(url, credentials(a))).toBe(CONNACK_ACCEPTED);
  });

  it("closes the connection on a publish outside the device's readings topic and stores nothing", async () => {
    const a = await newDevice(t);
    const b = await newDevice(t);
    const targets = [readingsTopic(b.id), commandsTopic(a.id), errorsTopic(a.id), statusTopic(a.id), `${readingsTopic(a.id)}/extra`, 'readings', '$SYS/broker/readings'];
    for (const topic of targets) {
      const client = await connectAs(a);
      const closed = closeOf(client);
      const pub = publishTracked(client, topic, envelope([heartRate(70, 3)]));
      await closed;
      expect(pub.acked(), topic).toBe(false);
      await shut(client);
    }
    expect(await t.admin.readings(a.patientId)).toEqual([]);
    expect(await t.admin.readings(b.patientId)).toEqual([]);
    // A fresh connection may still publish to its own readings topic.
    const client = await connectAs(a);
    await acked(client, readingsTopic(a.id), envelope([heartRate(71, 2)]));
    expect(await t.admin.readings(a.patientId)).toHaveLength(1);
  });

  it('refuses subscriptions outside the device namespace with SUBACK 0x80 and keeps the connection open, and grants its own errors and commands topics', async () => {
    const a = await newDevice(t);
    const b = await newDevice(t);
    const client = await connectAs(a);
    let closed = false;
    client.on('close', () => {
      closed = true;
    });
    const refused = ['#', '+/+/+', 'devices/+/readings', 'devices/#', readingsTopic(b.id), errorsTopic(b.id), commandsTopic(b.id), '$SYS/#', readingsTopic(a.id), `devices/${a.id}/#`, `devices/${a.id}/+`];
    for (const topic of refused) {
      expect(await subackCode(client, topic), topic).toBe(SUBACK_FAILURE);
    }
    expect(await subackCode(client, errorsTopic(a.id), 1)).toBe(1);
    expect(await subackCode(client, commandsTopic(a.id), 0)).toBe(0);
    // Still connected and fully usable.
    await acked(client, readingsTopic(a.id), envelope([heartRate(72, 4)]));
    expect(closed).toBe(false);
    expect(client.connected).toBe(true);
    expect(await t.admin.readings(a.patientId)).toHaveLength(1);
  });

  it('acknowledges a malformed payload, stores nothing, records the rejection and explains it on the errors topic', async () => {
    const d = await newDevice(t);
    const client = await connectAs(d);
    expect(await subackCode(client, errorsTopic(d.id), 1)).toBe(1);
    let closed = false;
    client.on('close', () => {
      closed = true;
    });

    // Valid readings, so that a payload let through by mistake would show up as stored.
    const valid = heartRate(70, 9);
    const cases: Array<[name: string, payload: string, code: string, path: string]> = [
      ['not JSON', '{"readings": [', 'RPM_ERR_REQUEST_MALFORMED_JSON', ''],
      ['empty payload', '', 'RPM_ERR_REQUEST_MALFORMED_JSON', ''],
      ['JSON without readings', JSON.stringify({ reading: [valid] }), 'RPM_ERR_REQUEST_INVALID', '/readings'],
      ['JSON null', 'null', 'RPM_ERR_REQUEST_INVALID', '/readings'],
      ['readings not an array', JSON.stringify({ readings: valid }), 'RPM_ERR_REQUEST_INVALID', '/readings'],
      ['empty readings', envelope([]), 'RPM_ERR_REQUEST_NO_READINGS', '/readings'],
      ['too many readings', envelope(Array.from({ length: 1001 }, () => valid)), 'RPM_ERR_REQUEST_TOO_MANY_READINGS', '/readings'],
    ];
    for (const [name, payload, code, path] of cases) {
      const explained = nextMessage(client, errorsTopic(d.id));
      const sent = await acked(client, readingsTopic(d.id), payload);
      const error = await explained;
      expect(error, name).toMatchObject({ code, path, messageId: sent?.messageId, payloadSha256: sha256(payload) });
      expect(error.message, name).toEqual(expect.any(String));
      expect(error.message.length, name).toBeGreaterThan(0);
    }
    expect(closed).toBe(false);
    expect(await t.admin.readings(d.patientId)).toEqual([]);

    const rejections = (await t.admin.get(`/v1/admin/devices/${d.id}/rejections`)).body.rejections as any[];
    expect(rejections).toHaveLength(cases.length);
    // Newest first.
    expect(rejections.map((r) => r.code)).toEqual(cases.map(([, , code]) => code).reverse());
    for (const r of rejections) {
      expect(r).toMatchObject({ transport: 'mqtt', clientId: null });
      expect(r.message.length).toBeGreaterThan(0);
    }
    expect(rejections.map((r) => r.payloadSha256)).toEqual(cases.map(([, payload]) => sha256(payload)).reverse());
  });

  it('stores the good readings of a partly bad batch and reports each rejected one on the errors topic with code and path', async () => {
    const d = await newDevice(t);
    const client = await connectAs(d);
    expect(await subackCode(client, errorsTopic(d.id), 1)).toBe(1);
    const explained = nextMessage(client, errorsTopic(d.id));
    // A wholly good batch first: it must not produce an errors message.
    await acked(client, readingsTopic(d.id), envelope([heartRate(61, 40, 'all-good')]));
    const sent = await acked(
      client,
      readingsTopic(d.id),
      envelope([
        heartRate(70, 8, 'ok-hr'),
        { kind: 'spo2', value: 101, unit: '%', measuredAt: isoMinutesAgo(8) },
        { kind: 'telepathy', value: 1, unit: '%', measuredAt: isoMinutesAgo(8), id: 'tele' },
        { kind: 'heart-rate', value: '72', unit: '/min', measuredAt: isoMinutesAgo(7) },
        { kind: 'respiratory-rate', value: 16, unit: '/min', measuredAt: isoMinutesAgo(7), id: 'ok-rr' },
      ]),
    );
    const error = await explained;
    expect(error).toMatchObject({ code: 'RPM_ERR_READING_REJECTED', messageId: sent?.messageId });
    expect(error.rejected).toHaveLength(3);
    expect(error.rejected[0]).toMatchObject({ index: 1, status: 'rejected', code: 'RPM_ERR_READING_IMPLAUSIBLE', path: '/readings/1/value' });
    expect(error.rejected[1]).toMatchObject({ index: 2, status: 'rejected', code: 'RPM_ERR_READING_UNKNOWN_KIND', path: '/readings/2/kind', clientId: 'tele' });
    expect(error.rejected[2]).toMatchObject({ index: 3, status: 'rejected', code: 'RPM_ERR_READING_INVALID', path: '/readings/3/value' });

    const stored = await t.admin.readings(d.patientId);
    expect(stored.map((r) => r.clientId).sort()).toEqual(['all-good', 'ok-hr', 'ok-rr']);
    expect(stored.some((r) => r.kind === 'spo2')).toBe(false);
    const rejections = (await t.admin.get(`/v1/admin/devices/${d.id}/rejections`)).body.rejections as any[];
    expect(rejections.map((r) => r.path).sort()).toEqual(['/readings/1/value', '/readings/2/kind', '/readings/3/value']);
  });

  it('closes an open connection as soon as its device is revoked, and refuses it afterwards with CONNACK 5', async () => {
    const d = await newDevice(t);
    const client = await connectAs(d);
    await acked(client, readingsTopic(d.id), envelope([heartRate(70, 6)]));
    // "At once": within a couple of seconds, not at the next keepalive (90 s) or publish.
    const closed = closeOf(client, 2000);
    expect((await t.admin.post(`/v1/admin/devices/${d.id}/revoke`)).status).toBe(200);
    await closed;
    expect(await connackCode(url, credentials(d))).toBe(CONNACK_NOT_AUTHORIZED);
    // What was acknowledged before the revocation stays stored.
    expect(await t.admin.readings(d.patientId)).toHaveLength(1);
  });

  it('closes a session of the old secret when a rotation leaves no grace, and accepts the new secret', async () => {
    const d = await newDevice(t);
    const old = await connectAs(d);
    const closed = closeOf(old, 2000);
    const rotated = await t.admin.post(`/v1/admin/devices/${d.id}/rotate-secret`, { graceSeconds: 0 });
    expect(rotated.status).toBe(200);
    await closed;
    expect(await connackCode(url, credentials(d))).toBe(CONNACK_BAD_CREDENTIALS);
    const renewed = await connectAs(d, { password: rotated.body.secret });
    await acked(renewed, readingsTopic(d.id), envelope([heartRate(70, 5)]));
    expect(await t.admin.readings(d.patientId)).toHaveLength(1);
  });

  it('keeps a session of the old secret open during the rotation grace period', async () => {
    const d = await newDevice(t);
    const old = await connectAs(d);
    let closed = false;
    old.on('close', () => {
      closed = true;
    });
    const rotated = await t.admin.post(`/v1/admin/devices/${d.id}/rotate-secret`, { graceSeconds: 3600 });
    expect(rotated.status).toBe(200);
    // The old session keeps publishing, and both secrets connect.
    await acked(old, readingsTopic(d.id), envelope([heartRate(70, 5)]));
    expect(closed).toBe(false);
    expect(await connackCode(url, { username: d.id, password: rotated.body.secret })).toBe(CONNACK_ACCEPTED);
    expect(await connackCode(url, credentials(d))).toBe(CONNACK_ACCEPTED);
    await acked(old, readingsTopic(d.id), envelope([heartRate(71, 4)]));
    expect(closed).toBe(false);
    expect(await t.admin.readings(d.patientId)).toHaveLength(2);
  });

  it('closes sessions of the old secret when its grace period ends, including ones opened during the grace period', async () => {
    const d = await newDevice(t);
    const before = await connectAs(d);
    const rotated = await t.admin.post(`/v1/admin/devices/${d.id}/rotate-secret`, { graceSeconds: 1 });
    expect(rotated.status).toBe(200);
    const graceEnds = Date.parse(rotated.body.previousSecretValidUntil);
    const during = await connectAs(d);
    const renewed = await connectAs(d, { password: rotated.body.secret });
    let renewedClosed = false;
    renewed.on('close', () => {
      renewedClosed = true;
    });
    await Promise.all([closeOf(before, 4000), closeOf(during, 4000)]);
    expect(Date.now()).toBeGreaterThanOrEqual(graceEnds - 50);
    expect(await connackCode(url, credentials(d))).toBe(CONNACK_BAD_CREDENTIALS);
    // The session of the new secret is unaffected.
    await acked(renewed, readingsTopic(d.id), envelope([heartRate(70, 1)]));
    expect(renewedClosed).toBe(false);
  });

  it("does not let another device take over a session by reusing its MQTT client id", async () => {
    const a = await newDevice(t);
    const b = await newDevice(t);
    const clientId = uid('shared-client-id');
    const first = await connectAs(a, { clientId });
    let firstClosed = false;
    first.on('close', () => {
      firstClosed = true;
    });
    const intruder = await connectAs(b, { clientId });
    // Both sessions are alive and each publishes as itself.
    await acked(first, readingsTopic(a.id), envelope([heartRate(70, 3)]));
    await acked(intruder, readingsTopic(b.id), envelope([heartRate(80, 3)]));
    expect(firstClosed).toBe(false);
    expect(first.connected).toBe(true);
    expect((await t.admin.readings(a.patientId)).map((r) => r.value)).toEqual([70]);
    expect((await t.admin.readings(b.patientId)).map((r) => r.value)).toEqual([80]);

    // The same device reconnecting with its own client id does take over its old session (MQTT-3.1.4-2).
    const firstGone = closeOf(first);
    const successor = await connectAs(a, { clientId });
    await firstGone;
    expect(intruder.connected).toBe(true);
    await acked(successor, readingsTopic(a.id), envelope([heartRate(71, 2)]));
    await acked(intruder, readingsTopic(b.id), envelope([heartRate(81, 2)]));
  });

  it("refuses a will on any topic but the device's own status topic with CONNACK 5", async () => {
    const a = await newDevice(t);
    const b = await newDevice(t);
    const will = (topic: string): IClientOptions['will'] => ({ topic, payload: Buffer.from('offline'), qos: 1, retain: false });
    // A will on the readings topic would let the broker publish a reading nobody sent.
    for (const topic of [statusTopic(b.id), readingsTopic(a.id), readingsTopic(b.id), commandsTopic(a.id), errorsTopic(a.id), `${statusTopic(a.id)}/x`, '$SYS/x']) {
      expect(await connackCode(url, { ...credentials(a), will: will(topic) }), topic).toBe(CONNACK_NOT_AUTHORIZED);
    }
    // The will rule does not change what bad credentials get.
    expect(await connackCode(url, { username: a.id, password: 'nope', will: will(statusTopic(b.id)) })).toBe(CONNACK_BAD_CREDENTIALS);
    const client = await connectAs(a, { will: will(statusTopic(a.id)) });
    await acked(client, readingsTopic(a.id), envelope([heartRate(70, 3)]));
    // The will fires on an unclean close; it must not turn into anything stored. Once the
    // device shows offline, the gateway has handled the close (and the will).
    await shut(client);
    await waitFor(() => !t.gw.ctx.presence.isOnline(a.id), 'the device to go offline');
    expect(await t.admin.readings(a.patientId)).toHaveLength(1);
    expect((await t.admin.get(`/v1/admin/devices/${a.id}/rejections`)).body.rejections).toEqual([]);
  });

  it('speaks MQTT over WebSocket at /mqtt on the HTTP port, with a PUBACK only after the commit', async () => {
    const d = await newDevice(t);
    const wsUrl = `ws://127.0.0.1:${t.gw.httpPort}/mqtt`;
    const client = await connect(wsUrl, credentials(d));
    await acked(client, readingsTopic(d.id), envelope([heartRate(75, 10, 'ws-1')]));
    const readings = await t.admin.readings(d.patientId);
    expect(readings).toHaveLength(1);
    expect(readings[0]).toMatchObject({ clientId: 'ws-1', value: 75, unit: '/min', code: { code: '8867-4' } });
    // The same authentication applies.
    expect(await connackCode(wsUrl, { username: d.id, password: 'wrong' })).toBe(CONNACK_BAD_CREDENTIALS);
    // Only the configured path upgrades.
    await expect(connect(`ws://127.0.0.1:${t.gw.httpPort}/elsewhere`, credentials(d))).rejects.toThrow();
  });

  it('shows a connected device as online, and offline with a last-seen time after it disconnects', async () => {
    const d = await newDevice(t);
    const view = async (): Promise<any> => (await t.admin.get(`/v1/admin/devices/${d.id}`)).body;
    expect(await view()).toMatchObject({ online: false, lastSeenAt: null });

    const connectedAt = Date.now();
    const client = await connectAs(d);
    expect((await view()).online).toBe(true);

    // A second session of the same device (another client id) ending leaves it online. The
    // disconnect moves last-seen forward, which tells us the gateway has processed it.
    const second = await connectAs(d);
    await t.gw.ctx.presence.flush();
    const seenWhileConnected = Date.parse((await view()).lastSeenAt);
    expect(seenWhileConnected).toBeGreaterThanOrEqual(connectedAt);
    await second.endAsync();
    openClients.delete(second);
    await waitFor(async () => {
      await t.gw.ctx.presence.flush();
      return Date.parse((await view()).lastSeenAt) > seenWhileConnected;
    }, 'the second session to be gone');
    expect((await view()).online).toBe(true);

    await client.endAsync();
    openClients.delete(client);
    await waitFor(async () => (await view()).online === false, 'the device to go offline');
    await t.gw.ctx.presence.flush();
    const after = await view();
    expect(after.online).toBe(false);
    expect(after.lastSeenAt).not.toBeNull();
    const lastSeen = Date.parse(after.lastSeenAt);
    expect(lastSeen).toBeGreaterThan(seenWhileConnected);
    expect(lastSeen).toBeLessThanOrEqual(Date.now());
  });
});

// ---------------------------------------------------------------------------------------------
// TLS listener
// ---------------------------------------------------------------------------------------------

describe('MQTT broker over TLS', () => {
  let t: TestGateway;
  let certDir: string;
  let cert: Buffer;

  beforeAll(async () => {
    certDir = tempDir('rpm-tls-');
    const certFile = path.join(certDir, 'cert.pem');
    const keyFile = path.join(certDir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'pipe' },
    );
    cert = readFileSync(certFile);
    t = await startTestGateway({ RPM_MQTT_TLS_CERT: certFile, RPM_MQTT_TLS_KEY: keyFile, RPM_MQTT_TLS_PORT: '0' });
  });
  afterAll(async () => {
    await t?.close();
    if (certDir !== undefined) rmSync(certDir, { recursive: true, force: true });
  });

  it('listens for mqtts on a free port when asked for port 0, and commits readings published over it', async () => {
    const port = t.gw.mqttTlsPort;
    expect(port).toEqual(expect.any(Number));
    expect(port).toBeGreaterThan(0);
    expect(port).not.toBe(t.mqttPort);

    const d = await newDevice(t, 'thermometer');
    // The client verifies the server against the self-signed certificate.
    const client = await connect(`mqtts://127.0.0.1:${port}`, { ...credentials(d), ca: cert, rejectUnauthorized: true });
    await acked(client, readingsTopic(d.id), envelope([{ id: 'tls-1', kind: 'body-temperature', value: 98.6, unit: '[degF]', measuredAt: isoMinutesAgo(3) }]));
    const readings = await t.admin.readings(d.patientId);
    expect(readings).toHaveLength(1);
    expect(readings[0]).toMatchObject({ clientId: 'tls-1', value: 37, unit: 'Cel', code: { code: '8310-5' } });
    expect(await connackCode(`mqtts://127.0.0.1:${port}`, { username: d.id, password: 'wrong', ca: cert })).toBe(CONNACK_BAD_CREDENTIALS);
  });
});

// ---------------------------------------------------------------------------------------------
// Backpressure
// ---------------------------------------------------------------------------------------------

describe('MQTT broker under backpressure', () => {
  let t: TestGateway;
  let url: string;

  beforeAll(async () => {
    // One pending reading saturates the commit queue; a 50 ms linger keeps it saturated a while.
    t = await startTestGateway({ RPM_COMMIT_MAX_PENDING: '1', RPM_MAX_READINGS_PER_REQUEST: '1', RPM_COMMIT_LINGER_MS: '50' });
    url = `mqtt://127.0.0.1:${t.mqttPort}`;
  });
  afterAll(async () => t.close());

  it('makes publishes wait for room in a saturated commit queue, then acknowledges and stores every one', async () => {
    const devices = [await newDevice(t), await newDevice(t)];
    const clients = await Promise.all(devices.map((d) => connect(url, credentials(d))));
    let closes = 0;
    for (const c of clients) c.on('close', () => closes++);

    const publish = (k: number, i: number): ReturnType<typeof acked> =>
      acked(clients[k]!, readingsTopic(devices[k]!.id), envelope([heartRate(60 + i, 30 + i, `bp-${k}-${i}`)]));
    // A first publish per client fills the queue; four more each arrive while it is full.
    const publishes = [publish(0, 0), publish(1, 0)];
    await waitFor(() => t.gw.ctx.committer.saturated, 'the commit queue to saturate');
    for (let i = 1; i < 5; i++) publishes.push(publish(0, i), publish(1, i));
    await withTimeout(Promise.all(publishes), 10_000, 'every PUBACK');
    expect(closes).toBe(0);
    for (const d of devices) {
      const stored = await t.admin.readings(d.patientId);
      expect(stored.map((r) => r.value).sort()).toEqual([60, 61, 62, 63, 64]);
    }
  });

  it('refuses a new connection with CONNACK 3 while the commit queue is saturated', async () => {
    const d = await newDevice(t);
    const publisher = await connect(url, credentials(d));
    // Warm the credential cache so later connects need no registry read.
    expect(await connackCode(url, credentials(d))).toBe(CONNACK_ACCEPTED);

    // Saturate the queue with a publish, then connect while it is still saturated. An attempt
    // counts only if no commit finished between seeing the saturation and getting the CONNACK
    // (then the queue was saturated throughout); on a badly stalled machine we try again.
    let decided = false;
    for (let attempt = 0; attempt < 5 && !decided; attempt++) {
      const published = acked(publisher, readingsTopic(d.id), envelope([heartRate(70, 50 + attempt)]));
      await waitFor(() => t.gw.ctx.committer.saturated, 'the commit queue to saturate');
      const commitsBefore = t.gw.ctx.committer.stats.commits;
      const code = await connackCode(url, credentials(d));
      const saturatedThroughout = t.gw.ctx.committer.stats.commits === commitsBefore && t.gw.ctx.committer.saturated;
      await published;
      if (code === CONNACK_SERVER_UNAVAILABLE) {
        decided = true;
      } else {
        // Accepted: only allowed if the queue had drained before the gateway looked.
        expect(saturatedThroughout, `CONNACK ${code} while the commit queue was saturated`).toBe(false);
      }
    }
    expect(decided).toBe(true);
    // Once the queue drains, connections are accepted again.
    await waitFor(() => !t.gw.ctx.committer.saturated, 'the commit queue to drain');
    expect(await connackCode(url, credentials(d))).toBe(CONNACK_ACCEPTED);
  });
});

// ---------------------------------------------------------------------------------------------
// Publish rate limit
// ---------------------------------------------------------------------------------------------

describe('MQTT publish rate limit per device', () => {
  let t: TestGateway;
  let url: string;
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    t = await startTestGateway({ RPM_RATE_LIMIT_PER_DEVICE_PER_MIN: '3' }, { clock });
    url = `mqtt://127.0.0.1:${t.mqttPort}`;
  });
  afterAll(async () => t.close());

  it('refuses a publish over the limit without PUBACK and without storing it, says why on the errors topic, and closes the connection', async () => {
    const d = await newDevice(t);
    const other = await newDevice(t);
    const client = await connect(url, credentials(d));
    await client.subscribeAsync(errorsTopic(d.id), { qos: 1 });
    for (let i = 0; i < 3; i++) await acked(client, readingsTopic(d.id), envelope([heartRate(70 + i, 10 + i, `rl-${i}`)]));

    const explained = nextMessage(client, errorsTopic(d.id));
    const closed = closeOf(client, 3000);
    const fourth = publishTracked(client, readingsTopic(d.id), envelope([heartRate(90, 5, 'rl-3')]));
    expect(await explained).toMatchObject({ code: 'RPM_ERR_RATE_LIMITED', messageId: expect.any(Number), retryAfterSeconds: expect.any(Number) });
    await closed;
    expect(fourth.acked()).toBe(false);
    expect((await t.admin.readings(d.patientId)).map((r) => r.clientId).sort()).toEqual(['rl-0', 'rl-1', 'rl-2']);
    expect(await t.gw.ctx.metrics.text()).toMatch(/^rpm_mqtt_publishes_rate_limited_total [1-9]/m);

    // Until its window resets the device is turned away at CONNECT; other devices are not affected.
    expect(await connackCode(url, credentials(d))).toBe(CONNACK_SERVER_UNAVAILABLE);
    const unaffected = await connect(url, credentials(other));
    await acked(unaffected, readingsTopic(other.id), envelope([heartRate(66, 3, 'other-0')]));

    // A minute later it connects, redelivers what was never acknowledged, and it is stored once.
    clock.advance(61_000);
    const again = await connect(url, credentials(d));
    await acked(again, readingsTopic(d.id), envelope([heartRate(90, 5, 'rl-3')]));
    expect((await t.admin.readings(d.patientId)).map((r) => r.clientId).sort()).toEqual(['rl-0', 'rl-1', 'rl-2', 'rl-3']);
  });
});
