import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { Appointment as FhirAppointment, Encounter } from '@medplum/fhirtypes';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FhirTestServer } from './fhir-server/fhir-test-server.js';
import { type ChildGateway, clusterProcess, sleep, waitFor } from './helpers/child-gateway.js';
import { ADMIN_TOKEN, AdminClient, request, STAFF_PASSWORD, tempDir } from './helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import { dropRedisPrefix, freshRedisPrefix, REDIS_TEST_URL, requireRedis } from './helpers/redis.js';
import { startTwilioDouble, type TwilioDouble } from './helpers/twilio-double.js';

/*
 * Issue 16 in the distributed mode, as an operator runs it: two gateways (`rpm gateway`) and two
 * workers (`rpm worker`) as processes over PostgreSQL and Redis.
 * - Visit reminders run in the worker holding the `reminders` unit, woken at the due time by a
 *   BullMQ delayed job (ids only) that a gateway posted after the booking's commit; the durable job
 *   row stays the truth. A reminder is sent exactly once across a SIGKILL of the worker holding it
 *   (before its send, and in the middle of it: Twilio drops the repeat by idempotency token), and
 *   once when Redis lost the nudge.
 * - The embedded provider's signaling with the nurse on one gateway and the patient on the other:
 *   offer, answer and ICE relayed both ways, the visit started, ended everywhere at once.
 * - A booked visit held through the gateways reaches an EHR (the project's FHIR test server) as one
 *   Appointment and one Encounter, sent by the worker holding the reminders; a SIGKILL of that
 *   worker while the end's write is in flight leaves one of each after the other worker takes over.
 */

const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const AUTH_TOKEN = 'twilio-auth-token-dist';
const MIN = 60_000;

/** A zone where it is daytime now, so a visit 15 minutes ahead lies inside 01:00–23:00 working hours. */
function daytimeZone(): string {
  for (const tz of ['UTC', 'Asia/Tokyo', 'America/New_York', 'Asia/Kolkata']) {
    const hour = Number(new Intl.DateTimeFormat('en-US', { timeZone: tz, hour: '2-digit', hourCycle: 'h23' }).format(new Date()));
    if (hour >= 1 && hour <= 21) return tz;
  }
  return 'UTC';
}

interface Signal {
  readonly ws: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;
  next(type: string): Promise<Record<string, any>>;
  send(message: unknown): void;
  /** Messages of a type received and not yet taken by `next`. */
  pending(type: string): number;
}

