import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import mqtt from 'mqtt';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FhirTestServer } from './fhir-server/fhir-test-server.js';
import { FAST_FORWARDING_ENV, READING_SYSTEM } from './fhir/gateway-env.js';
import { type ChildGateway, clusterProcess, sleep, waitFor } from './helpers/child-gateway.js';
import { AdminClient, request, STAFF_PASSWORD, tempDir } from './helpers/gateway.js';
import { type OwnPostgres, startOwnPostgres } from './helpers/own-postgres.js';
import { type DeviceCredential, LoadTracker, ReadingSource, runHttpDevice, runMqttDevice } from './helpers/reading-load.js';
import { type OwnRedis, startOwnRedis } from './helpers/redis.js';
import { VictoriaMetrics } from './helpers/victoria-metrics.js';

/*
 * The distributed mode as an operator runs it, on one machine: two gateways (`rpm gateway`) and two
 * workers (`rpm worker`) as separate processes over a PostgreSQL server, a Redis without
 * persistence and a time-series server of their own, forwarding to a FHIR server. Devices post over
 * HTTP and MQTT to both gateways while, one after another: a worker is SIGKILLed, a gateway is
 * SIGKILLed, Redis is killed and comes back empty, PostgreSQL crashes and recovers, the other worker
 * is SIGKILLed. Afterwards: every acknowledged reading is stored once, judged once (no duplicate
 * alert), at the EHR once, and in the time-series store once.
 */

const PARTITIONS = 8;
const PATIENTS = 4;
const PHASE_READINGS = 250;

function sql<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  return client
    .connect()
    .then(() => client.query<T>(text, values))
    .then((r) => r.rows)
    .finally(() => void client.end().catch(() => undefined));
}

