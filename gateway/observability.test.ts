import { rmSync } from 'node:fs';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/load-config.js';
import { createLogger } from '../core/logging.js';
import { UNDELIVERABLE_MESSAGE } from '../pipeline/worklist/sla-escalator.js';
import { ManualClock } from '../test/helpers/clock.js';
import { ADMIN_TOKEN, AdminClient, isoMinutesAgo, request, tempDir } from '../test/helpers/gateway.js';
import { type RunningGateway, startGateway } from './start.js';

/**
 * What an on-call engineer reads: one log line per refusal (method, route pattern, status, code,
 * client), alerts, escalations and SMS, device sessions and logins; the metrics that count the
 * same; and an escalation that reaches nobody made loud (log, metric, the dashboard's API).
 */

type LogLine = Record<string, unknown> & { msg: string; level: number };

async function observedGateway(env: Record<string, string>, clock?: ManualClock) {
  const lines: LogLine[] = [];
  const dataDir = tempDir('rpm-obs-');
  const config = loadConfig({
    RPM_DATA_DIR: dataDir,
    RPM_HTTP_HOST: '127.0.0.1',
    RPM_HTTP_PORT: '0',
    RPM_MQTT_HOST: '127.0.0.1',
    RPM_MQTT_PORT: '0',
    RPM_ADMIN_TOKEN: ADMIN_TOKEN,
    RPM_LOG_LEVEL: 'info',
    ...env,
  });
  const log = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  const gw: RunningGateway = await startGateway(config, { log, ...(clock === undefined ? {} : { clock }) });
  const baseUrl = `http://127.0.0.1:${gw.httpPort}`;
  return {
    gw,
    baseUrl,
    lines,
    admin: new AdminClient(baseUrl),
    raw: () => lines.map((l) => JSON.stringify(l)).join('\n'),
    metrics: async () => (await fetch(`${baseUrl}/metrics`)).text(),
    async close() {
      await gw.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The value of one series in the Prometheus text output (undefined when absent). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('refusals, logins, configuration and device sessions in the log and on /metrics', () => {
  let t: Awaited<ReturnType<typeof observedGateway>>;
  let secret: string;

  beforeAll(async () => {
    t = await observedGateway({ RPM_COMMIT_MAX_PENDING: '1', RPM_MAX_READINGS_PER_REQUEST: '1', RPM_COMMIT_LINGER_MS: '300' });
    await t.admin.createOrganization('org-o');
    await t.admin.createPatient('p-obs', { organizationId: 'org-o' });
    secret = await t.admin.createDevice({ id: 'hr-obs', kind: 'heart-rate-monitor', patientId: 'p-obs' });
  });
  afterAll(async () => t?.close());

  it('logs the configuration at start without a secret', () => {
    const line = t.lines.find((l) => l.msg === 'configuration');
    expect(line).toMatchObject({ config: { http: { host: '127.0.0.1' }, store: { kind: 'sqlite' }, adminTokenSource: 'set' } });
    expect(t.raw()).not.toContain(ADMIN_TOKEN);
  });

  it('logs each refusal once with method, route pattern, status, code and client, never the URL or the credential', async () => {
    const wrong = await request(`${t.baseUrl}/v1/readings`, { token: 'rpmd_wrong-secret-value', json: { readings: [] } });
    expect(wrong.status).toBe(401);
    const missing = await request(`${t.baseUrl}/v1/patients/p-nobody-here/readings`, { token: ADMIN_TOKEN });
    expect(missing.status).toBe(404);
    const refusals = t.lines.filter((l) => l.msg === 'request refused');
    expect(refusals).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ method: 'POST', route: '/v1/readings', status: 401, code: 'RPM_ERR_AUTH_INVALID', client: '127.0.0.1' }),
        expect.objectContaining({ method: 'GET', route: '/v1/patients/:id/readings', status: 404, code: 'RPM_ERR_PATIENT_NOT_FOUND', client: '127.0.0.1' }),
      ]),
    );
    expect(t.raw()).not.toContain('rpmd_wrong-secret-value');
    expect(t.raw()).not.toContain('p-nobody-here');
  });

  it('counts every answer by route pattern and status with latency, the 503 RPM_ERR_OVERLOADED sheds included', async () => {
    const send = (m: number) => request(`${t.baseUrl}/v1/readings`, { token: secret, json: { readings: [{ kind: 'heart-rate', value: 70, unit: '/min', measuredAt: isoMinutesAgo(m) }] } });
    const first = send(1);
    while (t.gw.ctx.committer.pending === 0) await new Promise((r) => setTimeout(r, 2));
    const shed = await send(2);
    expect(shed.status).toBe(503);
    expect((await first).status).toBe(202);
    const text = await t.metrics();
    expect(sample(text, 'rpm_http_requests_total{method="POST",route="/v1/readings",status="503"}')).toBe(1);
    expect(sample(text, 'rpm_http_requests_total{method="POST",route="/v1/readings",status="202"}')).toBe(1);
    expect(sample(text, 'rpm_http_requests_total{method="POST",route="/v1/readings",status="401"}')).toBe(1);
    expect(sample(text, 'rpm_http_request_duration_seconds_count{method="POST",route="/v1/readings",status_class="5xx"}')).toBe(1);
    expect(t.lines).toEqual(expect.arrayContaining([expect.objectContaining({ msg: 'request refused', status: 503, code: 'RPM_ERR_OVERLOADED', route: '/v1/readings' })]));
  });

  it('logs logins by staff id (never the email) and counts them', async () => {
    const staff = await t.admin.createStaff({ email: 'olga@o.example', role: 'nurse', organizationId: 'org-o' });
    await t.admin.login('olga@o.example');
    const bad = await request(`${t.baseUrl}/v1/auth/login`, { json: { email: 'olga@o.example', password: 'not her passphrase' } });
    expect(bad.status).toBe(401);
    expect(t.lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ msg: 'login', staffId: staff.id, organizationId: 'org-o' }),
        expect.objectContaining({ msg: 'login failed', staffId: staff.id, reason: expect.any(String) }),
      ]),
    );
    expect(t.raw()).not.toContain('olga@o.example');
    const text = await t.metrics();
    expect(sample(text, 'rpm_staff_logins_total{outcome="success"}')).toBe(1);
    expect(sample(text, 'rpm_staff_logins_total{outcome="failure"}')).toBe(1);
    expect(sample(text, 'rpm_staff_sessions')).toBe(1);
  });

  it('logs device connects, disconnects and a session takeover, and counts them', async () => {
    const url = `mqtt://127.0.0.1:${t.gw.mqttPort}`;
    const connect = (): Promise<mqtt.MqttClient> =>
      new Promise((resolve, reject) => {
        const c = mqtt.connect(url, { username: 'hr-obs', password: secret, clientId: 'hr-obs-1', reconnectPeriod: 0, clean: true });
        c.once('connect', () => resolve(c));
        c.once('error', reject);
      });
    const first = await connect();
    await until(() => t.lines.some((l) => l.msg === 'device connected'), 'connect line');
    const second = await connect();
    await until(() => t.lines.some((l) => l.msg.startsWith('device session taken over')), 'takeover line');
    await new Promise<void>((r) => second.end(false, {}, () => r()));
    first.end(true);
    await until(() => t.lines.some((l) => l.msg === 'device disconnected'), 'disconnect line');
    expect(t.lines.filter((l) => l.msg === 'device connected').map((l) => l.deviceId)).toEqual(['hr-obs', 'hr-obs']);
    const text = await t.metrics();
    expect(sample(text, 'rpm_mqtt_session_events_total{event="connected"}')).toBe(2);
    expect(sample(text, 'rpm_mqtt_session_events_total{event="taken-over"}')).toBe(1);
    expect(sample(text, 'rpm_mqtt_session_events_total{event="disconnected"}')).toBe(2);
  });
});

