import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../core/config/load-config.js';
import { createLogger } from '../core/logging.js';
import { type RunningWorker, startWorker } from '../worker/start.js';
import { waitFor } from './helpers/child-gateway.js';
import { ManualClock } from './helpers/clock.js';
import { request, startTestGateway, type TestGateway } from './helpers/gateway.js';
import { createTestDatabase } from './helpers/postgres.js';
import { dropRedisPrefix, freshRedisPrefix, REDIS_TEST_URL, requireRedis } from './helpers/redis.js';

/**
 * Golden scenarios (test/golden/*.json, format in test/golden/README.md): each file is one
 * patient's timeline, replayed through the real gateway — HTTP (or MQTT) ingest, SQLite, the
 * rules engine, the staff API — and compared with the alerts a nurse of the patient's
 * organization reads back.
 */

const GOLDEN_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden');

const offset = z.string().regex(/^(0|-?(\d+d)?(\d+h)?(\d+m)?(\d+s)?)$/, 'an offset like -72h, -30m, -6d1h or 0');
const duration = z.string().regex(/^(\d+d)?(\d+h)?(\d+m)?(\d+s)?$/, 'a duration like 30m or 6h');
const severity = z.enum(['low', 'medium', 'high', 'critical']);

const readingStep = z
  .object({
    at: offset,
    kind: z.string(),
    value: z.number().optional(),
    systolic: z.number().optional(),
    diastolic: z.number().optional(),
    pulse: z.number().optional(),
    unit: z.string().optional(),
    device: z.string().optional(),
    batch: z.number().int().optional(),
    /** Send without a client id (the gateway must still know it by device, kind and time). */
    noId: z.boolean().optional(),
    /** Reuse the client id of an earlier step (a resend), by its position in `readings` (0-based). */
    sameIdAs: z.number().int().optional(),
    transport: z.enum(['http', 'mqtt']).optional(),
    /** Live scenarios: it reaches the gateway this long after it was measured (late data). */
    arrivesAfter: duration.optional(),
  })
  .strict();
const assignStep = z.object({ action: z.literal('assign'), device: z.string(), from: offset }).strict();
const nurseStep = z
  .object({
    action: z.enum(['resolve', 'snooze', 'acknowledge']),
    rule: z.string(),
    at: offset,
    outcome: z.string().optional(),
    for: duration.optional(),
  })
  .strict();
const tickStep = z.object({ action: z.literal('tick'), at: offset }).strict();
const observeStep = z.object({ action: z.literal('observe'), at: offset, observations: z.array(z.record(z.string(), z.unknown())).min(1) }).strict();
const timerStep = z.object({ action: z.enum(['timer-start', 'logout', 'idle']), at: offset, interactive: z.boolean().optional() }).strict();

