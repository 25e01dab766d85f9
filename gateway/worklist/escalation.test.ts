import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isoMinutesAgo, request, startTestGateway, type TestGateway } from '../../test/helpers/gateway.js';

/**
 * Twilio is a SaaS we cannot reach from tests, so this double speaks its wire format:
 * POST /2010-04-01/Accounts/{Sid}/Messages.json, form-encoded, HTTP basic auth, answering
 * 201 with a Message resource or 400 with Twilio's error body.
 */
function fakeTwilio(): Promise<{ url: string; messages: URLSearchParams[]; auth: string[]; failNext: { n: number }; close: () => Promise<void> }> {
  const messages: URLSearchParams[] = [];
  const auth: string[] = [];
  const failNext = { n: 0 };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const m = /^\/2010-04-01\/Accounts\/(AC\w+)\/Messages\.json$/.exec(req.url ?? '');
      res.setHeader('content-type', 'application/json');
      if (req.method !== 'POST' || m === null || req.headers['content-type'] !== 'application/x-www-form-urlencoded') {
        res.writeHead(404).end(JSON.stringify({ code: 20404, message: 'The requested resource was not found', status: 404 }));
        return;
      }
      if (failNext.n > 0) {
        failNext.n--;
        res.writeHead(503).end(JSON.stringify({ code: 20503, message: 'Service unavailable', more_info: 'https://www.twilio.com/docs/errors/20503', status: 503 }));
        return;
      }
      const form = new URLSearchParams(body);
      auth.push(req.headers.authorization ?? '');
      messages.push(form);
      res.writeHead(201).end(
        JSON.stringify({ sid: `SM${String(messages.length).padStart(32, '0')}`, account_sid: m[1], to: form.get('To'), from: form.get('From'), body: form.get('Body'), status: 'queued', num_segments: '1', api_version: '2010-04-01' }),
      );
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, messages, auth, failNext, close: () => new Promise((r) => server.close(() => r())) }),
    ),
  );
}

