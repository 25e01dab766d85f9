import net from 'node:net';
import { Aedes } from 'aedes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConnectOutcome, WireClient } from './mqtt-wire.js';

// The capacity and storm figures are only as good as this hand-written client, so check it
// against a real broker: CONNECT with credentials, refusal codes, QoS 1 PUBACK matching.
describe('WireClient against aedes', () => {
  let broker: Aedes;
  let server: net.Server;
  let port = 0;
  const received: { topic: string; payload: string; dup: boolean }[] = [];

  beforeAll(async () => {
    broker = await Aedes.createBroker();
    broker.authenticate = (_c, username, password, done) => {
      if (password?.toString() === 'busy') {
        // What the gateway answers while its first-verification slots are full.
        done(Object.assign(new Error('busy'), { returnCode: 3 }) as Parameters<typeof done>[0], false);
        return;
      }
      done(null, username === 'dev-1' && password?.toString() === 'secret');
    };
    broker.authorizePublish = (_c, packet, done) => {
      received.push({ topic: packet.topic, payload: packet.payload.toString(), dup: packet.dup });
      done(null);
    };
    server = net.createServer((s) => broker.handle(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await new Promise<void>((r) => broker.close(() => r()));
  });

  const connect = (username: string, password: string): Promise<{ client: WireClient; outcome: ConnectOutcome }> =>
    new Promise((resolve) => WireClient.connect('127.0.0.1', port, undefined, { clientId: `c-${username}-${password}`, username, password, keepaliveS: 60 }, (client, outcome) => resolve({ client, outcome })));

  it('connects, publishes QoS 1 with and without DUP, and gets each PUBACK', async () => {
    const { client, outcome } = await connect('dev-1', 'secret');
    expect(outcome).toEqual({ ok: true });
    const body = 'x'.repeat(300); // remaining length needs two bytes
    await new Promise<void>((r) => client.publish('devices/dev-1/readings', body, false, r));
    await new Promise<void>((r) => client.publish('devices/dev-1/readings', '{"a":1}', true, r));
    expect(received).toEqual([
      { topic: 'devices/dev-1/readings', payload: body, dup: false },
      { topic: 'devices/dev-1/readings', payload: '{"a":1}', dup: true },
    ]);
    client.destroy();
  });

  it('reports a refused CONNECT with its return code (3 is the one the drivers retry)', async () => {
    const wrong = await connect('dev-1', 'wrong');
    expect(wrong.outcome).toMatchObject({ ok: false, returnCode: 5 });
    wrong.client.destroy();
    const busy = await connect('dev-1', 'busy');
    expect(busy.outcome).toMatchObject({ ok: false, returnCode: 3 });
    busy.client.destroy();
  });
});
