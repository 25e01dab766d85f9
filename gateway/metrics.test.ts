import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FhirTestServer } from '../test/fhir-server/fhir-test-server.js';
import { destinationStatus, eventually, FAST_FORWARDING_ENV } from '../test/fhir/gateway-env.js';
import { isoMinutesAgo, request, startTestGateway, type TestGateway } from '../test/helpers/gateway.js';

/** The value of one sample line (`name{labels} value`), or undefined when it is not exported. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = m[2] === undefined ? [] : m[2].split(',');
    if (want.every((w) => have.includes(w)) && have.length === want.length) return Number(m[3]);
  }
  return undefined;
}

describe('GET /metrics (Prometheus)', () => {
  let t: TestGateway;
  let secret: string;
  let nurse: string;
  const scrape = async (): Promise<string> => {
    const res = await fetch(`${t.baseUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  beforeAll(async () => {
    t = await startTestGateway();
    await t.admin.createOrganization('org-a');
    await t.admin.createStaff({ email: 'ann@a.example', role: 'nurse', organizationId: 'org-a' });
    nurse = await t.admin.login('ann@a.example');
    await t.admin.createPatient('patient-secret-id', { organizationId: 'org-a' });
    secret = await t.admin.createDevice({ id: 'device-secret-id', kind: 'bp-cuff', patientId: 'patient-secret-id' });
    await request(`${t.baseUrl}/v1/patients/patient-secret-id/care-plan`, { token: nurse, method: 'PUT', json: { programs: ['general', 'hypertension'] } });
  });
  afterAll(async () => t.close());

  it('counts readings by transport and outcome, and commit groups with their latency', async () => {
    // One device measures one kind once per instant: distinct readings need distinct times.
    const at = new Map([5, 6, 7, 8].map((m) => [m, isoMinutesAgo(m)]));
    const bp = (systolic: number, id: string, minutesAgo: number) => ({ id, kind: 'blood-pressure', systolic, diastolic: 80, unit: 'mmHg', measuredAt: at.get(minutesAgo) });
    await request(`${t.baseUrl}/v1/readings`, { token: secret, json: { readings: [bp(120, 'r1', 5), bp(121, 'r2', 6), bp(999, 'r3', 7)] } });
    await request(`${t.baseUrl}/v1/readings`, { token: secret, json: { readings: [bp(120, 'r1', 5)] } });
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${t.mqttPort}`, { username: 'device-secret-id', password: secret, protocolVersion: 4, reconnectPeriod: 0 });
    try {
      await client.publishAsync('devices/device-secret-id/readings', JSON.stringify({ readings: [bp(122, 'm1', 8)] }), { qos: 1 });
      const during = await scrape();
      expect(sample(during, 'rpm_mqtt_clients')).toBe(1);
    } finally {
      await client.endAsync();
    }
    const text = await scrape();
    expect(sample(text, 'rpm_readings_total', { transport: 'http', outcome: 'accepted' })).toBe(2);
    expect(sample(text, 'rpm_readings_total', { transport: 'http', outcome: 'duplicate' })).toBe(1);
    expect(sample(text, 'rpm_readings_total', { transport: 'http', outcome: 'rejected' })).toBe(1);
    expect(sample(text, 'rpm_readings_total', { transport: 'mqtt', outcome: 'accepted' })).toBe(1);
    expect(sample(text, 'rpm_commit_group_rows_count')).toBe(3);
    expect(sample(text, 'rpm_commit_group_rows_sum')).toBe(5);
    expect(sample(text, 'rpm_commit_group_submissions_sum')).toBe(3);
    expect(sample(text, 'rpm_commit_duration_seconds_count')).toBe(3);
    expect(sample(text, 'rpm_commit_pending_rows')).toBe(0);
    expect(sample(text, 'rpm_commit_pending_rows_limit')).toBe(t.gw.ctx.config.commit.maxPending);
    expect(sample(text, 'rpm_commit_failures_total')).toBe(0);
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('measures rule latency from a reading to its alert, and the rules backlog', async () => {
    await request(`${t.baseUrl}/v1/readings`, { token: secret, json: { readings: [{ kind: 'blood-pressure', systolic: 188, diastolic: 101, unit: 'mmHg', measuredAt: isoMinutesAgo(1) }] } });
    await t.gw.ctx.alerting!.drain();
    let text = await scrape();
    expect(sample(text, 'rpm_alert_latency_seconds_count', { change: 'created' })).toBe(1);
    expect(sample(text, 'rpm_alerts_raised_total', { severity: 'high' })).toBe(1);
    // Every newly stored reading (3 earlier, 1 now; duplicates and rejections are not in the log).
    expect(sample(text, 'rpm_rule_evaluation_lag_seconds_count')).toBe(4);
    expect(sample(text, 'rpm_rule_evaluation_lag_seconds_sum')).toBeLessThan(10);
    expect(sample(text, 'rpm_rule_backlog_readings')).toBe(0);
    expect(sample(text, 'rpm_notification_outbox_pending')).toBe(0);

    // With the engine stopped, committed readings wait behind its cursor.
    await t.gw.ctx.alerting!.stop();
    await request(`${t.baseUrl}/v1/readings`, { token: secret, json: { readings: [1, 2, 3].map((i) => ({ kind: 'heart-rate', value: 70 + i, unit: '/min', measuredAt: isoMinutesAgo(i) })) } });
    text = await scrape();
    expect(sample(text, 'rpm_rule_backlog_readings')).toBe(3);
  });

  it('reports the event-loop delay over the last minute: p99 and the longest stall', async () => {
    // The test shares the gateway's event loop: hold it for 300 ms, as a long synchronous section would.
    const until = performance.now() + 300;
    while (performance.now() < until) {
      // busy: nothing else runs meanwhile
    }
    const text = await scrape();
    expect(sample(text, 'rpm_event_loop_delay_max_seconds')).toBeGreaterThanOrEqual(0.25);
    const p99 = sample(text, 'rpm_event_loop_delay_p99_seconds');
    expect(p99).toBeGreaterThanOrEqual(0);
    expect(p99).toBeLessThanOrEqual(sample(text, 'rpm_event_loop_delay_max_seconds') as number);
    // Still there at the next scrape: a stall stays visible for a minute, whoever scraped first.
    expect(sample(await scrape(), 'rpm_event_loop_delay_max_seconds')).toBeGreaterThanOrEqual(0.25);
  });

  it('reports the reading history the rules engine holds, within its budget, and the commit queue’s waiting and shed submissions', async () => {
    const text = await scrape();
    const held = sample(text, 'rpm_rules_history_observations');
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(t.gw.ctx.config.rules.history.total);
    expect(sample(text, 'rpm_commit_waiting_submissions')).toBe(0);
    expect(sample(text, 'rpm_commit_shed_total')).toBe(0);
    expect(sample(text, 'rpm_mqtt_publishes_rate_limited_total')).toBe(0);
  });

  it('counts open worklist streams', async () => {
    const controller = new AbortController();
    const res = await fetch(`${t.baseUrl}/v1/worklist/stream`, { headers: { authorization: `Bearer ${nurse}` }, signal: controller.signal });
    expect(res.status).toBe(200);
    expect(sample(await scrape(), 'rpm_sse_subscribers')).toBe(1);
    controller.abort();
    await expect.poll(async () => sample(await scrape(), 'rpm_sse_subscribers')).toBe(0);
  });

  it('carries no patient, device or staff identifiers', async () => {
    const text = await scrape();
    expect(text).not.toContain('patient-secret-id');
    expect(text).not.toContain('device-secret-id');
    // No label names a patient, device or staff member (route labels are patterns: /v1/patients/:id/readings).
    expect(text).not.toMatch(/[{,](patient|patient_id|patientId|device|device_id|deviceId|staff|staff_id|staffId)=/i);
    for (const route of text.matchAll(/route="([^"]*)"/g)) expect(route[1]).not.toMatch(/secret-id/);
  });
});

describe('GET /metrics: the FHIR delivery backlog', () => {
  let t: TestGateway;
  let server: FhirTestServer;
  beforeAll(async () => {
    server = await FhirTestServer.start();
    t = await startTestGateway(FAST_FORWARDING_ENV);
  });
  afterAll(async () => {
    await t.close();
    await server.close();
  });

  it('reports deliveries waiting (pending or failed) and dead letters, as the operator API counts them', async () => {
    const scrape = async (): Promise<string> => (await fetch(`${t.baseUrl}/metrics`)).text();
    // The series exist before any destination does, so the Grafana panels show 0, not "no data".
    const empty = await scrape();
    expect(sample(empty, 'rpm_delivery_backlog', { queue: 'fhir' })).toBe(0);
    expect(sample(empty, 'rpm_delivery_dead_letters', { queue: 'fhir' })).toBe(0);

    await t.admin.createOrganization('org-f');
    await t.admin.createPatient('p-f', { organizationId: 'org-f' });
    const secret = await t.admin.createDevice({ id: 'hrm-f', kind: 'heart-rate-monitor', patientId: 'p-f' });
    expect((await t.admin.post('/v1/admin/fhir/destinations', { id: 'ehr', organizationId: 'org-f', baseUrl: server.baseUrl, auth: { type: 'none' }, batchSize: 1 })).status).toBe(201);
    const post = async (kind: string, value: number, unit: string, n: number): Promise<void> => {
      const readings = Array.from({ length: n }, (_, i) => ({ kind, value: value + i, unit, measuredAt: isoMinutesAgo(30 - i) }));
      expect((await request(`${t.baseUrl}/v1/readings`, { token: secret, json: { readings } })).status).toBe(202);
    };

    // The EHR refuses temperatures as invalid: two dead letters.
    server.refuse((r) => (r.resourceType === 'Observation' && JSON.stringify(r).includes('"8310-5"') ? 'no temperatures here' : undefined));
    await post('body-temperature', 37, 'Cel', 2);
    await eventually('two dead letters', async () => ((await destinationStatus(t, 'ehr')).deliveries.dead === 2 ? true : undefined));
    // Then the EHR goes down: three heart rates wait for it.
    await server.down();
    await post('heart-rate', 70, 'bpm', 3);
    const status = await eventually('three waiting', async () => {
      const s = await destinationStatus(t, 'ehr');
      return s.deliveries.pending + s.deliveries.failed === 3 ? s : undefined;
    });
    expect(status.deliveries.delivered).toBe(0);

    const text = await scrape();
    expect(sample(text, 'rpm_delivery_backlog', { queue: 'fhir' })).toBe(3);
    expect(sample(text, 'rpm_delivery_dead_letters', { queue: 'fhir' })).toBe(2);

    // The same per destination, with how long the oldest has waited and the circuit breaker.
    const ehr = { destination: 'ehr' };
    expect(sample(text, 'rpm_fhir_destination_backlog', ehr)).toBe(3);
    expect(sample(text, 'rpm_fhir_destination_dead_letters', ehr)).toBe(2);
    expect(sample(text, 'rpm_fhir_destination_oldest_waiting_seconds', ehr)).toBeGreaterThan(0);
    expect(sample(text, 'rpm_fhir_destination_paused', ehr)).toBe(0);
    const open = await eventually('the circuit to open', async () => {
      const now = await scrape();
      return sample(now, 'rpm_fhir_destination_circuit_state', ehr) === 2 ? now : undefined;
    });
    expect(sample(open, 'rpm_fhir_destination_backlog', ehr)).toBe(3);
    // Paused: still counted, no circuit.
    await t.admin.post('/v1/admin/fhir/destinations/ehr/pause', {});
    const paused = await scrape();
    expect(sample(paused, 'rpm_fhir_destination_paused', ehr)).toBe(1);
    expect(sample(paused, 'rpm_fhir_destination_circuit_state', ehr)).toBeUndefined();
    expect(sample(paused, 'rpm_fhir_destination_backlog', ehr)).toBe(3);
  });
});
