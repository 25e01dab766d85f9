import net from 'node:net';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPacket, publishPacket, remainingLength } from '../../benchmarks/lib/mqtt-wire.js';
import { isoMinutesAgo, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/*
 * Issue 11, item 3: MQTT had no packet-size limit: an unauthenticated client made the broker
 * buffer a 200 MB CONNECT, an authenticated device got a 50 MB PUBLISH ingested. Packets are now
 * capped before authentication (a small CONNECT limit) and after (the HTTP body limit).
 */
const BODY_LIMIT = 64 * 1024;

/** Raw TCP: writes, and collects what the broker answers until it closes or `ms` pass. */
function exchange(port: number, writes: Buffer[], ms = 3000): Promise<{ received: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let closed = false;
    const socket = net.connect(port, '127.0.0.1', () => {
      for (const w of writes) socket.write(w);
    });
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      clearTimeout(timer);
      resolve({ received: Buffer.concat(chunks), closed });
    });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ received: Buffer.concat(chunks), closed });
    }, ms);
  });
}

describe('MQTT packet size caps', () => {
  let t: TestGateway;
  let secret: string;
  let minutesAgo = 500;
  const envelope = (value: number, padTo = 0): Buffer => {
    const json = JSON.stringify({ readings: [{ kind: 'heart-rate', value, unit: 'bpm', measuredAt: isoMinutesAgo(minutesAgo--) }] });
    // JSON allows whitespace: a valid envelope of any size.
    return Buffer.from(json.slice(0, -1) + ' '.repeat(Math.max(0, padTo - json.length)) + '}');
  };
  const values = async (): Promise<number[]> => (await t.admin.readings('p-mq')).map((r: { reported: { values: { value: number } } }) => r.reported.values.value);

  beforeAll(async () => {
    t = await startTestGateway({ RPM_HTTP_BODY_LIMIT_BYTES: String(BODY_LIMIT), RPM_MQTT_CONNECT_MAX_BYTES: '4096' });
    await t.admin.createPatient('p-mq');
    secret = await t.admin.createDevice({ id: 'hrm-mq', kind: 'heart-rate-monitor', patientId: 'p-mq' });
  });
  afterAll(async () => t.close());

  it('closes an unauthenticated connection as soon as its CONNECT announces more than the CONNECT limit', async () => {
    const header = Buffer.concat([Buffer.from([0x10]), remainingLength(200 * 1024 * 1024)]);
    const started = Date.now();
    const { closed, received } = await exchange(t.mqttPort, [header, Buffer.alloc(64 * 1024, 0x41)]);
    expect(closed).toBe(true);
    expect(received.length).toBe(0);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('closes an authenticated connection that sends a PUBLISH over the body limit, and stores nothing of it', async () => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${t.mqttPort}`, { protocolVersion: 4, reconnectPeriod: 0, username: 'hrm-mq', password: secret });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish('devices/hrm-mq/readings', envelope(131, 2 * BODY_LIMIT), { qos: 1 });
    await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the connection stayed open')), 5000))]);
    await client.endAsync(true);
    expect(await values()).not.toContain(131);
  });

  it('accepts a PUBLISH up to the body limit', async () => {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${t.mqttPort}`, { protocolVersion: 4, reconnectPeriod: 0, username: 'hrm-mq', password: secret });
    await client.publishAsync('devices/hrm-mq/readings', envelope(132, BODY_LIMIT - 10), { qos: 1 });
    await client.endAsync();
    expect(await values()).toContain(132);
  });

  it('serves a device that pipelines a large PUBLISH right behind its CONNECT, once it is authenticated', async () => {
    const payload = envelope(133, BODY_LIMIT - 10);
    const { received } = await exchange(t.mqttPort, [Buffer.concat([connectPacket({ clientId: 'hub-pipe', username: 'hrm-mq', password: secret, keepaliveS: 60 }), publishPacket('devices/hrm-mq/readings', payload.toString(), 7, false)])], 3000);
    // CONNACK accepted (20 02 00 00), then PUBACK for packet 7 (40 02 00 07).
    expect(received.subarray(0, 4)).toEqual(Buffer.from([0x20, 0x02, 0x00, 0x00]));
    expect(received.subarray(4, 8)).toEqual(Buffer.from([0x40, 0x02, 0x00, 0x07]));
    expect(await values()).toContain(133);
  });

  it('never hands what a client pipelines behind a refused CONNECT to the broker', async () => {
    const payload = envelope(134, BODY_LIMIT - 10);
    const { received, closed } = await exchange(t.mqttPort, [
      Buffer.concat([
        connectPacket({ clientId: 'intruder', username: 'hrm-mq', password: `rpmd_${'0'.repeat(16)}_${'x'.repeat(43)}`, keepaliveS: 60 }),
        publishPacket('devices/hrm-mq/readings', payload.toString(), 8, false),
      ]),
    ]);
    expect(received.subarray(0, 4)).toEqual(Buffer.from([0x20, 0x02, 0x00, 0x04]));
    expect(closed).toBe(true);
    expect(await values()).not.toContain(134);
  });
});