const pointExpect = z.object({ at: offset, textContains: z.string().optional() }).strict();
const expectedAlert = z
  .object({
    rule: z.string(),
    severity,
    status: z.enum(['open', 'claimed', 'acknowledged', 'resolved']),
    measuredAt: offset,
    outcome: z.string().nullable().optional(),
    confirmation: z.enum(['pending', 'confirmed', 'not-confirmed', 'expired']).nullable().optional(),
    inRange: z.boolean().optional(),
    flapping: z.boolean().optional(),
    worsening: z.boolean().optional(),
    late: z.boolean().optional(),
    snoozedUntil: z.string().nullable().optional(),
    value: z.number().nullable().optional(),
    detail: z.string().optional(),
    detailContains: z.string().optional(),
    titleContains: z.string().optional(),
    title: z.string().optional(),
    actionContains: z.string().optional(),
    afterResolveContains: z.string().optional(),
    confirmationTextContains: z.string().optional(),
    priorityReasons: z.array(z.string()).optional().describe('codes that must be among the reasons'),
    episode: z.object({ first: pointExpect.optional(), worst: pointExpect.optional() }).strict().optional(),
    not: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

const scenarioSchema = z
  .object({
    description: z.string().min(1),
    /** The issue item (and what a nurse was misled by) this scenario guards. */
    guards: z.string().optional(),
    carePlan: z.record(z.string(), z.unknown()).optional(),
    /** The nurse's own display settings for the read-back (PUT /v1/me/display). */
    display: z.record(z.string(), z.string()).optional(),
    /** `live`: the gateway's clock follows the timeline (each step happens at its time). */
    clock: z.enum(['fixed', 'live']).default('fixed'),
    devices: z
      .array(z.object({ id: z.string(), kind: z.string(), hub: z.string().optional(), assigned: z.boolean().default(true) }).strict())
      .default([{ id: 'dev', kind: 'multi-parameter', assigned: true }]),
    readings: z.array(z.union([readingStep, assignStep, nurseStep, tickStep, observeStep, timerStep])).min(1),
    expect: z
      .object({
        alerts: z.array(expectedAlert),
        absent: z.array(z.string()).default([]),
        news2: z.object({ status: z.enum(['complete', 'incomplete']), total: z.number().optional(), missing: z.array(z.string()).optional() }).strict().optional(),
        timeEntries: z.array(z.object({ stopReason: z.string().nullable(), minutes: z.number().optional() }).strict()).optional(),
        /** Readings stored for the patient (after dedupe). */
        readings: z.number().int().optional(),
      })
      .strict(),
  })
  .strict();
type Scenario = z.infer<typeof scenarioSchema>;
type ReadingStep = z.infer<typeof readingStep>;

const UNITS: Record<string, string> = {
  'blood-pressure': 'mmHg',
  spo2: '%',
  'body-weight': 'kg',
  'heart-rate': '/min',
  'respiratory-rate': '/min',
  'body-temperature': 'Cel',
  'blood-glucose': 'mg/dL',
};

/** "-6d1h" → milliseconds (negative = before now). */
function offsetMs(text: string): number {
  if (text === '0' || text === '') return 0;
  const sign = text.startsWith('-') ? -1 : 1;
  const unit: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
  let ms = 0;
  for (const [, n, u] of text.matchAll(/(\d+)([dhms])/g)) ms += Number(n) * (unit[u as string] as number);
  return sign * ms;
}

/** Milliseconds → "-6d1h", for readable failures. */
function formatOffset(ms: number): string {
  if (ms === 0) return '0';
  let rest = Math.abs(ms);
  let out = ms < 0 ? '-' : '+';
  for (const [u, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${u}`;
    rest -= n * size;
  }
  return rest === 0 ? out : `${out}${rest}ms`;
}

const files = readdirSync(GOLDEN_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

type AlertJson = Record<string, unknown> & { measuredAtMs: number; episode?: { first: { measuredAt: string; text: string }; worst: { measuredAt: string; text: string } } | null };

/** What a scenario asks of the background work: wherever it runs (this process, or workers). */
interface Background {
  /** Every committed reading and attribution judged. */
  drain(): Promise<void>;
  /** The clock moved: repeat-reading waits expire, SLA escalation runs, timers of ended sessions stop. */
  tick(): Promise<void>;
  /** Only the timers of ended sessions (a nurse left idle). */
  idle(): Promise<void>;
}

interface Setup {
  readonly t: TestGateway;
  readonly background: Background;
  close(): Promise<void>;
}

/** The single process: the rules engine, escalator and timer guard run in the gateway. */
async function embedded(clock: ManualClock): Promise<Setup> {
  const t = await startTestGateway({}, { clock });
  const ctx = t.gw.ctx;
  return {
    t,
    background: {
      drain: () => ctx.alerting!.drain(),
      async tick() {
        await ctx.alerting!.sweepClock();
        await ctx.escalator!.runOnce();
        await ctx.timerGuard!.sweep();
      },
      async idle() {
        await ctx.timerGuard!.sweep();
      },
    },
    close: () => t.close(),
  };
}

const PARTITIONS = 4;

/**
 * The distributed mode in this process: a gateway of role `gateway` and two workers over a fresh
 * PostgreSQL database and a Redis prefix of their own; the scenarios' patients fall into different
 * rule partitions, held by different workers.
 */
async function distributed(clock: ManualClock): Promise<Setup> {
  await requireRedis();
  const db = await createTestDatabase();
  const prefix = freshRedisPrefix();
  const env = {
    RPM_STORE: 'postgres',
    RPM_DATABASE_URL: db.url,
    RPM_REDIS_URL: REDIS_TEST_URL,
    RPM_REDIS_PREFIX: prefix,
    RPM_SECRET_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    RPM_RULES_PARTITIONS: String(PARTITIONS),
    RPM_CLUSTER_ROUND_MS: '200',
  };
  const t = await startTestGateway(env, { clock, role: 'gateway' });
  const workers: RunningWorker[] = [];
  for (const name of ['golden-w1', 'golden-w2']) {
    const config = loadConfig({ ...env, RPM_NODE_NAME: name, RPM_HTTP_HOST: '127.0.0.1', RPM_HTTP_PORT: '0', RPM_DATA_DIR: t.dataDir, RPM_LOG_LEVEL: 'silent' });
    workers.push(await startWorker(config, { clock, log: createLogger('silent') }));
  }
  // Every unit held (the rule partitions, the timers, the reminders), by both workers.
  await waitFor(() => workers.reduce((n, w) => n + w.units().length, 0) === PARTITIONS + 2 && workers.every((w) => w.units().length > 0), 20_000, 'two workers sharing every unit');
  const all = async (fn: (w: RunningWorker) => Promise<void>): Promise<void> => {
    for (const w of workers) await fn(w);
  };
  return {
    t,
    background: {
      drain: () => all((w) => w.drain()),
      async tick() {
        // The same order as the single process: rules first, then escalation, then timers.
        await all((w) => w.sweepClock());
        await all((w) => w.runTimers(true));
      },
      idle: () => all((w) => w.runTimers(false)),
    },
    async close() {
      await t.close();
      for (const w of workers) await w.close();
      await dropRedisPrefix(prefix);
      await db.drop();
    },
  };
}

describe('golden scenarios through the running gateway (single process)', () => goldenSuite(embedded, files));
describe('golden scenarios through the distributed mode (a gateway and 2 workers on PostgreSQL and Redis; scenarios in shuffled order)', () =>
  goldenSuite(distributed, shuffled(files, 20261207)));

/** The files in an order fixed by `seed` (a scenario's patient lands in another partition each run of a seed). */
function shuffled(list: readonly string[], seed: number): string[] {
  const out = [...list];
  let x = seed;
  for (let i = out.length - 1; i > 0; i--) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j] as string, out[i] as string];
  }
  return out;
}

function goldenSuite(open: (clock: ManualClock) => Promise<Setup>, scenarioFiles: readonly string[]): void {
  // Whole seconds, so measurement times survive the ISO round trip exactly.
  const now = Math.floor(Date.now() / 1000) * 1000;
  const clock = new ManualClock(now);
  let setup: Setup;
  let t: TestGateway;
  let background: Background;

  beforeAll(async () => {
    setup = await open(clock);
    t = setup.t;
    background = setup.background;
    await t.admin.createOrganization('golden-org');
  }, 60_000);
  afterAll(async () => setup?.close());

  it('has the scenarios the rules engine is held to', () => {
    expect(scenarioFiles.length).toBeGreaterThanOrEqual(36);
  });

  for (const file of scenarioFiles) {
    it(file.replace(/\.json$/, ''), async () => {
      const scenario: Scenario = scenarioSchema.parse(JSON.parse(readFileSync(path.join(GOLDEN_DIR, file), 'utf8')));
      const name = file.replace(/\.json$/, '');
      const patientId = `g-${name}`;
      const live = scenario.clock === 'live';
      const firstAt = Math.min(...scenario.readings.map((s) => offsetMs('at' in s ? s.at : s.from)));
      // A live timeline starts its clock at its first step; a fixed one runs at "now" throughout.
      clock.set(live ? now + firstAt : now);
      // Each scenario has its own nurse (her timer and sessions are the scenario's alone); she
      // signs in afresh for each action, as a nurse coming back to the worklist would.
      const email = `${name}@golden.example`;
      await t.admin.createStaff({ email, role: 'nurse', organizationId: 'golden-org' });
      const signIn = (): Promise<string> => t.admin.login(email);
      const nurse = await signIn();
      let timerSession: string | undefined;
      try {
        await t.admin.createPatient(patientId, { organizationId: 'golden-org' });

        // Devices: ids are prefixed with the scenario so scenarios never share one.
        const secrets = new Map<string, string>();
        const hubOf = new Map<string, string>();
        const devId = (local: string): string => `${name}-${local}`;
        const assignedFrom = new Date(now - 30 * 86_400_000).toISOString();
        for (const d of scenario.devices) {
          const secret = await t.admin.createDevice({
            id: devId(d.id),
            kind: d.kind,
            ...(d.hub === undefined ? {} : { hubId: devId(d.hub) }),
            ...(d.assigned && d.kind !== 'hub' ? { patientId, assignedFrom } : {}),
          });
          secrets.set(d.id, secret);
          if (d.hub !== undefined) hubOf.set(d.id, d.hub);
        }
        const defaultDevice = scenario.devices.find((d) => d.kind !== 'hub')?.id ?? 'dev';

        if (scenario.carePlan !== undefined) {
          const res = await request(`${t.baseUrl}/v1/patients/${patientId}/care-plan`, { token: nurse, method: 'PUT', json: scenario.carePlan });
          expect(res.status, JSON.stringify(res.body)).toBe(200);
        }

        // Requests in file order: an unbatched reading alone, a batch where its first reading appears.
        type Post = { kind: 'post'; sender: string; readings: { step: ReadingStep; index: number }[]; transport: 'http' | 'mqtt' };
        type Request = Post | { kind: 'other'; step: Exclude<Scenario['readings'][number], ReadingStep> };
        const requests: Request[] = [];
        const batches = new Map<number, Post>();
        scenario.readings.forEach((step, index) => {
          if ('action' in step) {
            requests.push({ kind: 'other', step });
            return;
          }
          const device = step.device ?? defaultDevice;
          const sender = hubOf.get(device) ?? device;
          if (step.batch === undefined) {
            requests.push({ kind: 'post', sender, readings: [{ step, index }], transport: step.transport ?? 'http' });
            return;
          }
          let batch = batches.get(step.batch);
          if (batch === undefined) {
            batch = { kind: 'post', sender, readings: [], transport: step.transport ?? 'http' };
            batches.set(step.batch, batch);
            requests.push(batch);
          }
          expect(batch.sender, `batch ${step.batch} mixes senders`).toBe(sender);
          batch.readings.push({ step, index });
        });

        const advanceTo = (at: number): void => {
          if (live) clock.set(Math.max(clock.now(), at));
        };
        const alertOf = async (rule: string, token: string): Promise<{ id: string; version: number }> => {
          const res = await request<{ alerts: { id: string; rule: string; status: string; version: number }[] }>(`${t.baseUrl}/v1/patients/${patientId}/alerts`, { token });
          const found = res.body.alerts.find((a) => a.rule === rule && a.status !== 'resolved');
          if (found === undefined) throw new Error(`no unresolved ${rule} alert to act on`);
          return found;
        };

        for (const req of requests) {
          if (req.kind === 'other') {
            const step = req.step;
            if (step.action === 'assign') {
              const res = await t.admin.post(`/v1/admin/devices/${devId(step.device)}/assignments`, { patientId, from: new Date(now + offsetMs(step.from)).toISOString() });
              expect(res.status, JSON.stringify(res.body)).toBe(201);
              continue;
            }
            advanceTo(now + offsetMs(step.at));
            switch (step.action) {
              case 'resolve':
              case 'acknowledge': {
                const token = await signIn();
                const a = await alertOf(step.rule, token);
                const res = await request(`${t.baseUrl}/v1/alerts/${a.id}/${step.action}`, { token, json: { version: a.version, ...(step.action === 'resolve' ? { outcome: step.outcome ?? 'contacted-patient' } : {}) } });
                expect(res.status, JSON.stringify(res.body)).toBe(200);
                break;
              }
              case 'snooze': {
                const token = await signIn();
                const a = await alertOf(step.rule, token);
                const until = new Date(clock.now() + offsetMs(step.for ?? '30m')).toISOString();
                const res = await request(`${t.baseUrl}/v1/alerts/${a.id}/snooze`, { token, json: { version: a.version, until } });
                expect(res.status, JSON.stringify(res.body)).toBe(200);
                break;
              }
              case 'tick':
                await background.tick();
                break;
              case 'observe': {
                const measuredAt = new Date(now + offsetMs(step.at)).toISOString();
                const res = await request(`${t.baseUrl}/v1/patients/${patientId}/observations`, { token: await signIn(), json: { observations: step.observations.map((o) => ({ measuredAt, ...o })) } });
                expect(res.status, JSON.stringify(res.body)).toBe(201);
                break;
              }
              case 'timer-start': {
                timerSession = await signIn();
                const res = await request(`${t.baseUrl}/v1/patients/${patientId}/time/start`, { token: timerSession, json: { interactive: step.interactive ?? true } });
                expect(res.status, JSON.stringify(res.body)).toBe(201);
                break;
              }
              case 'logout': {
                expect(timerSession, 'logout needs a timer-start before it').toBeDefined();
                const res = await request(`${t.baseUrl}/v1/auth/logout`, { token: timerSession as string, method: 'POST' });
                expect(res.status).toBe(204);
                break;
              }
              case 'idle':
                // Nothing happens on the nurse's side; the clock moved and the sweeps run.
                await background.idle();
                break;
            }
            await background.drain();
            continue;
          }
          const body = req.readings.map(({ step: r, index }) => {
            const device = r.device ?? defaultDevice;
            const { at, device: _d, batch: _b, unit, noId, sameIdAs, transport: _t, arrivesAfter: _a, ...values } = r;
            const id = sameIdAs !== undefined ? `${name}-${sameIdAs}` : `${name}-${index}`;
            return {
              ...(noId === true ? {} : { id }),
              ...values,
              unit: unit ?? UNITS[r.kind] ?? '',
              measuredAt: new Date(now + offsetMs(at)).toISOString(),
              ...(hubOf.has(device) ? { deviceId: devId(device) } : {}),
            };
          });
          // Live: the request arrives when its newest reading is measured (plus any delay).
          advanceTo(Math.max(...req.readings.map(({ step }) => now + offsetMs(step.at) + offsetMs(step.arrivesAfter ?? '0'))) + 1000);
          const token = secrets.get(req.sender);
          expect(token, `no device ${req.sender}`).toBeDefined();
          if (req.transport === 'mqtt') {
            const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${t.mqttPort}`, { username: devId(req.sender), password: token as string, protocolVersion: 4, reconnectPeriod: 0 });
            try {
              await client.publishAsync(`devices/${devId(req.sender)}/readings`, JSON.stringify({ readings: body }), { qos: 1 });
            } finally {
              await client.endAsync();
            }
          } else {
            const res = await request<{ outcomes: { status: string }[] }>(`${t.baseUrl}/v1/readings`, { token: token as string, json: { readings: body } });
            expect(res.status, JSON.stringify(res.body)).toBe(202);
            expect(
              res.body.outcomes.map((o) => o.status).filter((s) => s === 'rejected'),
              JSON.stringify(res.body),
            ).toEqual([]);
          }
          await background.drain();
        }
        // A live timeline ends "now": what the clock does meanwhile (expiry, snooze ends) has happened.
        if (live) {
          clock.set(now);
          await background.tick();
          await background.drain();
        }

        // A fresh session (the scenario's may have ended) reads back as a nurse of the organization.
        const reader = await signIn();
        if (scenario.display !== undefined) {
          const res = await request(`${t.baseUrl}/v1/me/display`, { token: reader, method: 'PUT', json: scenario.display });
          expect(res.status, JSON.stringify(res.body)).toBe(200);
        }
        try {
          await check(scenario, patientId, reader);
        } finally {
          if (scenario.display !== undefined) await request(`${t.baseUrl}/v1/me/display`, { token: reader, method: 'PUT', json: {} });
        }
      } finally {
        clock.set(now);
      }
    });
  }

  async function check(scenario: Scenario, patientId: string, reader: string): Promise<void> {
    const res = await request<{ alerts: Record<string, unknown>[] }>(`${t.baseUrl}/v1/patients/${patientId}/alerts?includeResolved=true`, { token: reader });
    expect(res.status).toBe(200);
    const actual = res.body.alerts
      .map((a): AlertJson => ({ ...a, measuredAtMs: Date.parse(a.measuredAt as string) }))
      .sort((a, b) => String(a.rule).localeCompare(String(b.rule)) || a.measuredAtMs - b.measuredAtMs);
    const expected = [...scenario.expect.alerts].sort((a, b) => a.rule.localeCompare(b.rule) || offsetMs(a.measuredAt) - offsetMs(b.measuredAt));
    const summary = actual.map((a) => `${String(a.rule)} ${String(a.severity)} ${String(a.status)} ${String(a.confirmation)} at ${formatOffset(a.measuredAtMs - now)} (${String(a.detail)})`);

    for (const rule of scenario.expect.absent) expect(actual.filter((a) => a.rule === rule).map((a) => a.rule), `no ${rule} alert expected; got:\n${summary.join('\n')}`).toEqual([]);
    expect(actual.length, `alerts:\n${summary.join('\n')}`).toBe(expected.length);
    for (const [i, e] of expected.entries()) {
      const a = actual[i] as AlertJson;
      const context = `alert ${i + 1} of:\n${summary.join('\n')}`;
      const { measuredAt, titleContains, not, detailContains, actionContains, afterResolveContains, confirmationTextContains, priorityReasons, episode, ...fields } = e;
      const picked = Object.fromEntries(Object.keys(fields).map((k) => [k, a[k]]));
      expect({ ...picked, measuredAt: formatOffset(a.measuredAtMs - now) }, context).toEqual({ ...fields, measuredAt: formatOffset(offsetMs(measuredAt)) });
      if (titleContains !== undefined) expect(String(a.title), context).toContain(titleContains);
      if (detailContains !== undefined) expect(String(a.detail), context).toContain(detailContains);
      if (actionContains !== undefined) expect(String(a.action), context).toContain(actionContains);
      if (afterResolveContains !== undefined) expect(String(a.afterResolve), context).toContain(afterResolveContains);
      if (confirmationTextContains !== undefined) expect(String(a.confirmationText), context).toContain(confirmationTextContains);
      if (priorityReasons !== undefined) {
        const codes = ((a.priorityReasons as { code: string }[] | undefined) ?? []).map((r) => r.code);
        expect(codes, context).toEqual(expect.arrayContaining(priorityReasons));
      }
      for (const which of ['first', 'worst'] as const) {
        const want = episode?.[which];
        if (want === undefined) continue;
        const got = a.episode?.[which];
        expect(got, context).toBeDefined();
        expect(formatOffset(Date.parse(got?.measuredAt ?? '') - now), `${which} reading: ${context}`).toBe(formatOffset(offsetMs(want.at)));
        if (want.textContains !== undefined) expect(got?.text, `${which} reading: ${context}`).toContain(want.textContains);
      }
      for (const [k, v] of Object.entries(not ?? {})) expect(a[k], `alert ${i + 1}: ${k} must not be ${JSON.stringify(v)}`).not.toEqual(v);
      // Engine alerts are tenant-stamped, so they reach this organization's worklist and stream.
      expect(a.patientId).toBe(patientId);
    }
    if (scenario.expect.news2 !== undefined) {
      const n = await request<Record<string, unknown>>(`${t.baseUrl}/v1/patients/${patientId}/news2`, { token: reader });
      expect(n.body).toMatchObject(scenario.expect.news2);
    }
    if (scenario.expect.timeEntries !== undefined) {
      const month = new Date(now).toISOString().slice(0, 7);
      const log = await request<{ entries: { stopReason: string | null; minutes: number | null }[] }>(`${t.baseUrl}/v1/patients/${patientId}/time?month=${month}`, { token: reader });
      expect(log.body.entries.map((e) => ({ stopReason: e.stopReason, minutes: e.minutes }))).toMatchObject(scenario.expect.timeEntries);
    }
    if (scenario.expect.readings !== undefined) {
      expect(await t.admin.readings(patientId)).toHaveLength(scenario.expect.readings);
    }
  }
}
