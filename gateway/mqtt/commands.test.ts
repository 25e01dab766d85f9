import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';

/** Commands to devices: an operator's POST becomes a QoS 1 publish on the device's commands topic. */
describe('device commands over MQTT', () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('delivers a command to the connected device, audits it, and refuses bad input and revoked devices', async () => {
    const secret = await t.admin.createDevice({ id: 'cmd-1', kind: 'scale' });
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${t.mqttPort}`, { clientId: 'cmd-1-c', username: 'cmd-1', password: secret, protocolVersion: 4, reconnectPeriod: 0 });
    try {
      await client.subscribeAsync('devices/cmd-1/commands', { qos: 1 });
      const got = new Promise<Record<string, unknown>>((resolve) => client.once('message', (_topic, payload) => resolve(JSON.parse(payload.toString()) as Record<string, unknown>)));
      const sent = await t.admin.post('/v1/admin/devices/cmd-1/commands', { command: 'sync-time', parameters: { utcOffsetMinutes: -300 } });
      expect(sent.status).toBe(202);
      expect(sent.body.topic).toBe('devices/cmd-1/commands');
      expect(await got).toMatchObject({ commandId: sent.body.commandId, command: 'sync-time', parameters: { utcOffsetMinutes: -300 } });
    } finally {
      await client.endAsync();
    }
    const bad = await t.admin.post('/v1/admin/devices/cmd-1/commands', { command: 'Reboot Now!' });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('RPM_ERR_REQUEST_INVALID');
    expect((await t.admin.post('/v1/admin/devices/nope/commands', { command: 'sync-time' })).status).toBe(404);
    expect((await request(`${t.baseUrl}/v1/admin/devices/cmd-1/commands`, { json: { command: 'sync-time' } })).status).toBe(401);
    await t.admin.post('/v1/admin/devices/cmd-1/revoke', {});
    const revoked = await t.admin.post('/v1/admin/devices/cmd-1/commands', { command: 'sync-time' });
    expect(revoked.status).toBe(409);
    const audit = await request<{ entries: { action: string; subject: string }[] }>(`${t.baseUrl}/v1/admin/audit?subject=device:cmd-1`, { token: ADMIN_TOKEN });
    expect(audit.body.entries.map((e) => e.action)).toContain('device.command');
  });
});
