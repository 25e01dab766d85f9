import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, isoMinutesAgo, request, startTestGateway, type TestGateway } from '../helpers/gateway.js';

/*
 * Issue 11, item 5: wrong admin tokens, session tokens and device secrets were not throttled, and
 * each wrong admin token wrote an audit row (3,000 in 12 s pushed every real entry out of the
 * newest 1,000). Now each kind is throttled by source, and repeated denials are aggregated.
 */
const LIMIT = 20;

describe('wrong credentials are throttled by source and audited in aggregate', () => {
  let t: TestGateway;
  let nurse: string;
  let secret: string;
  let minutesAgo = 300;

  /** With RPM_TRUST_PROXY the test speaks for many source addresses through X-Forwarded-For. */
  const from = (ip: string, url: string, token: string, init: { json?: unknown } = {}) =>
    request(`${t.baseUrl}${url}`, { token, headers: { 'x-forwarded-for': ip }, ...init });

  beforeAll(async () => {
    t = await startTestGateway({ RPM_TRUST_PROXY: 'true', RPM_AUTH_FAILURES_PER_MIN: String(LIMIT) });
    await t.admin.createOrganization('org-c');
    await t.admin.createPatient('p-c', { organizationId: 'org-c' });
    await t.admin.createStaff({ email: 'nurse@c.example', role: 'nurse', organizationId: 'org-c' });
    nurse = await t.admin.login('nurse@c.example');
    secret = await t.admin.createDevice({ id: 'hrm-c', kind: 'heart-rate-monitor', patientId: 'p-c' });
  });
  afterAll(async () => t.close());

  it('refuses a source after the limit of wrong admin tokens, even the right token, while others go on', async () => {
    for (let i = 0; i < 5; i++) expect((await from('198.51.100.1', '/v1/admin/patients/p-c', ADMIN_TOKEN)).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 300; i++) statuses.push((await from('203.0.113.7', '/v1/admin/devices', `wrong-admin-token-${i}-xxxxxxxx`)).status);
    expect(statuses.slice(0, LIMIT).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(LIMIT).every((s) => s === 429)).toBe(true);
    const refused = await from('203.0.113.7', '/v1/admin/devices', ADMIN_TOKEN);
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('RPM_ERR_RATE_LIMITED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await from('198.51.100.1', '/v1/admin/devices', ADMIN_TOKEN)).status).toBe(200);
  });

  it('does the same on routes that take the admin token or a session, so they cannot be used to keep guessing', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 5; i++) statuses.push((await from('203.0.113.17', '/v1/admin/organizations/org-c', `guess-${i}-of-the-admin-token`)).status);
    expect(statuses.slice(0, LIMIT).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(LIMIT).every((s) => s === 429)).toBe(true);
    expect((await from('203.0.113.17', '/v1/admin/organizations/org-c', ADMIN_TOKEN)).status).toBe(429);
    expect((await from('198.51.100.1', '/v1/admin/organizations/org-c', ADMIN_TOKEN)).status).toBe(200);
  });

  it('writes one entry for the first denial and one aggregate for the rest, so real entries stay in view', async () => {
    await t.gw.ctx.credentialGuard.flush(true);
    const newest = (await t.admin.get('/v1/admin/audit?limit=1000')).body.entries as { action: string; sourceIp: string; details: Record<string, unknown> | null; subject: string }[];
    const denials = newest.filter((e) => e.action === 'auth.denied' && e.sourceIp === '203.0.113.7');
    expect(denials).toHaveLength(2);
    expect(denials.map((d) => d.details?.count).sort()).toEqual([1, LIMIT - 1]);
    expect(denials.find((d) => d.details?.aggregated === true)?.details?.throttled).toBe(300 - LIMIT + 1);
    expect(newest.filter((e) => e.subject === 'patient:p-c' && e.action === 'patient.read')).toHaveLength(5);
  });

  it('throttles made-up session tokens by source, not the nurse at another address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 5; i++) statuses.push((await from('203.0.113.8', '/v1/worklist', `${'A'.repeat(40)}${String(i).padStart(3, '0')}`)).status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(LIMIT);
    expect(statuses.slice(LIMIT).every((s) => s === 429)).toBe(true);
    expect((await from('198.51.100.2', '/v1/worklist', nurse)).status).toBe(200);
  });

  it('throttles wrong device secrets by source on HTTP, while a device already verified keeps posting from there', async () => {
    const reading = () => ({ readings: [{ kind: 'heart-rate', value: 70, unit: 'bpm', measuredAt: isoMinutesAgo(minutesAgo--) }] });
    expect((await from('203.0.113.9', '/v1/readings', secret, { json: reading() })).status).toBe(202);
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 5; i++) {
      statuses.push((await from('203.0.113.9', '/v1/readings', `rpmd_${'0'.repeat(16)}_${'x'.repeat(43)}`, { json: reading() })).status);
    }
    expect(statuses.filter((s) => s === 401)).toHaveLength(LIMIT);
    expect(statuses.slice(LIMIT).every((s) => s === 429)).toBe(true);
    expect((await from('203.0.113.9', '/v1/readings', secret, { json: reading() })).status).toBe(202);
  });

  it('throttles wrong device secrets on MQTT: CONNACK 3 once the limit is reached', async () => {
    const codes: number[] = [];
    for (let i = 0; i < LIMIT + 3; i++) {
      codes.push(
        await mqtt
          .connectAsync(`mqtt://127.0.0.1:${t.mqttPort}`, { protocolVersion: 4, reconnectPeriod: 0, username: 'hrm-c', password: `rpmd_${'1'.repeat(16)}_${'y'.repeat(43)}` })
          .then(
            async (c) => {
              await c.endAsync();
              return 0;
            },
            (err: { code?: number }) => err.code ?? -1,
          ),
      );
    }
    expect(codes.slice(0, LIMIT).every((c) => c === 4)).toBe(true);
    expect(codes.slice(LIMIT).every((c) => c === 3)).toBe(true);
    // The device verified earlier over HTTP still connects from the same address.
    const ok = await mqtt.connectAsync(`mqtt://127.0.0.1:${t.mqttPort}`, { protocolVersion: 4, reconnectPeriod: 0, username: 'hrm-c', password: secret });
    await ok.endAsync();
  });
});
