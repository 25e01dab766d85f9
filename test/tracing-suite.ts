import { rmSync } from 'node:fs';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/load-config.js';
import { createLogger } from '../core/logging.js';
import { ManualClock } from './helpers/clock.js';
import { eventually, FAST_FORWARDING_ENV, destinationStatus } from './fhir/gateway-env.js';
import { FhirTestServer } from './fhir-server/fhir-test-server.js';
import { ADMIN_TOKEN, AdminClient, request, tempDir, type TestGateway } from './helpers/gateway.js';
import { type RunningGateway, startGateway } from '../gateway/start.js';
import { startTracing, type Tracing } from '../connectors/telemetry/otel-sdk.js';

/**
 * One reading from HTTP and one from MQTT, each followed as one trace with an in-memory exporter:
 * the server span, device authentication, normalization and the durable commit; then, after the
 * commit and asynchronously, the verdict of the rules pass on that reading, the alert it raised,
 * the SSE push, the FHIR delivery and (minutes later) the escalation SMS. The rules pass and the
 * FHIR exchange are root spans of their own, linked to the requests they served. Log lines of the
 * work carry its trace and span ids; no attribute names the patient.
 */

const PATIENT = 'p-traced-7f3a';

/** The suite, with the rules engine on the main event loop or in its own thread (RPM_RULES_THREAD). */
export function describeTracing(options: { readonly rulesThread: boolean }): void {
  describe(`tracing: the span tree of one reading (rules ${options.rulesThread ? 'in their own thread' : 'on the main event loop'})`, () => {
    const exporter = new InMemorySpanExporter();
    const clock = new ManualClock(Math.floor(Date.now() / 1000) * 1000);
    const lines: Record<string, unknown>[] = [];
    let tracing: Tracing;
    let server: FhirTestServer;
    let gw: RunningGateway;
    let t: Pick<TestGateway, 'baseUrl' | 'admin'>;
    let dataDir: string;
    let cuff: string;
    let oximeter: string;

    beforeAll(async () => {
      tracing = startTracing({ exporter, synchronous: true });
      server = await FhirTestServer.start();
      dataDir = tempDir('rpm-trace-');
      const config = loadConfig({
        ...FAST_FORWARDING_ENV,
        RPM_DATA_DIR: dataDir,
        RPM_HTTP_HOST: '127.0.0.1',
        RPM_HTTP_PORT: '0',
        RPM_MQTT_HOST: '127.0.0.1',
        RPM_MQTT_PORT: '0',
        RPM_ADMIN_TOKEN: ADMIN_TOKEN,
        RPM_LOG_LEVEL: 'info',
        RPM_RULES_THREAD: String(options.rulesThread),
      });
      gw = await startGateway(config, { clock, log: createLogger('info', { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) }) });
      const baseUrl = `http://127.0.0.1:${gw.httpPort}`;
      t = { baseUrl, admin: new AdminClient(baseUrl) };
      await t.admin.createOrganization('org-t');
      await t.admin.createStaff({ email: 'cn@t.example', role: 'nurse', organizationId: 'org-t', isChargeNurse: true, phone: '+15550009999' });
      await t.admin.createPatient(PATIENT, { organizationId: 'org-t' });
      cuff = await t.admin.createDevice({ id: 'cuff-t', kind: 'bp-cuff', patientId: PATIENT });
      oximeter = await t.admin.createDevice({ id: 'ox-t', kind: 'pulse-oximeter', patientId: PATIENT });
      expect((await t.admin.post('/v1/admin/fhir/destinations', { id: 'ehr-t', organizationId: 'org-t', baseUrl: server.baseUrl, auth: { type: 'none' } })).status).toBe(201);
    });
    afterAll(async () => {
      await gw?.close();
      await server?.close();
      await tracing?.shutdown();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
    const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;
    const inTrace = (traceId: string): ReadableSpan[] => spans().filter((s) => s.spanContext().traceId === traceId);
    const one = (list: ReadableSpan[], name: string): ReadableSpan => {
      const found = list.filter((s) => s.name === name);
      expect(found.map((s) => s.name), `exactly one ${name} in ${list.map((s) => s.name).join(', ')}`).toEqual([name]);
      return found[0] as ReadableSpan;
    };
    const idOf = (s: ReadableSpan): string => s.spanContext().spanId;

    /** The asynchronous part: judge → alert raise → SSE push, FHIR delivery, all in the request's trace. */
    async function followsAfterCommit(traceId: string, commit: ReadableSpan, alertRule: string): Promise<void> {
      await gw.ctx.alerting!.drain();
      await eventually('the FHIR delivery', async () => ((await destinationStatus(t as TestGateway, 'ehr-t')).deliveries.pending === 0 && inTrace(traceId).some((s) => s.name === 'rpm.fhir.deliver') ? true : undefined));
      const all = inTrace(traceId);
      const judge = one(all, 'rpm.rules.judge');
      expect(parentOf(judge)).toBe(idOf(commit));
      const pass = spans().find((s) => s.name === 'rpm.rules.pass' && judge.links.some((l) => l.context.spanId === idOf(s)));
      expect(pass, 'the rules pass the verdict links to').toBeDefined();
      expect(pass?.links.map((l) => l.context.spanId)).toContain(idOf(commit));
      const raise = one(all, 'rpm.alert.raise');
      expect(parentOf(raise)).toBe(idOf(judge));
      expect(raise.attributes['rpm.rule.id']).toBe(alertRule);
      const push = one(all, 'rpm.sse.push');
      expect(parentOf(push)).toBe(idOf(raise));
      const deliver = one(all, 'rpm.fhir.deliver');
      expect(parentOf(deliver)).toBe(idOf(commit));
      expect(deliver.attributes['rpm.delivery.status']).toBe('delivered');
      const exchange = spans().find((s) => s.name === 'rpm.fhir.exchange' && deliver.links.some((l) => l.context.spanId === idOf(s)));
      expect(exchange?.links.map((l) => l.context.spanId)).toContain(idOf(commit));
      // The log line of the alert names this trace.
      expect(lines.find((l) => l.msg === 'alert raised' && l.ruleId === alertRule)).toMatchObject({ trace_id: traceId, span_id: idOf(raise), ...(options.rulesThread ? { thread: 'rules' } : {}) });
    }

    it('follows a reading posted over HTTP from the request to its alert, SSE push, FHIR delivery and escalation SMS', async () => {
      const measuredAt = new Date(clock.now() - 60_000).toISOString();
      const res = await request(`${t.baseUrl}/v1/readings`, { token: cuff, json: { readings: [{ kind: 'blood-pressure', systolic: 84, diastolic: 52, unit: 'mmHg', measuredAt }] } });
      expect(res.status).toBe(202);
      const root = spans().find((s) => s.name === 'POST /v1/readings');
      expect(root).toBeDefined();
      const traceId = (root as ReadableSpan).spanContext().traceId;
      expect(root?.attributes).toMatchObject({ 'http.route': '/v1/readings', 'http.response.status_code': 202 });
      expect(parentOf(root as ReadableSpan)).toBeUndefined();
      const sync = inTrace(traceId);
      const auth = one(sync, 'rpm.auth.device');
      expect(auth.attributes['rpm.device.id']).toBe('cuff-t');
      const normalize = one(sync, 'rpm.normalize');
      const commit = one(sync, 'rpm.commit');
      for (const s of [auth, normalize, commit]) expect(parentOf(s)).toBe(idOf(root as ReadableSpan));
      expect(commit.attributes['rpm.readings']).toBe(1);

      await followsAfterCommit(traceId, commit, 'bp-low');

      // Past the high alert's 60-minute target: the escalation SMS joins the same trace.
      clock.advance(61 * 60_000);
      expect(await gw.ctx.escalator!.runOnce()).toBeGreaterThanOrEqual(1);
      const sms = one(inTrace(traceId), 'rpm.sms.send');
      expect(parentOf(sms)).toBe(idOf(one(inTrace(traceId), 'rpm.alert.raise')));
      expect(sms.attributes['rpm.notification.outcome']).toBe('sent');
    });

    it('follows a reading published over MQTT the same way', async () => {
      const client = await new Promise<mqtt.MqttClient>((resolve, reject) => {
        const c = mqtt.connect(`mqtt://127.0.0.1:${gw.mqttPort}`, { username: 'ox-t', password: oximeter, clientId: 'ox-t-1', reconnectPeriod: 0 });
        c.once('connect', () => resolve(c));
        c.once('error', reject);
      });
      try {
        const measuredAt = new Date(clock.now() - 30_000).toISOString();
        await client.publishAsync('devices/ox-t/readings', JSON.stringify({ readings: [{ kind: 'spo2', value: 89, unit: '%', measuredAt }] }), { qos: 1 });
      } finally {
        client.end(true);
      }
      const root = spans().find((s) => s.name === 'MQTT PUBLISH devices/{id}/readings');
      expect(root?.attributes).toMatchObject({ 'messaging.system': 'mqtt', 'rpm.device.id': 'ox-t', 'mqtt.qos': 1 });
      const traceId = (root as ReadableSpan).spanContext().traceId;
      const sync = inTrace(traceId);
      const auth = one(sync, 'rpm.auth.publish');
      const normalize = one(sync, 'rpm.normalize');
      const commit = one(sync, 'rpm.commit');
      for (const s of [auth, normalize, commit]) expect(parentOf(s)).toBe(idOf(root as ReadableSpan));
      await followsAfterCommit(traceId, commit, 'spo2-low');
    });

    it('puts trace and span ids on the log lines of traced work, and no patient id in any span', () => {
      const traced = lines.filter((l) => typeof l.trace_id === 'string');
      expect(traced.length).toBeGreaterThan(0);
      for (const l of traced) expect(l.trace_id).toMatch(/^[0-9a-f]{32}$/);
      for (const s of spans()) {
        expect(s.name).not.toContain(PATIENT);
        for (const v of Object.values(s.attributes)) expect(String(v)).not.toContain(PATIENT);
      }
    });
  });
}
