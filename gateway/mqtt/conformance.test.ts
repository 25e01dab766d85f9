import net from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPacket } from '../../benchmarks/lib/mqtt-wire.js';
import { startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';
import { inspectConnect } from './connect-gate.js';

/*
 * MQTT 3.1.1 behaviour the gateway guarantees where aedes 1.x alone deviates (connect-gate.ts,
 * redelivery.ts), checked with raw bytes where a client library would not send them.
 */

/** Sends raw bytes as a connection's first packet; resolves with everything received until the server closes. */
function exchange(port: number, bytes: Buffer, timeoutMs = 5000): Promise<{ received: Buffer; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ received, closedByServer: false });
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
    });
    socket.on('error', reject);
    socket.on('end', () => socket.end());
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received, closedByServer: true });
    });
    socket.on('connect', () => socket.write(bytes));
  });
}

const connack = (returnCode: number): Buffer => Buffer.from([0x20, 0x02, 0x00, returnCode]);

describe('inspectConnect (the first bytes of a connection)', () => {
  const base = { clientId: 'c-1', keepaliveS: 60 };
  it('admits MQTT 3.1.1 and 3.1 CONNECTs, and anything that is not a CONNECT (aedes answers those)', () => {
    expect(inspectConnect(connectPacket(base))).toEqual({ kind: 'admit' });
    expect(inspectConnect(connectPacket({ ...base, protocol: { name: 'MQIsdp', level: 3 } }))).toEqual({ kind: 'admit' });
    expect(inspectConnect(Buffer.from([0xc0, 0x00]))).toEqual({ kind: 'admit' });
    expect(inspectConnect(connectPacket({ ...base, protocol: { name: 'XMPP', level: 4 } }))).toEqual({ kind: 'admit' });
  });

  it('refuses unsupported protocol levels with 1, and an empty client id without a clean session with 2', () => {
    for (const level of [0, 2, 5, 6, 255]) expect(inspectConnect(connectPacket({ ...base, protocol: { name: 'MQTT', level } }))).toEqual({ kind: 'refuse', returnCode: 1 });
    expect(inspectConnect(connectPacket({ ...base, clientId: '', cleanSession: false }))).toEqual({ kind: 'refuse', returnCode: 2 });
    expect(inspectConnect(connectPacket({ ...base, clientId: '', cleanSession: true }))).toEqual({ kind: 'admit' });
    expect(inspectConnect(connectPacket({ ...base, clientId: '', protocol: { name: 'MQIsdp', level: 3 } }))).toEqual({ kind: 'refuse', returnCode: 2 });
  });

  it('waits for the bytes it needs, one at a time', () => {
    const packet = connectPacket({ ...base, protocol: { name: 'MQTT', level: 6 } });
    for (let n = 0; n < 14; n++) expect(inspectConnect(packet.subarray(0, n))).toEqual({ kind: 'need-more' });
    expect(inspectConnect(packet.subarray(0, 14))).toEqual({ kind: 'refuse', returnCode: 1 });
  });
});

describe('MQTT 3.1.1 conformance where aedes deviates', () => {
  let t: TestGateway;
  let secret: string;
  const device = 'conf-dev';

  beforeAll(async () => {
    t = await startTestGateway();
    await t.admin.createPatient('p-conf');
    secret = await t.admin.createDevice({ id: device, kind: 'multi-parameter', patientId: 'p-conf' });
  });
  afterAll(async () => t.close());

  it('answers an unsupported protocol level with CONNACK 1 and closes [MQTT-3.1.2-2]', async () => {
    for (const level of [6, 5]) {
      const { received, closedByServer } = await exchange(t.mqttPort, connectPacket({ clientId: 'lvl', username: device, password: secret, keepaliveS: 60, protocol: { name: 'MQTT', level } }));
      expect(received, `level ${level}`).toEqual(connack(1));
      expect(closedByServer).toBe(true);
    }
  });

  it('answers an empty client id with CleanSession 0 with CONNACK 2 and closes, and accepts it with CleanSession 1 [MQTT-3.1.3-8]', async () => {
    const refused = await exchange(t.mqttPort, connectPacket({ clientId: '', cleanSession: false, username: device, password: secret, keepaliveS: 60 }));
    expect(refused.received).toEqual(connack(2));
    expect(refused.closedByServer).toBe(true);
    const accepted = await exchange(t.mqttPort, connectPacket({ clientId: '', cleanSession: true, username: device, password: secret, keepaliveS: 60 }), 500);
    expect(accepted.received.subarray(0, 4)).toEqual(connack(0));
  });

  it('resends an unacknowledged QoS 1 message of a resumed session with DUP 1 and its packet id, and a message queued meanwhile with DUP 0 [MQTT-3.3.1-1]', async () => {
    const url = `mqtt://127.0.0.1:${t.mqttPort}`;
    const options: IClientOptions = { username: device, password: secret, protocolVersion: 4, reconnectPeriod: 0, clientId: 'dup-session', clean: false };
    type Delivery = { payload: string; dup: boolean; messageId: number | undefined };
    const deliveries = (client: MqttClient): Delivery[] => {
      const seen: Delivery[] = [];
      client.on('message', (_topic, payload, packet) => seen.push({ payload: payload.toString('utf8'), dup: packet.dup, messageId: packet.messageId }));
      return seen;
    };
    const until = async (what: string, cond: () => boolean): Promise<void> => {
      const deadline = Date.now() + 5000;
      while (!cond()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const errors = `devices/${device}/errors`;
    // Never acknowledges what it receives, as a device that loses power mid-delivery: MQTT.js
    // sends the PUBACK once handleMessage (its documented hook for that) calls back.
    const first = await mqtt.connectAsync(url, options, false);
    first.handleMessage = () => undefined;
    await first.subscribeAsync(errors, { qos: 1 });
    const firstSeen = deliveries(first);
    // A malformed payload makes the gateway explain it on the errors topic (QoS 1).
    await first.publishAsync(`devices/${device}/readings`, 'not json 1', { qos: 1 });
    await until('the first explanation', () => firstSeen.length === 1);
    expect(firstSeen[0]?.dup).toBe(false);
    first.end(true);

    // While the session is away, another connection of the device causes a second explanation.
    const other = await mqtt.connectAsync(url, { ...options, clientId: 'dup-other', clean: true }, false);
    await other.publishAsync(`devices/${device}/readings`, 'not json 2', { qos: 1 });
    await other.endAsync();

    const resumed = await mqtt.connectAsync(url, options, false);
    const again = deliveries(resumed);
    try {
      await until('both messages', () => again.length === 2);
      const resent = again.find((d) => d.payload === firstSeen[0]?.payload);
      const queued = again.find((d) => d.payload !== firstSeen[0]?.payload);
      expect(resent).toMatchObject({ dup: true, messageId: firstSeen[0]?.messageId });
      expect(queued).toMatchObject({ dup: false });
      expect(JSON.parse(queued?.payload ?? '{}')).toMatchObject({ code: 'RPM_ERR_REQUEST_MALFORMED_JSON' });
    } finally {
      await resumed.endAsync(true);
    }
  });
});