describe('an escalation that reaches nobody is loud', () => {
  const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000);
  let t: Awaited<ReturnType<typeof observedGateway>>;
  let cuff: string;

  beforeAll(async () => {
    t = await observedGateway({}, clock);
    await t.admin.createOrganization('org-e');
    // The only charge nurse has no phone.
    await t.admin.createStaff({ email: 'cara@e.example', role: 'nurse', organizationId: 'org-e', isChargeNurse: true });
    await t.admin.createStaff({ email: 'nina@e.example', role: 'nurse', organizationId: 'org-e' });
    await t.admin.createPatient('p-esc', { organizationId: 'org-e' });
    cuff = await t.admin.createDevice({ id: 'cuff-esc', kind: 'bp-cuff', patientId: 'p-esc' });
  });
  afterAll(async () => t?.close());

  const reach = async (email: string) => request(`${t.baseUrl}/v1/escalations/reach`, { token: await t.admin.login(email) });

  it('tells charge nurses and admins, not other nurses, that escalations reach nobody', async () => {
    const charge = await reach('cara@e.example');
    expect(charge.status).toBe(200);
    expect(charge.body).toEqual({ deliverable: false, reason: 'no-phone', message: UNDELIVERABLE_MESSAGE });
    expect((await reach('nina@e.example')).status).toBe(403);
  });

  it('logs the alert, its escalation and the undeliverable warning, and counts them', async () => {
    const measuredAt = new Date(clock.now() - 60_000).toISOString();
    const res = await request(`${t.baseUrl}/v1/readings`, { token: cuff, json: { readings: [{ kind: 'blood-pressure', systolic: 82, diastolic: 50, unit: 'mmHg', measuredAt }] } });
    expect(res.status).toBe(202);
    await t.gw.ctx.alerting!.drain();
    expect(t.lines).toEqual(expect.arrayContaining([expect.objectContaining({ msg: 'alert raised', ruleId: 'bp-low', severity: 'high', organizationId: 'org-e' })]));
    let text = await t.metrics();
    expect(sample(text, 'rpm_alerts_open{severity="high",status="open"}')).toBe(1);

    clock.advance(61 * 60_000); // past the 60-minute target of a high alert
    expect(await t.gw.ctx.escalator!.runOnce()).toBe(1);
    const warning = t.lines.find((l) => l.msg === UNDELIVERABLE_MESSAGE);
    expect(warning).toMatchObject({ level: 40, organizationId: 'org-e', reason: 'no-phone', escalationLevel: 1 });
    expect(t.lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ msg: 'alert escalated: unacknowledged past its target', severity: 'high', escalationLevel: 1 }),
        expect.objectContaining({ msg: 'SMS escalation failed: the recipient has no phone number', channel: 'sms', reason: 'no-phone' }),
      ]),
    );
    text = await t.metrics();
    expect(sample(text, 'rpm_escalations_undeliverable_total{reason="no-phone"}')).toBe(1);
    expect(sample(text, 'rpm_escalations_total{level="1",severity="high"}')).toBe(1);
    expect(sample(text, 'rpm_notifications_total{channel="sms",outcome="failed",reason="no-phone"}')).toBe(1);
  });

  it('goes quiet once a charge nurse has a phone, and the SMS is sent and counted', async () => {
    await t.admin.createStaff({ email: 'carl@e.example', role: 'nurse', organizationId: 'org-e', isChargeNurse: true, phone: '+15551230000' });
    expect((await reach('carl@e.example')).body).toEqual({ deliverable: true, reason: null, message: null });
    clock.advance(61 * 60_000);
    expect(await t.gw.ctx.escalator!.runOnce()).toBe(1);
    const text = await t.metrics();
    expect(sample(text, 'rpm_notifications_total{channel="sms",outcome="sent",reason="ok"}')).toBe(1);
    expect(sample(text, 'rpm_escalations_total{level="2",severity="high"}')).toBe(1);
    expect(sample(text, 'rpm_escalations_undeliverable_total{reason="no-phone"}')).toBe(1);
    expect(t.lines).toEqual(expect.arrayContaining([expect.objectContaining({ msg: 'SMS escalation sent', channel: 'sms' })]));
    expect(t.raw()).not.toContain('+15551230000');
  });
});