describe('SLA escalation (injected clock, SMS through the notifier port)', () => {
  let t: TestGateway;
  let twilio: Awaited<ReturnType<typeof fakeTwilio>>;
  let now = Date.now();
  const clock = { now: () => now };
  let nurse: string;
  let gluco: string;

  beforeAll(async () => {
    twilio = await fakeTwilio();
    t = await startTestGateway(
      { RPM_SESSION_IDLE_MINUTES: '600', RPM_TWILIO_ACCOUNT_SID: 'AC0123456789abcdef0123456789abcdef', RPM_TWILIO_AUTH_TOKEN: 'secret-token', RPM_TWILIO_FROM: '+15550001111', RPM_TWILIO_BASE_URL: twilio.url },
      { clock },
    );
    await t.admin.createOrganization('org-s');
    await t.admin.createStaff({ email: 'charge@s.example', role: 'nurse', organizationId: 'org-s', isChargeNurse: true, phone: '+15557654321' });
    await t.admin.createStaff({ email: 'nurse@s.example', role: 'nurse', organizationId: 'org-s' });
    nurse = await t.admin.login('nurse@s.example');
    await t.admin.createPatient('ps-1', { organizationId: 'org-s' });
    gluco = await t.admin.createDevice({ id: 'gluco-s', kind: 'glucometer', patientId: 'ps-1' });
    expect((await request(`${t.baseUrl}/v1/patients/ps-1/care-plan`, { token: nurse, method: 'PUT', json: { programs: ['general', 'diabetes'] } })).status).toBe(200);
  });
  afterAll(async () => {
    await t.close();
    await twilio.close();
  });

  const post = async (value: number, minutesAgo: number): Promise<void> => {
    expect((await request(`${t.baseUrl}/v1/readings`, { token: gluco, json: { readings: [{ kind: 'blood-glucose', value, unit: 'mg/dL', measuredAt: isoMinutesAgo(minutesAgo) }] } })).status).toBe(202);
    await t.gw.ctx.alerting!.drain();
  };
  const raise = async (value: number, minutesAgo: number): Promise<{ id: string; severity: string; version: number }> => {
    await post(value, minutesAgo);
    const list = (await request(`${t.baseUrl}/v1/worklist`, { token: nurse })).body;
    return list.patients[0].alerts[0];
  };

  it('does nothing before the SLA, escalates once past it with an SMS that carries no PHI, and again one SLA later', async () => {
    const alert = await raise(48, 2);
    expect(alert.severity).toBe('critical');
    now += 14 * 60_000;
    expect(await t.gw.ctx.escalator!.runOnce()).toBe(0);
    expect(twilio.messages).toHaveLength(0);

    now += 2 * 60_000;
    expect(await t.gw.ctx.escalator!.runOnce()).toBe(1);
    expect(twilio.messages).toHaveLength(1);
    const sms = twilio.messages[0]!;
    expect(sms.get('To')).toBe('+15557654321');
    expect(sms.get('From')).toBe('+15550001111');
    expect(sms.get('Body')).toMatch(/critical alert has waited past its 15-minute target/);
    expect(sms.get('Body')).not.toMatch(/ps-1|gluco|48|glucose/i);
    expect(twilio.auth[0]).toBe(`Basic ${Buffer.from('AC0123456789abcdef0123456789abcdef:secret-token').toString('base64')}`);

    // The same sweep again sends nothing twice.
    expect(await t.gw.ctx.escalator!.runOnce()).toBe(0);
    expect(twilio.messages).toHaveLength(1);
    const escalated = (await request(`${t.baseUrl}/v1/alerts/${alert.id}`, { token: nurse })).body;
    expect(escalated).toMatchObject({ escalationLevel: 1 });
    expect(escalated.history.at(-1)).toMatchObject({ action: 'escalate', actor: 'system:sla' });

    now += 16 * 60_000;
    expect(await t.gw.ctx.escalator!.runOnce()).toBe(1);
    expect(twilio.messages).toHaveLength(2);
    expect((await request(`${t.baseUrl}/v1/alerts/${alert.id}`, { token: nurse })).body.escalationLevel).toBe(2);
  });

  it('stops escalating once a nurse acknowledges', async () => {
    const alert = (await request(`${t.baseUrl}/v1/worklist`, { token: nurse })).body.patients[0].alerts[0];
    expect((await request(`${t.baseUrl}/v1/alerts/${alert.id}/acknowledge`, { token: nurse, method: 'POST', json: {} })).status).toBe(200);
    const before = twilio.messages.length;
    now += 60 * 60_000;
    expect(await t.gw.ctx.escalator!.runOnce()).toBe(0);
    expect(twilio.messages).toHaveLength(before);
  });

  it('retries an SMS the provider refused, without escalating twice', async () => {
    const resolved = (await request(`${t.baseUrl}/v1/worklist`, { token: nurse })).body.patients[0].alerts[0];
    await request(`${t.baseUrl}/v1/alerts/${resolved.id}/resolve`, { token: nurse, method: 'POST', json: { outcome: 'treated-at-home' } });
    // Back in range ends the episode; the next low raises a new alert.
    await post(120, 1.5);
    expect((await request(`${t.baseUrl}/v1/worklist`, { token: nurse })).body.patients).toEqual([]);
    const alert = await raise(52, 1);
    expect(alert.severity).toBe('critical');
    twilio.failNext.n = 1;
    now += 16 * 60_000;
    const before = twilio.messages.length;
    expect(await t.gw.ctx.escalator!.runOnce()).toBe(1);
    expect(twilio.messages).toHaveLength(before);
    expect(await t.gw.ctx.escalator!.runOnce()).toBe(0);
    expect(twilio.messages).toHaveLength(before + 1);
  });

  it('counts priority waiting against the SLA, so an overdue alert outranks a fresh one of the same severity', async () => {
    const list = (await request(`${t.baseUrl}/v1/worklist`, { token: nurse })).body;
    const a = list.patients[0].alerts[0];
    // critical 1000 + waited past SLA: 200 + overdue 200 (+ risk tier 1: 0)
    expect(a.priority).toBeGreaterThanOrEqual(1400);
  });
});