/** A signaling client: opens the socket, says hello, and collects what the gateway sends. */
function signal(baseUrl: string, hello: Record<string, unknown>): Promise<Signal> {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/visits/signal`);
  const messages: Record<string, any>[] = [];
  const waiters: { type: string; resolve: (m: Record<string, any>) => void }[] = [];
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString()) as Record<string, any>;
    const w = waiters.find((x) => x.type === m.type);
    if (w !== undefined) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(m);
    } else messages.push(m);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => {
      ws.send(JSON.stringify({ type: 'hello', ...hello }));
      resolve({
        ws,
        closed,
        next: (type) => {
          const seen = messages.findIndex((m) => m.type === type);
          if (seen >= 0) return Promise.resolve(messages.splice(seen, 1)[0]!);
          return new Promise((r, j) => {
            const timer = setTimeout(() => j(new Error(`no '${type}' message within 10 s`)), 10_000);
            waiters.push({ type, resolve: (m) => (clearTimeout(timer), r(m)) });
          });
        },
        send: (message) => ws.send(JSON.stringify(message)),
        pending: (type) => messages.filter((m) => m.type === type).length,
      });
    });
  });
}

describe('distributed mode: visit reminders on BullMQ in the workers, signaling across gateways', () => {
  let db: TestDatabase;
  let twilio: TwilioDouble;
  const prefix = freshRedisPrefix();
  const dirs: string[] = [];
  const gateways: ChildGateway[] = [];
  const workers: ChildGateway[] = [];
  const KEY = randomBytes(32).toString('base64');
  let admin: AdminClient;
  let nurse: string;
  let patients = 0;
  let ehr: FhirTestServer | undefined;

  const node = (name: string, role: 'gateway' | 'worker'): ChildGateway => {
    const dataDir = tempDir(`rpm-dv-${name}-`);
    dirs.push(dataDir);
    return clusterProcess(name, role, dataDir, {
      RPM_LOG_LEVEL: 'warn',
      RPM_DATABASE_URL: db.url,
      RPM_REDIS_URL: REDIS_TEST_URL,
      RPM_REDIS_PREFIX: prefix,
      RPM_SECRET_KEYS: `k1:${KEY}`,
      RPM_RULES_PARTITIONS: '2',
      RPM_CLUSTER_ROUND_MS: '500',
      RPM_TWILIO_ACCOUNT_SID: ACCOUNT,
      RPM_TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      RPM_TWILIO_FROM: '+15550001111',
      RPM_TWILIO_BASE_URL: twilio.url,
      // The sweep of the job table under the nudges: what finds a job whose nudge Redis lost.
      RPM_JOB_POLL_S: '4',
      RPM_JOB_LEASE_S: '60',
    });
  };

  beforeAll(async () => {
    await requireRedis();
    [db, twilio] = await Promise.all([createTestDatabase(), startTwilioDouble({ accountSid: ACCOUNT, authToken: AUTH_TOKEN })]);
    gateways.push(node('gw-1', 'gateway'), node('gw-2', 'gateway'));
    workers.push(node('wk-1', 'worker'), node('wk-2', 'worker'));
    // The first gateway migrates the database; the others find it current.
    await gateways[0]!.start();
    await Promise.all([gateways[1]!.start(), ...workers.map((w) => w.start())]);
    admin = new AdminClient(gateways[0]!.baseUrl);
    await admin.createOrganization('org-v');
    const staff = await admin.createStaff({ email: 'vera@v.example', role: 'nurse', organizationId: 'org-v', password: STAFF_PASSWORD });
    nurse = await admin.login('vera@v.example');
    await admin.createCareTeam('team-v', 'org-v');
    await admin.addTeamMember('team-v', staff.id);
  }, 180_000);

  afterAll(async () => {
    for (const p of [...gateways, ...workers]) await p?.dispose();
    await twilio?.close();
    await ehr?.close();
    await db?.drop();
    await dropRedisPrefix(prefix).catch(() => undefined);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** A patient with a phone and telehealth consent, on the nurse's care team. */
  async function patient(): Promise<{ id: string; phone: string }> {
    patients++;
    const id = `pv-${patients}`;
    const phone = `+1555010${String(patients).padStart(4, '0')}`;
    await admin.createPatient(id, { organizationId: 'org-v' });
    await admin.addTeamPatient('team-v', id);
    const gw = gateways[patients % 2]!;
    const put = await request(`${gw.baseUrl}/v1/patients/${id}/identity`, {
      method: 'PUT',
      token: ADMIN_TOKEN,
      json: { givenName: 'Dana', familyName: 'Cluster', birthDate: '1958-02-03', mrn: `V-${patients}`, phone, preferredLanguage: 'en', timeZone: 'UTC' },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect((await request(`${gw.baseUrl}/v1/patients/${id}/consents/telehealth`, { token: ADMIN_TOKEN, json: { granted: true, method: 'verbal' } })).status).toBe(201);
    return { id, phone };
  }

  /**
   * Books a monthly check-in at `startMs` through gateway `gw` with a nurse of her own (so visits
   * booked at about the same time never overlap). Answers the appointment id and the nurse's token.
   */
  async function book(gw: ChildGateway, patientId: string, startMs: number): Promise<{ id: string; token: string }> {
    const email = `nurse-${patientId}@v.example`;
    const staff = await admin.createStaff({ email, role: 'nurse', organizationId: 'org-v', password: STAFF_PASSWORD });
    await admin.addTeamMember('team-v', staff.id);
    const token = await admin.login(email);
    const weekly = [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: '01:00', end: '23:00' }));
    expect((await request(`${gw.baseUrl}/v1/staff/${staff.id}/availability`, { method: 'PUT', token, json: { timeZone: daytimeZone(), weekly } })).status).toBe(200);
    const res = await request(`${gw.baseUrl}/v1/appointments`, { token, json: { patientId, typeId: 'monthly-check-in', start: new Date(startMs).toISOString() } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { id: res.body.id as string, token };
  }

  /** Books a visit whose 15 min reminder is due `dueInMs` from now, through gateway `gw`. Answers the appointment id. */
  async function visitWithReminderIn(gw: ChildGateway, patientId: string, dueInMs: number): Promise<string> {
    // Whole seconds: the appointment is stored to the millisecond, the reminder due 15 min before.
    return (await book(gw, patientId, Math.ceil((Date.now() + 15 * MIN + dueInMs) / 1000) * 1000)).id;
  }

  /** The worker holding the `reminders` unit (its /metrics counts the units it holds by kind). */
  async function reminderHolder(): Promise<ChildGateway> {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      for (const w of workers) {
        if (w.current?.running !== true) continue;
        const text = await fetch(`${w.baseUrl}/metrics`)
          .then((r) => r.text())
          .catch(() => '');
        if (/rpm_worker_units_held\{kind="reminders"\} 1\b/.test(text)) return w;
      }
      await sleep(200);
    }
    throw new Error('no worker holds the reminders unit');
  }

  const sentTo = (phone: string) => twilio.messages.filter((m) => m.form.get('To') === phone);

  it('wakes the worker holding the reminders with a BullMQ delayed job carrying the durable job id only, and sends the reminder at its time', async () => {
    const p = await patient();
    const appointmentId = await visitWithReminderIn(gateways[1]!, p.id, 5000);
    // The nudge: a delayed job on the reminders unit's queue, named by the durable job, due with it.
    const redis = new Redis(REDIS_TEST_URL, { maxRetriesPerRequest: null });
    const queue = new Queue('unit.reminders', { connection: redis, prefix });
    try {
      await expect.poll(async () => (await queue.getDelayed()).map((j) => j.data), { timeout: 5000 }).toContainEqual({ jobId: expect.stringMatching(new RegExp(`${appointmentId}.*15m`)) });
      const delayed = (await queue.getDelayed()).find((j) => String(j.data.jobId).includes(appointmentId) && String(j.data.jobId).includes('15m'));
      expect(delayed).toBeDefined();
      // Ids only: no number, name or text of the message.
      expect(Object.keys(delayed!.data)).toEqual(['jobId']);
      expect(JSON.stringify(delayed!.data)).not.toMatch(/\+1555|Dana|Cluster|minutes/);
      expect(delayed!.delay).toBeGreaterThan(2000);
    } finally {
      await queue.close();
      redis.disconnect();
    }
    expect(sentTo(p.phone)).toHaveLength(0);
    await waitFor(() => sentTo(p.phone).length > 0, 20_000, 'the reminder');
    await sleep(3000);
    expect(sentTo(p.phone)).toHaveLength(1);
    expect(sentTo(p.phone)[0]!.form.get('Body')).toMatch(/starts in 15 minutes/);
  }, 60_000);

  it('sends a reminder scheduled before a SIGKILL of the worker holding it exactly once, from the other worker', async () => {
    const p = await patient();
    const holder = await reminderHolder();
    const survivor = workers.find((w) => w !== holder)!;
    await visitWithReminderIn(gateways[0]!, p.id, 6000);
    expect((await holder.stop('SIGKILL')).signal).toBe('SIGKILL');
    await waitFor(() => sentTo(p.phone).length > 0, 30_000, 'the reminder from the other worker');
    expect(await reminderHolder()).toBe(survivor);
    // Several poll periods later, and with the killed worker back, still exactly one.
    await holder.start();
    await sleep(6000);
    expect(sentTo(p.phone)).toHaveLength(1);
  }, 90_000);

  it('sends once when the SIGKILL cut the send off mid-request: the other worker repeats it with the same idempotency token', async () => {
    const p = await patient();
    const holder = await reminderHolder();
    twilio.stallNext.n = 1;
    const before = twilio.requests.count;
    await visitWithReminderIn(gateways[1]!, p.id, 2000);
    // Twilio has the message, the worker is waiting for the answer: kill it now.
    await waitFor(() => sentTo(p.phone).length > 0, 30_000, 'the stalled send');
    await holder.stop('SIGKILL');
    await waitFor(() => twilio.requests.count >= before + 2, 30_000, 'the repeated send from the other worker');
    await holder.start();
    await sleep(5000);
    expect(sentTo(p.phone)).toHaveLength(1);
    expect(twilio.requests.count - before).toBe(2);
    const tokens = twilio.messages.filter((m) => m.form.get('To') === p.phone).map((m) => m.idempotencyToken);
    expect(tokens[0]).toMatch(/^reminder:/);
  }, 90_000);

  it('sends a reminder whose nudge Redis lost (the holder sweeps the job table)', async () => {
    const p = await patient();
    await visitWithReminderIn(gateways[0]!, p.id, 3000);
    // Redis loses every delayed job (as a restart without persistence would).
    const redis = new Redis(REDIS_TEST_URL, { maxRetriesPerRequest: null });
    const queue = new Queue('unit.reminders', { connection: redis, prefix });
    try {
      await queue.drain(true);
      expect(await queue.getDelayedCount()).toBe(0);
    } finally {
      await queue.close();
      redis.disconnect();
    }
    await waitFor(() => sentTo(p.phone).length > 0, 20_000, 'the reminder found by the sweep');
    await sleep(2000);
    expect(sentTo(p.phone)).toHaveLength(1);
  }, 60_000);

  it('relays a call’s signaling between a nurse on one gateway and a patient on the other, and ends it on both', async () => {
    const [gw1, gw2] = gateways as [ChildGateway, ChildGateway];
    const p = await patient();
    const started = await request(`${gw1.baseUrl}/v1/visits`, { token: nurse, json: { patientId: p.id, sendSms: false } });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const visitId = started.body.visit.id as string;
    const link = started.body.link.url as string;
    // The patient's browser lands on the other gateway (the load balancer's choice).
    const entry = await request(`${gw2.baseUrl}/v1/visit-links/redeem`, { json: { token: link.slice(link.indexOf('#') + 1) } });
    expect(entry.status, JSON.stringify(entry.body)).toBe(200);
    const session = entry.body.sessionToken as string;

    const staffSide = await signal(gw1.baseUrl, { visitId, role: 'staff', token: nurse });
    expect(await staffSide.next('welcome')).toMatchObject({ role: 'staff', peerPresent: false });
    const patientSide = await signal(gw2.baseUrl, { visitId, role: 'patient', token: session });
    await patientSide.next('welcome');
    // Each side learns the other is in (the patient's gateway hears it from the nurse's).
    expect(await staffSide.next('peer')).toEqual({ type: 'peer', present: true });
    expect(await patientSide.next('peer')).toEqual({ type: 'peer', present: true });

    const offer = { description: { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' } };
    staffSide.send({ type: 'signal', data: offer });
    expect(await patientSide.next('signal')).toEqual({ type: 'signal', data: offer });
    const answer = { description: { type: 'answer', sdp: 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\n' } };
    patientSide.send({ type: 'signal', data: answer });
    expect(await staffSide.next('signal')).toEqual({ type: 'signal', data: answer });
    for (let i = 0; i < 5; i++) {
      patientSide.send({ type: 'signal', data: { candidate: { candidate: `candidate:${i} 1 udp 1 10.0.0.2 ${5000 + i} typ host`, sdpMid: '0' } } });
      staffSide.send({ type: 'signal', data: { candidate: { candidate: `candidate:${i} 1 udp 1 10.0.0.1 ${6000 + i} typ host`, sdpMid: '0' } } });
    }
    // In order, each exactly once.
    for (let i = 0; i < 5; i++) {
      expect((await staffSide.next('signal')).data.candidate.candidate).toContain(`10.0.0.2 ${5000 + i}`);
      expect((await patientSide.next('signal')).data.candidate.candidate).toContain(`10.0.0.1 ${6000 + i}`);
    }
    // The visit started when both were in, whichever gateway learned it.
    await expect.poll(async () => (await request(`${gw2.baseUrl}/v1/visits/${visitId}`, { token: nurse })).body.status, { timeout: 5000 }).toBe('in-progress');

    // The patient reconnects and lands on the first gateway: the older socket (on the second) is replaced.
    const again = await signal(gw1.baseUrl, { visitId, role: 'patient', token: session });
    expect(await again.next('welcome')).toMatchObject({ peerPresent: true });
    expect(await patientSide.closed).toMatchObject({ code: 4409 });
    expect(await staffSide.next('peer')).toEqual({ type: 'peer', present: true });
    staffSide.send({ type: 'signal', data: offer });
    expect(await again.next('signal')).toEqual({ type: 'signal', data: offer });
    // The patient's page goes back to the second gateway; a leaving is told across too.
    again.ws.close();
    expect(await staffSide.next('peer')).toEqual({ type: 'peer', present: false });
    const third = await signal(gw2.baseUrl, { visitId, role: 'patient', token: session });
    await third.next('welcome');
    expect(await staffSide.next('peer')).toEqual({ type: 'peer', present: true });

    // Ended through the second gateway (the nurse's socket is on the first): both sockets close.
    const ended = await request(`${gw2.baseUrl}/v1/visits/${visitId}/end`, { token: nurse, json: {} });
    expect(ended.status, JSON.stringify(ended.body)).toBe(200);
    expect(ended.body.visit).toMatchObject({ status: 'ended', endReason: 'ended' });
    expect(await staffSide.closed).toMatchObject({ code: 4000 });
    expect(await third.closed).toMatchObject({ code: 4000 });
    // Every presence recorded, each closed (the replaced one by its successor's joining).
    await expect
      .poll(async () => ((await request(`${gw1.baseUrl}/v1/visits/${visitId}`, { token: nurse })).body.participants as { role: string; leftAt: string | null }[]).map((x) => [x.role, x.leftAt !== null]), { timeout: 5000 })
      .toEqual([['staff', true], ['patient', true], ['patient', true], ['patient', true]]);
    // Nothing of the calls in the logs (SDP and ICE are not PHI, but stay out of logs).
    for (const gw of gateways) expect(gw.current!.stdout + gw.current!.stderr).not.toMatch(/10\.0\.0\.[12]|o=- 1 2/);
  }, 90_000);

  it('sends a booked visit’s FHIR Appointment and Encounter from the worker holding the reminders, one of each across a SIGKILL of it mid-send', async () => {
    const [gw1, gw2] = gateways as [ChildGateway, ChildGateway];
    const server = await FhirTestServer.start();
    ehr = server;
    const created = await request(`${gw1.baseUrl}/v1/admin/fhir/destinations`, {
      token: ADMIN_TOKEN,
      json: { id: 'ehr-v', organizationId: 'org-v', baseUrl: server.baseUrl, auth: { type: 'none' }, appointments: true, encounters: true },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const p = await patient();
    // Within the half hour before its start, so the visit may open now.
    const { id: appointmentId, token } = await book(gw2, p.id, Math.ceil((Date.now() + 20 * MIN) / 1000) * 1000);
    const appointments = () => server.all<FhirAppointment>('Appointment');
    const encounters = () => server.all<Encounter>('Encounter');
    await expect.poll(async () => (await appointments()).map((a) => a.status), { timeout: 15_000 }).toEqual(['booked']);

    // The visit: started from the appointment on one gateway, the patient's browser on the other, in when both are.
    const opened = await request(`${gw1.baseUrl}/v1/visits`, { token, json: { appointmentId, sendSms: false } });
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    const visitId = opened.body.visit.id as string;
    const link = opened.body.link.url as string;
    const entry = await request(`${gw2.baseUrl}/v1/visit-links/redeem`, { json: { token: link.slice(link.indexOf('#') + 1) } });
    expect(entry.status, JSON.stringify(entry.body)).toBe(200);
    const staffSide = await signal(gw1.baseUrl, { visitId, role: 'staff', token });
    await staffSide.next('welcome');
    const patientSide = await signal(gw2.baseUrl, { visitId, role: 'patient', token: entry.body.sessionToken as string });
    await patientSide.next('welcome');
    await expect.poll(async () => (await request(`${gw2.baseUrl}/v1/visits/${visitId}`, { token })).body.status, { timeout: 5000 }).toBe('in-progress');
    await expect.poll(async () => (await encounters()).map((e) => e.status), { timeout: 15_000 }).toEqual(['in-progress']);
    await expect.poll(async () => (await appointments()).map((a) => a.status), { timeout: 15_000 }).toEqual(['arrived']);

    // The end, with the EHR slow to answer: the holder's write is in flight when it is killed.
    const holder = await reminderHolder();
    const survivor = workers.find((w) => w !== holder)!;
    const holderName = `wk-${workers.indexOf(holder) + 1}`;
    const db1 = await db.client();
    const jobsOf = async () =>
      (
        await db1.query<{ id: string; status: string; lease_owner: string | null; result: string | null }>(
          "SELECT id, status, lease_owner, result FROM delayed_jobs WHERE job_group IN ($1, $2) AND kind LIKE 'fhir-%' ORDER BY id",
          [`visit:${visitId}`, `appointment:${appointmentId}`],
        )
      ).rows;
    try {
      server.latencyMs = 3000;
      const ended = await request(`${gw2.baseUrl}/v1/visits/${visitId}/end`, { token, json: {} });
      expect(ended.status, JSON.stringify(ended.body)).toBe(200);
      const visit = ended.body.visit as { startedAt: string; endedAt: string };
      await staffSide.closed;
      await patientSide.closed;
      // Sent by the worker holding the reminders (its node name and pid on the job's lease), not by a gateway.
      await expect
        .poll(async () => server.inFlight > 0 && (await jobsOf()).some((j) => j.status === 'running' && j.lease_owner?.startsWith(`${holderName}:${holder.current!.pid}:`) === true), { timeout: 10_000 })
        .toBe(true);
      expect((await holder.stop('SIGKILL')).signal).toBe('SIGKILL');
      server.latencyMs = 0;

      // The other worker takes the unit, runs again what the dead one held, and finishes.
      await expect.poll(async () => (await encounters()).map((e) => e.status), { timeout: 30_000 }).toEqual(['finished']);
      await expect.poll(async () => (await appointments()).map((a) => a.status), { timeout: 30_000 }).toEqual(['fulfilled']);
      expect(await reminderHolder()).toBe(survivor);
      await expect.poll(async () => (await jobsOf()).filter((j) => j.status !== 'done'), { timeout: 15_000 }).toEqual([]);
      // The killed worker's request, answered by no one, is over too; still one of each, the latest state.
      await waitFor(() => server.inFlight === 0, 10_000, 'the dead worker’s request');
      await sleep(2000);
      const [encounter] = await encounters();
      expect(await encounters()).toHaveLength(1);
      expect(encounter).toMatchObject({ status: 'finished', period: { start: visit.startedAt, end: visit.endedAt } });
      const [appointment] = await appointments();
      expect(await appointments()).toHaveLength(1);
      expect(appointment?.status).toBe('fulfilled');
      expect(encounter?.appointment).toEqual([{ reference: `Appointment/${appointment?.id}` }]);
      const jobs = await jobsOf();
      // The booking's Appointment, its arrival and fulfilment; the Encounter at the start and the end.
      expect(jobs.map((j) => j.id.split(':').slice(0, 4).join(':'))).toEqual([
        `fhir-appointment:ehr-v:${appointmentId}:v1`,
        `fhir-appointment:ehr-v:${appointmentId}:v1`,
        `fhir-appointment:ehr-v:${appointmentId}:v2`,
        `fhir-encounter:ehr-v:${visitId}:ended`,
        `fhir-encounter:ehr-v:${visitId}:started`,
      ]);
      expect(jobs.filter((j) => !j.result?.startsWith('delivered:'))).toEqual([]);
    } finally {
      await db1.end();
    }
  }, 120_000);
});