describe('distributed mode: 2 gateways + 2 workers over PostgreSQL, Redis and a time-series server', () => {
  let postgres: OwnPostgres;
  let redis: OwnRedis;
  let vm: VictoriaMetrics;
  let ehr: FhirTestServer;
  const dirs: string[] = [];
  const gateways: ChildGateway[] = [];
  const workers: ChildGateway[] = [];
  let stopping = false;
  const load: Promise<void>[] = [];

  const node = (name: string, role: 'gateway' | 'worker'): ChildGateway => {
    const dataDir = tempDir(`rpm-dist-${name}-`);
    dirs.push(dataDir);
    return clusterProcess(name, role, dataDir, {
      RPM_LOG_LEVEL: 'warn',
      RPM_DATABASE_URL: postgres.url,
      RPM_REDIS_URL: redis.url,
      RPM_REDIS_PREFIX: 'dist',
      RPM_SECRET_KEYS: `k1:${KEY}`,
      RPM_TIMESERIES_URL: vm.url,
      RPM_RULES_PARTITIONS: String(PARTITIONS),
      RPM_CLUSTER_ROUND_MS: '500',
      RPM_RATE_LIMIT_PER_DEVICE_PER_MIN: '1000000',
      ...FAST_FORWARDING_ENV,
    });
  };
  const KEY = randomBytes(32).toString('base64');

  beforeAll(async () => {
    [postgres, redis, vm, ehr] = await Promise.all([startOwnPostgres(), startOwnRedis(), VictoriaMetrics.start(), FhirTestServer.start()]);
    gateways.push(node('gw-1', 'gateway'), node('gw-2', 'gateway'));
    workers.push(node('wk-1', 'worker'), node('wk-2', 'worker'));
    // The first gateway migrates the database; the others find it current.
    await gateways[0]?.start();
    await Promise.all([gateways[1]?.start(), ...workers.map((w) => w.start())]);
  }, 180_000);

  afterAll(async () => {
    stopping = true;
    await Promise.race([Promise.allSettled(load), sleep(15_000)]);
    for (const p of [...gateways, ...workers]) await p.dispose();
    await ehr?.close();
    await vm?.stop();
    await redis?.stop();
    postgres?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('loses nothing, stores and judges once, and delivers once across SIGKILLs, an empty Redis and a PostgreSQL crash', async () => {
    const [gw1, gw2] = gateways as [ChildGateway, ChildGateway];
    const [wk1, wk2] = workers as [ChildGateway, ChildGateway];
    const admin = new AdminClient(gw1.baseUrl);
    await admin.createOrganization('org-d');
    await admin.createStaff({ email: 'nurse@org-d.test', role: 'nurse', organizationId: 'org-d', password: STAFF_PASSWORD });
    const nurse = await admin.login('nurse@org-d.test');
    const hr: DeviceCredential[] = [];
    const cuffs: DeviceCredential[] = [];
    for (let i = 0; i < PATIENTS; i++) {
      const patientId = `pd-${i}`;
      await admin.createPatient(patientId, { organizationId: 'org-d' });
      const plan = await request(`${gw1.baseUrl}/v1/patients/${patientId}/care-plan`, { token: nurse, method: 'PUT', json: { programs: ['general', 'hypertension'] } });
      expect(plan.status).toBe(200);
      hr.push({ id: `hr-${i}`, secret: await admin.createDevice({ id: `hr-${i}`, kind: 'heart-rate-monitor', patientId }) });
      cuffs.push({ id: `cuff-${i}`, secret: await admin.createDevice({ id: `cuff-${i}`, kind: 'bp-cuff', patientId }) });
    }
    expect((await admin.post('/v1/admin/fhir/destinations', { id: 'ehr', organizationId: 'org-d', baseUrl: ehr.baseUrl, auth: { type: 'none' } })).status).toBe(201);

    // MQTT across gateways: a command sent through one gateway reaches the device connected to the
    // other, and the same client id connecting to the first takes the session over.
    const probe = { id: 'probe-1', secret: await admin.createDevice({ id: 'probe-1', kind: 'scale' }) };
    const onGw2 = await mqtt.connectAsync(gw2.mqttUrl, { clientId: 'probe-1-c', username: probe.id, password: probe.secret, protocolVersion: 4, reconnectPeriod: 0, clean: false });
    await onGw2.subscribeAsync('devices/probe-1/commands', { qos: 1 });
    const command = new Promise<string>((resolve) => onGw2.once('message', (_t, payload) => resolve(payload.toString())));
    const sent = await admin.post('/v1/admin/devices/probe-1/commands', { command: 'sync-time' });
    expect(sent.status).toBe(202);
    expect(JSON.parse(await command)).toMatchObject({ commandId: sent.body.commandId, command: 'sync-time' });
    const takenOver = new Promise<void>((resolve) => onGw2.once('close', () => resolve()));
    const onGw1 = await mqtt.connectAsync(gw1.mqttUrl, { clientId: 'probe-1-c', username: probe.id, password: probe.secret, protocolVersion: 4, reconnectPeriod: 0, clean: false });
    await takenOver;
    // The session (its subscription) moved with it: the next command arrives on the first gateway.
    const again = new Promise<string>((resolve) => onGw1.once('message', (_t, payload) => resolve(payload.toString())));
    expect((await new AdminClient(gw2.baseUrl).post('/v1/admin/devices/probe-1/commands', { command: 'upload-now' })).status).toBe(202);
    expect(JSON.parse(await again)).toMatchObject({ command: 'upload-now' });
    await onGw1.endAsync();
    onGw2.end(true);

    // Devices spread over both gateways; one that finds its gateway gone goes to the other (a load balancer would).
    const alive = (preferred: ChildGateway, other: ChildGateway): ChildGateway => (preferred.current?.running === true ? preferred : other);
    const tracker = new LoadTracker();
    const stop = (): boolean => stopping;
    hr.forEach((device, i) => {
      const [a, b] = i % 2 === 0 ? [gw1, gw2] : [gw2, gw1];
      if (i < 2) load.push(runHttpDevice({ device, source: new ReadingSource(device.id), tracker, stop, baseUrl: () => alive(a, b).baseUrl }));
      else load.push(runMqttDevice({ device, source: new ReadingSource(device.id), tracker, stop, mqttUrl: () => alive(a, b).mqttUrl, window: 4 }));
    });
    // Blood pressure in a hypertensive crisis, now and then, through alternating gateways: one
    // alert per patient must open and stay one alert whatever dies meanwhile.
    let bpCount = 0;
    const crisis = async (): Promise<void> => {
      while (!stopping) {
        for (const [i, cuff] of cuffs.entries()) {
          const target = (bpCount + i) % 2 === 0 ? alive(gw1, gw2) : alive(gw2, gw1);
          const reading = { id: `bp-${cuff.id}-${bpCount}`, kind: 'blood-pressure', systolic: 186 + (bpCount % 6), diastolic: 96, pulse: 80, unit: 'mm[Hg]', measuredAt: new Date(Date.now() - 1000).toISOString() };
          await fetch(`${target.baseUrl}/v1/readings`, { method: 'POST', headers: { authorization: `Bearer ${cuff.secret}`, 'content-type': 'application/json' }, body: JSON.stringify({ readings: [reading] }), signal: AbortSignal.timeout(5000) })
            .then(async (res) => {
              const body = (await res.json()) as { outcomes?: { status: string }[] };
              if (res.status === 202 && body.outcomes?.[0]?.status !== 'rejected') tracker.acked.set(reading.id, cuff.id);
            })
            .catch(() => undefined);
        }
        bpCount++;
        await sleep(400);
      }
    };
    load.push(crisis());

    const progress = async (what: string): Promise<void> => {
      const target = tracker.acked.size + PHASE_READINGS;
      const http = tracker.ackedBy.http;
      const mqtt = tracker.ackedBy.mqtt;
      await waitFor(() => tracker.acked.size >= target && tracker.ackedBy.http > http && tracker.ackedBy.mqtt > mqtt, 60_000, `${PHASE_READINGS} more acknowledged readings, by HTTP and MQTT, ${what} (have ${tracker.acked.size}, http ${tracker.ackedBy.http}, mqtt ${tracker.ackedBy.mqtt}; ${JSON.stringify(tracker.stats)})\n${[...gateways, ...workers].map((p) => p.current?.tail(15) ?? '').join('\n')}`);
    };
    const phases: string[] = [];
    await progress('before the first failure');

    // 1. A worker dies: its units move to the other within two rounds.
    await wk1.current?.killHard();
    phases.push('worker 1 SIGKILL');
    await progress('with one worker');
    await wk1.start();

    // 2. A gateway dies: its devices reconnect to the other, unacknowledged readings are resent.
    await gw2.current?.killHard();
    phases.push('gateway 2 SIGKILL');
    await progress('with one gateway');
    await gw2.start();

    // 3. Redis dies and comes back empty: nudges, schedulers and MQTT sessions are gone.
    await redis.kill();
    phases.push('Redis killed');
    await sleep(500);
    await redis.start();
    await progress('after Redis came back empty');

    // 4. PostgreSQL crashes (no checkpoint) and recovers from its WAL.
    postgres.crash();
    phases.push('PostgreSQL crash');
    await sleep(500);
    await postgres.start();
    await progress('after PostgreSQL recovered');

    // 5. The other worker dies.
    await wk2.current?.killHard();
    phases.push('worker 2 SIGKILL');
    await progress('with worker 1 alone');
    await wk2.start();
    await progress('with everything back');

    stopping = true;
    await Promise.all(load);
    expect(tracker.problems).toEqual([]);

    // Every acknowledged reading is stored, once.
    const rows = await sql<{ client_id: string; n: string }>(postgres.url, 'SELECT client_id, count(*) AS n FROM readings WHERE client_id IS NOT NULL GROUP BY client_id');
    const stored = new Map(rows.map((r) => [r.client_id, Number(r.n)]));
    const missing = [...tracker.acked.keys()].filter((id) => !stored.has(id));
    const twice = [...stored].filter(([, n]) => n > 1).map(([id]) => id);
    expect(missing, `${missing.length} acknowledged readings not stored`).toEqual([]);
    expect(twice).toEqual([]);
    const total = (await sql<{ n: string; bp: string; max: string }>(postgres.url, "SELECT count(*) AS n, count(*) FILTER (WHERE kind = 'blood-pressure') AS bp, max(seq) AS max FROM readings"))[0];
    const readings = Number(total?.n);
    // A BP cuff's pulse goes to the EHR as an Observation of its own.
    const observations = readings + Number(total?.bp);
    const maxSeq = Number(total?.max);

    // The rules engine judged everything (every partition's cursor passed the end of the log) ...
    const judged = async (): Promise<boolean> => {
      const cursors = await sql<{ seq: string }>(postgres.url, 'SELECT seq FROM rule_partition_cursors WHERE partitions = $1', [PARTITIONS]);
      return cursors.length === PARTITIONS && cursors.every((c) => Number(c.seq) >= maxSeq);
    };
    const deadline = Date.now() + 60_000;
    while (!(await judged())) {
      if (Date.now() > deadline) throw new Error('rule partitions did not reach the end of the reading log');
      await sleep(200);
    }
    // ... once: one alert per patient and rule, never two open for the same condition.
    const open = await sql<{ patient_id: string; rule_id: string; n: string }>(postgres.url, "SELECT patient_id, rule_id, count(*) AS n FROM alerts WHERE status <> 'resolved' GROUP BY 1, 2");
    expect(open.filter((r) => Number(r.n) > 1)).toEqual([]);
    const crisisAlerts = open.filter((r) => r.rule_id === 'bp-severe');
    expect(new Set(crisisAlerts.map((r) => r.patient_id)).size, JSON.stringify(open)).toBe(PATIENTS);

    // Every reading is at the EHR once, by identifier.
    const atEhr = async (): Promise<Map<string, number>> => ehr.countByIdentifier('Observation', READING_SYSTEM);
    const ehrDeadline = Date.now() + 120_000;
    let counts = await atEhr();
    while (counts.size < observations) {
      if (Date.now() > ehrDeadline) throw new Error(`only ${counts.size} of ${observations} Observations reached the EHR`);
      await sleep(500);
      counts = await atEhr();
    }
    expect([...counts].filter(([, n]) => n > 1)).toEqual([]);
    expect(counts.size).toBe(observations);

    // And in the time-series store, each reading one point.
    const tsDeadline = Date.now() + 60_000;
    let points = 0;
    for (;;) {
      const series = await vm.export('{__name__=~"rpm_reading_(value|systolic)", organization="org-d"}');
      points = series.reduce((n, s) => n + new Set(s.timestamps).size, 0);
      if (points >= readings || Date.now() > tsDeadline) break;
      await sleep(500);
    }
    expect(points).toBe(readings);

    // Every process lived through the others' failures (only the ones killed on purpose were restarted).
    for (const p of [...gateways, ...workers]) expect(p.current?.running, p.current?.tail(40)).toBe(true);
    expect(gateways.concat(workers).map((p) => p.starts)).toEqual([1, 2, 2, 2]);
    // Operators see the work shared: each worker's /metrics names the units it holds.
    const held = await Promise.all(
      workers.map(async (w) => {
        const text = await (await fetch(`${w.baseUrl}/metrics`)).text();
        return [...text.matchAll(/^rpm_worker_units_held\{kind="([a-z]+)"\} (\d+)/gm)].reduce((n, m) => n + Number(m[2]), 0);
      }),
    );
    // Rule partitions + the FHIR destination + the time-series writer + the cluster's timers + scheduling's reminders.
    expect(held.reduce((a, b) => a + b, 0)).toBe(PARTITIONS + 4);
    process.stdout.write(
      `distributed: phases ${phases.join(' → ')}; acked ${tracker.acked.size} (http ${tracker.ackedBy.http}, mqtt ${tracker.ackedBy.mqtt}), stored ${readings}, at EHR ${counts.size}, points ${points}, units held ${held.join('+')}\n`,
    );
  }, 600_000);
});
