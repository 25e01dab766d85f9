import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import { createSqliteStores } from '../connectors/sqlite/index.js';
import { createLogger } from '../core/logging.js';
import type { ComponentName, ReadingKind } from '../core/model/reading-kinds.js';
import type { Reading } from '../core/model/reading.js';
import { hashSecret, issueSecret } from '../gateway/auth/device-secret.js';
import { AlertingService } from '../pipeline/alerting-service.js';
import { CarePlans } from '../pipeline/care-plans.js';
import { idempotencyKey, readingId } from '../pipeline/reading-id.js';
import { lookbackMs, parseCarePlan, resolveRules } from '../rules/care-plan.js';
import { type ConditionState, EMPTY_CONDITION, evaluateCondition } from '../rules/conditions.js';
import type { CarePlanInput, RuleDefinition } from '../rules/model.js';
import { type Observation, ruleWatches, verdictAt } from '../rules/verdicts.js';
import { canPin, cpuTimeMs, freePort, GENERATOR_CORE, pinnedArgv, stopProcess, SUT_CORE, tailStderr, waitForPort } from './lib/proc.js';

/**
 * Rules engine benchmark (issue: rules engine and worklist). Writes benchmarks/RULES-RESULTS.md.
 *
 *   node --import tsx benchmarks/rules.bench.ts            (builds dist/ first; ~2 minutes)
 *   node --import tsx benchmarks/rules.bench.ts --no-build --duration 30 --rate 10000
 *
 * (a) Throughput on one core (this script re-runs itself pinned to core 1 with --role throughput):
 *     - pure evaluation: verdicts + condition state machine, care plan general + hypertension +
 *       heart-failure + diabetes, a month of mixed home readings per patient, streamed in order;
 *     - AlertingService end to end over a real SQLite store: readings committed first, then one
 *       drain (history loads, state reads, alert and cursor transactions included).
 * (b) Reading-to-alert latency through the running gateway: `node dist/gateway/main.js` pinned to
 *     core 1; on core 0 a load process (hubs posting 100 readings per request, one reading per
 *     patient, at the target rate; 1 in 50 readings per patient is a hypoglycemia that raises an
 *     alert) and a separate SSE client on GET /v1/worklist/stream. Latency = arrival of the alert's
 *     `created` event on the stream − arrival of the HTTP 202 that acknowledged its reading, both
 *     read from the same wall clock (performance.timeOrigin + performance.now()) in two processes.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SELF = fileURLToPath(import.meta.url);
const PLAN: CarePlanInput = { programs: ['general', 'hypertension', 'heart-failure', 'diabetes'] };
const H = 3_600_000;
const D = 24 * H;
const wall = (): number => performance.timeOrigin + performance.now();

function flags(argv: readonly string[] = process.argv.slice(2)): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) continue;
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out.set(a.slice(2), 'true');
    else {
      out.set(a.slice(2), next);
      i++;
    }
  }
  return out;
}
const f = flags();
const num = (name: string, dflt: number): number => (f.has(name) ? Number(f.get(name)) : dflt);

/** Deterministic PRNG (mulberry32), so every run evaluates the same readings. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Sample {
  readonly kind: ReadingKind;
  readonly values: Partial<Record<ComponentName, number>>;
  readonly unit: string;
  readonly atMs: number;
}

/**
 * A month of home readings per patient, 7 a day: BP morning (with a repeat 5 min later) and
 * evening, a morning weight, fasting and bedtime glucose, SpO2 with pulse at noon. About 2 %
 * are abnormal (severe BP, hypo/hyperglycemia, low SpO2, a weight jump).
 */
function patientMonth(seed: number, startMs: number, days: number): Sample[] {
  const r = rng(seed);
  const out: Sample[] = [];
  let weight = 70 + r() * 30;
  const odd = (): boolean => r() < 0.02;
  for (let d = 0; d < days; d++) {
    const day = startMs + d * D;
    const bp = (at: number): Sample =>
      odd()
        ? { kind: 'blood-pressure', values: { systolic: 182 + Math.round(r() * 20), diastolic: 100 + Math.round(r() * 15), pulse: 80 }, unit: 'mm[Hg]', atMs: at }
        : { kind: 'blood-pressure', values: { systolic: 118 + Math.round(r() * 20), diastolic: 72 + Math.round(r() * 12), pulse: 60 + Math.round(r() * 20) }, unit: 'mm[Hg]', atMs: at };
    out.push(bp(day + 7 * H), bp(day + 7 * H + 5 * 60_000));
    weight += odd() ? 1.2 : (r() - 0.5) * 0.4;
    out.push({ kind: 'body-weight', values: { value: Math.round(weight * 10) / 10 }, unit: 'kg', atMs: day + 7 * H + 10 * 60_000 });
    const glucose = (at: number): Sample => ({ kind: 'blood-glucose', values: { value: odd() ? (r() < 0.5 ? 58 : 310) : 90 + Math.round(r() * 60) }, unit: 'mg/dL', atMs: at });
    out.push(glucose(day + 7 * H + 30 * 60_000));
    out.push({ kind: 'spo2', values: { value: odd() ? 90 : 95 + Math.round(r() * 3), pulse: 60 + Math.round(r() * 25) }, unit: '%', atMs: day + 12 * H });
    out.push(bp(day + 19 * H));
    out.push(glucose(day + 21 * H));
  }
  return out;
}

/** All patients' readings in measurement order (as they would stream in). */
function workload(patients: number, days: number, startMs: number): { patient: number; s: Sample }[] {
  const all: { patient: number; s: Sample }[] = [];
  for (let p = 0; p < patients; p++) for (const s of patientMonth(1000 + p, startMs + (p % 60) * 60_000, days)) all.push({ patient: p, s });
  return all.sort((a, b) => a.s.atMs - b.s.atMs || a.patient - b.patient);
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

// ---------------------------------------------------------------------------------------------
// (a) throughput on one core
// ---------------------------------------------------------------------------------------------


function pureEvaluation(rules: readonly RuleDefinition[], items: readonly { patient: number; s: Sample }[], patients: number): { seconds: number; verdicts: number; opened: number } {
  const keep = lookbackMs(rules) + D;
  const histories: Observation[][] = Array.from({ length: patients }, () => []);
  const states: Map<string, ConditionState>[] = Array.from({ length: patients }, () => new Map());
  let verdicts = 0;
  let opened = 0;
  const t0 = performance.now();
  for (const [i, { patient, s }] of items.entries()) {
    const o: Observation = { id: `r${i}`, kind: s.kind, measuredAtMs: s.atMs, values: s.values };
    const history = histories[patient] as Observation[];
    history.push(o);
    // Keep the look-back the engine keeps (the longest window: 14-day SpO2 baseline).
    while ((history[0] as Observation).measuredAtMs < s.atMs - keep) history.shift();
    const st = states[patient] as Map<string, ConditionState>;
    for (const rule of rules) {
      if (!ruleWatches(rule, s.kind)) continue;
      const v = verdictAt(rule, o, history);
      if (v === null) continue;
      verdicts++;
      const { state, change } = evaluateCondition(rule, st.get(rule.id) ?? EMPTY_CONDITION, [v]);
      st.set(rule.id, state);
      if (change?.type === 'opened') opened++;
    }
  }
  return { seconds: (performance.now() - t0) / 1000, verdicts, opened };
}

function toReading(patientId: string, deviceId: string, s: Sample, seq: number): Reading {
  const components = Object.entries(s.values).map(([name, value]) => ({ name: name as ComponentName, code: 'x', value: value as number, unit: name === 'pulse' ? '/min' : s.unit }));
  const clientId = `${patientId}-${seq}`;
  const key = idempotencyKey(clientId, s.kind, s.atMs);
  return {
    id: readingId(deviceId, key),
    clientId,
    idempotencyKey: key,
    deviceId,
    hubId: null,
    patientId,
    kind: s.kind,
    code: 'x',
    components,
    reported: { unit: s.unit, values: s.values },
    measuredAt: new Date(s.atMs).toISOString(),
    measuredAtMs: s.atMs,
    utcOffsetMinutes: 0,
    receivedAtMs: s.atMs + 60_000,
    entryMethod: 'device',
    setting: 'home',
    mealContext: null,
    glucoseMethod: null,
    sequence: seq,
    transport: 'http',
    flags: [],
  };
}

async function serviceEndToEnd(patients: number, days: number): Promise<{ readings: number; seconds: number; alerts: number; commitSeconds: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rpm-rules-bench-'));
  try {
    const stores = createSqliteStores({ path: path.join(dir, 'rpm.sqlite'), synchronous: 'FULL' });
    const now = Date.now();
    for (let p = 0; p < patients; p++) {
      await stores.registry.createPatient({ id: `p${p}`, organizationId: 'org', createdAtMs: now });
      await stores.alerts.saveCarePlan(`p${p}`, PLAN, null, 'bench', now - 40 * D);
    }
    const items = workload(patients, days, now - (days + 1) * D);
    const readings = items.map(({ patient, s }, i) => toReading(`p${patient}`, `d${patient}`, s, i));
    const c0 = performance.now();
    for (let i = 0; i < readings.length; i += 1000) await stores.readings.commit({ readings: readings.slice(i, i + 1000), rejections: [] });
    const commitSeconds = (performance.now() - c0) / 1000;
    const engine = new AlertingService({
      readings: stores.readings,
      alerts: stores.alerts,
      registry: stores.registry,
      carePlans: new CarePlans(stores.alerts),
      clock: { now: () => now },
      log: createLogger('silent'),
      newId: randomUUID,
    });
    let alerts = 0;
    engine.onAlertChange((_a, change) => {
      if (change === 'created') alerts++;
    });
    const t0 = performance.now();
    await engine.drain();
    const seconds = (performance.now() - t0) / 1000;
    await engine.stop();
    await stores.close();
    return { readings: readings.length, seconds, alerts, commitSeconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function throughputRole(): Promise<void> {
  const patients = num('patients', 500);
  const days = num('days', 30);
  const rules = resolveRules(parseCarePlan(PLAN));
  const items = workload(patients, days, Date.UTC(2026, 9, 1));
  pureEvaluation(rules, items, patients); // warm-up (JIT)
  const pure: { seconds: number; verdicts: number; opened: number }[] = [];
  for (let i = 0; i < 3; i++) pure.push(pureEvaluation(rules, items, patients));
  const e2e: Awaited<ReturnType<typeof serviceEndToEnd>>[] = [];
  for (let i = 0; i < 2; i++) e2e.push(await serviceEndToEnd(num('e2e-patients', 500), num('e2e-days', 14)));
  const out = {
    rules: rules.map((r) => r.id),
    pure: { patients, days, readings: items.length, verdicts: pure[0]?.verdicts, opened: pure[0]?.opened, perSecond: pure.map((p) => items.length / p.seconds) },
    e2e: e2e.map((e) => ({ ...e, perSecond: e.readings / e.seconds })),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

// ---------------------------------------------------------------------------------------------
// (b) reading-to-alert latency through the running gateway
// ---------------------------------------------------------------------------------------------

interface Topology {
  readonly hubs: { readonly id: string; readonly secret: string; readonly devices: { readonly id: string; readonly patientId: string }[] }[];
  readonly startMs: number;
}

const SPACING_MS = 4 * H;
const RAISE_EVERY = 50;

/**
 * Reading k of a patient (a cycle of kinds, 4 h apart); one in RAISE_EVERY is a hypoglycemia,
 * at a phase that differs between patients so that every request carries a few.
 */
function cycleReading(k: number, p: number): { body: Record<string, unknown>; raising: boolean } {
  const phase = (k + p) % RAISE_EVERY;
  if (phase === 25) return { body: { kind: 'blood-glucose', value: 60, unit: 'mg/dL' }, raising: true };
  if (phase === 26) return { body: { kind: 'blood-glucose', value: 112, unit: 'mg/dL' }, raising: false };
  const jitter = (k * 7 + p) % 5;
  switch (k % 10) {
    case 0:
    case 5:
      return { body: { kind: 'blood-pressure', systolic: 120 + jitter, diastolic: 76 + (jitter % 3), pulse: 70 + jitter, unit: 'mmHg' }, raising: false };
    case 1:
      return { body: { kind: 'body-weight', value: 80 + jitter / 10, unit: 'kg' }, raising: false };
    case 2:
    case 6:
      return { body: { kind: 'blood-glucose', value: 105 + jitter * 5, unit: 'mg/dL' }, raising: false };
    case 3:
    case 7:
      return { body: { kind: 'spo2', value: 96 + (jitter % 3), pulse: 72, unit: '%' }, raising: false };
    default:
      return { body: { kind: 'heart-rate', value: 68 + jitter, unit: '/min' }, raising: false };
  }
}

async function loadRole(): Promise<void> {
  const topo = JSON.parse(readFileSync(f.get('topology') as string, 'utf8')) as Topology;
  const url = new URL(f.get('url') as string);
  const rate = num('rate', 10_000);
  const batch = topo.hubs[0]?.devices.length ?? 100;
  const warmupS = num('warmup', 5);
  const durationS = num('duration', 30);
  const hubs = topo.hubs.length;
  const periodMs = (1000 * hubs * batch) / rate; // each hub sends one request per period
  const agent = new http.Agent({ keepAlive: true, maxSockets: hubs * 2 });
  const counters = new Map<string, number>(); // patient → next k
  const raising: [string, number][] = [];
  const ack = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
  let sentReadings = 0;
  let acceptedInWindow = 0;
  let late = 0;
  let errors = 0;
  const startAt = performance.now() + 200;
  const measureFrom = startAt + warmupS * 1000;
  const endAt = measureFrom + durationS * 1000;
  const emit = (o: unknown): boolean => process.stdout.write(`${JSON.stringify(o)}\n`);
  setTimeout(() => emit({ event: 'start' }), Math.max(0, measureFrom - performance.now()));
  setTimeout(() => emit({ event: 'stop' }), Math.max(0, endAt - performance.now()));

  const post = (secret: string, body: string): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        { host: url.hostname, port: url.port, path: '/v1/readings', method: 'POST', agent, headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  const hubLoop = async (h: number): Promise<void> => {
    const hub = topo.hubs[h] as Topology['hubs'][number];
    for (let j = 0; ; j++) {
      const due = startAt + (j + h / hubs) * periodMs;
      if (due >= endAt || performance.now() >= endAt) return;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      else if (wait < -periodMs) late++;
      const keys: string[] = [];
      const readings = hub.devices.map((d, i) => {
        const k = counters.get(d.patientId) ?? 0;
        counters.set(d.patientId, k + 1);
        const measuredAt = new Date(topo.startMs + k * SPACING_MS).toISOString();
        const { body, raising: isRaising } = cycleReading(k, i);
        if (isRaising) keys.push(`${d.patientId}|${measuredAt}`);
        return { id: `${d.patientId}-${k}`, deviceId: d.id, measuredAt, ...body };
      });
      const sentAt = performance.now();
      const inWindow = sentAt >= measureFrom && sentAt < endAt;
      try {
        const res = await post(hub.secret, JSON.stringify({ readings }));
        const ackWall = wall();
        const ackMs = performance.now() - sentAt;
        sentReadings += readings.length;
        if (res.status !== 202) {
          errors++;
          continue;
        }
        const accepted = (JSON.parse(res.text) as { accepted: number }).accepted;
        if (inWindow) {
          acceptedInWindow += accepted;
          ack.recordValue(Math.max(1, Math.round(ackMs * 1000)));
          for (const key of keys) raising.push([key, ackWall]);
        }
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(topo.hubs.map((_h, i) => hubLoop(i)));
  // The last requests can finish before the window closes: let the stop event go out first.
  if (endAt > performance.now()) await new Promise((r) => setTimeout(r, endAt - performance.now() + 5));
  const out = f.get('out') as string;
  writeFileSync(
    out,
    JSON.stringify({
      seconds: durationS,
      sentReadings,
      acceptedInWindow,
      achievedPerSecond: acceptedInWindow / durationS,
      late,
      errors,
      ackMs: { p50: ack.getValueAtPercentile(50) / 1000, p99: ack.getValueAtPercentile(99) / 1000, max: ack.maxValue / 1000, count: ack.totalCount },
      raising,
    }),
  );
  emit({ event: 'done' });
  agent.destroy();
}

async function sseRole(): Promise<void> {
  const url = new URL('/v1/worklist/stream', f.get('url') as string);
  const token = f.get('token') as string;
  const created = new Map<string, number>();
  let events = 0;
  let updated = 0;
  await new Promise<void>((resolve, reject) => {
    const req = http.get({ host: url.hostname, port: url.port, path: url.pathname, headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`SSE answered ${res.statusCode}`));
        return;
      }
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        const at = wall();
        buffer += chunk;
        let cut = buffer.indexOf('\n\n');
        while (cut >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          cut = buffer.indexOf('\n\n');
          if (block.startsWith(': connected')) {
            process.stdout.write(`${JSON.stringify({ event: 'ready' })}\n`);
            continue;
          }
          if (!block.includes('event: alert')) continue;
          const data = block.slice(block.indexOf('data: ') + 6);
          const body = JSON.parse(data) as { change: string; alert: { patientId: string; measuredAt: string; rule: string } };
          events++;
          if (body.change !== 'created') {
            updated++;
            continue;
          }
          const key = `${body.alert.patientId}|${body.alert.measuredAt}`;
          if (!created.has(key)) created.set(key, at);
        }
      });
      res.on('end', resolve);
      res.on('error', reject);
    });
    req.on('error', reject);
    createInterface({ input: process.stdin }).on('line', (line) => {
      if (line.trim() !== 'stop') return;
      writeFileSync(f.get('out') as string, JSON.stringify({ events, updated, created: [...created.entries()] }));
      req.destroy();
      resolve();
    });
  });
}

async function provision(dataDir: string, hubs: number, perHub: number, startMs: number): Promise<Topology> {
  const stores = createSqliteStores({ path: path.join(dataDir, 'rpm.sqlite'), synchronous: 'NORMAL', writer: 'inline' });
  const now = Date.now();
  await stores.staff.createOrganization({ id: 'bench-org', name: 'Bench', createdAtMs: now });
  const topo: Topology = { hubs: [], startMs };
  // Only hubs authenticate; the devices they relay never present their own secret.
  const unusedHash = await hashSecret(randomBytes(32).toString('base64url'));
  for (let h = 0; h < hubs; h++) {
    const hubId = `hub-${h}`;
    const { credentialId, secret } = issueSecret();
    await stores.registry.createDevice(
      { id: hubId, kind: 'hub', manufacturer: null, model: null, serial: null, hubId: null, createdAtMs: now },
      { id: credentialId, deviceId: hubId, secretHash: await hashSecret(secret), createdAtMs: now },
    );
    const devices: { id: string; patientId: string }[] = [];
    for (let i = 0; i < perHub; i++) {
      const patientId = `bp-${h}-${i}`;
      const id = `mp-${h}-${i}`;
      await stores.registry.createPatient({ id: patientId, organizationId: 'bench-org', createdAtMs: now });
      await stores.registry.createDevice(
        { id, kind: 'multi-parameter', manufacturer: null, model: null, serial: null, hubId, createdAtMs: now },
        { id: randomBytes(8).toString('hex'), deviceId: id, secretHash: unusedHash, createdAtMs: now },
        { deviceId: id, patientId, fromMs: 0 },
      );
      await stores.alerts.saveCarePlan(patientId, PLAN, null, 'bench', now);
      devices.push({ id, patientId });
    }
    topo.hubs.push({ id: hubId, secret, devices });
  }
  await stores.close();
  return topo;
}

function spawnRole(core: number, args: string[]): { child: ChildProcess; argv: string[] } {
  const argv = pinnedArgv(core, process.execPath, ['--import', 'tsx', SELF, ...args]);
  const [exe, ...rest] = argv as [string, ...string[]];
  return { child: spawn(exe, rest, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] }), argv };
}

function lines(child: ChildProcess, on: (o: { event: string }) => void): void {
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      on(JSON.parse(line) as { event: string });
    } catch {
      // not ours
    }
  });
}

async function latencyRun(opts: { rate: number; warmup: number; duration: number; hubs: number; perHub: number }): Promise<Record<string, unknown>> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rpm-rules-latency-'));
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'rpm-rules-io-'));
  const startMs = Math.floor((Date.now() - 300 * D) / 1000) * 1000;
  const children: ChildProcess[] = [];
  try {
    const t0 = performance.now();
    const topo = await provision(dataDir, opts.hubs, opts.perHub, startMs);
    const provisionS = (performance.now() - t0) / 1000;
    const step = (what: string): boolean => process.stderr.write(`  ${what} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
    step('provisioned');
    writeFileSync(path.join(tmp, 'topology.json'), JSON.stringify(topo));
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    const adminToken = randomBytes(24).toString('base64url');
    const env = {
      RPM_DATA_DIR: dataDir,
      RPM_HTTP_HOST: '127.0.0.1',
      RPM_HTTP_PORT: String(httpPort),
      RPM_MQTT_HOST: '127.0.0.1',
      RPM_MQTT_PORT: String(mqttPort),
      RPM_LOG_LEVEL: 'warn',
      RPM_RATE_LIMIT_PER_DEVICE_PER_MIN: '100000000',
      RPM_MISSING_DATA_SWEEP_S: '86400',
    };
    const prof = f.get('gateway-cpu-prof');
    const gwArgv = pinnedArgv(SUT_CORE, process.execPath, [...(prof === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${prof}`]), 'dist/gateway/main.js']);
    const [gexe, ...grest] = gwArgv as [string, ...string[]];
    const gateway = spawn(gexe, grest, { cwd: ROOT, env: { ...process.env, ...env, RPM_ADMIN_TOKEN: adminToken }, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(gateway);
    const gwErr = tailStderr(gateway);
    await waitForPort(httpPort, gateway).catch((err: unknown) => {
      throw new Error(`gateway did not start: ${String(err)}\n${gwErr()}`);
    });
    const base = `http://127.0.0.1:${httpPort}`;
    step('gateway listening');
    const admin = async (p: string, body: unknown): Promise<Record<string, unknown>> => {
      const res = await fetch(`${base}${p}`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const json = (await res.json()) as Record<string, unknown>;
      if (res.status >= 300) throw new Error(`${p}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    const password = randomBytes(18).toString('base64url');
    await admin('/v1/admin/staff', { email: 'bench-nurse@bench.example', role: 'nurse', organizationId: 'bench-org', password });
    const login = await fetch(`${base}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'bench-nurse@bench.example', password }) });
    const token = ((await login.json()) as { token: string }).token;

    // First use of each hub secret pays one argon2 verification: do it before the clock starts.
    for (const hub of topo.hubs) {
      const d = hub.devices[0] as { id: string };
      const res = await fetch(`${base}/v1/readings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${hub.secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ readings: [{ id: `prime-${hub.id}`, deviceId: d.id, kind: 'heart-rate', value: 70, unit: '/min', measuredAt: new Date(startMs - H).toISOString() }] }),
      });
      if (res.status !== 202) throw new Error(`priming ${hub.id}: ${res.status} ${await res.text()}`);
    }

    step('nurse logged in, hubs primed');
    const sseOut = path.join(tmp, 'sse.json');
    const sse = spawnRole(GENERATOR_CORE, ['--role', 'sse', '--url', base, '--token', token, '--out', sseOut]);
    children.push(sse.child);
    const sseErr = tailStderr(sse.child);
    await new Promise<void>((resolve, reject) => {
      lines(sse.child, (o) => o.event === 'ready' && resolve());
      sse.child.once('exit', (code) => reject(new Error(`SSE client exited (${code}): ${sseErr()}`)));
    });

    step('stream connected');
    const loadOut = path.join(tmp, 'load.json');
    const loadArgs = ['--role', 'load', '--url', base, '--topology', path.join(tmp, 'topology.json'), '--rate', String(opts.rate), '--warmup', String(opts.warmup), '--duration', String(opts.duration), '--out', loadOut];
    const load = spawnRole(GENERATOR_CORE, loadArgs);
    children.push(load.child);
    const loadErr = tailStderr(load.child);
    let cpuStart = 0;
    let cpuStop = 0;
    let wallStart = 0;
    let wallStop = 0;
    await new Promise<void>((resolve, reject) => {
      lines(load.child, (o) => {
        if (o.event === 'start') {
          cpuStart = cpuTimeMs(gateway.pid as number);
          wallStart = performance.now();
        } else if (o.event === 'stop') {
          cpuStop = cpuTimeMs(gateway.pid as number);
          wallStop = performance.now();
        } else if (o.event === 'done') resolve();
      });
      load.child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`load exited (${code}): ${loadErr()}`))));
    });
    step('load done');
    // Let the engine finish the last commits, then stop the stream.
    await new Promise((r) => setTimeout(r, 2000));
    sse.child.stdin!.write('stop\n');
    await new Promise((r) => sse.child.once('exit', r));

    const loadRes = JSON.parse(readFileSync(loadOut, 'utf8')) as { raising: [string, number][]; achievedPerSecond: number; ackMs: Record<string, number>; errors: number; late: number; sentReadings: number; acceptedInWindow: number };
    const sseRes = JSON.parse(readFileSync(sseOut, 'utf8')) as { events: number; updated: number; created: [string, number][] };
    const arrivals = new Map(sseRes.created);
    const hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
    let missing = 0;
    let beforeAck = 0;
    for (const [key, ackAt] of loadRes.raising) {
      const at = arrivals.get(key);
      if (at === undefined) {
        missing++;
        continue;
      }
      const us = Math.round((at - ackAt) * 1000);
      if (us < 0) beforeAck++;
      hist.recordValue(Math.max(1, us));
    }
    const exitCode = await stopProcess(gateway);
    return {
      provisionS,
      hubs: opts.hubs,
      patients: opts.hubs * opts.perHub,
      readingsPerRequest: opts.perHub,
      targetPerSecond: opts.rate,
      warmupS: opts.warmup,
      durationS: opts.duration,
      achievedPerSecond: loadRes.achievedPerSecond,
      acceptedInWindow: loadRes.acceptedInWindow,
      ackMs: loadRes.ackMs,
      loadErrors: loadRes.errors,
      lateRequests: loadRes.late,
      raisingReadings: loadRes.raising.length,
      matched: hist.totalCount,
      missing,
      beforeAck,
      alertMs: { p50: hist.getValueAtPercentile(50) / 1000, p90: hist.getValueAtPercentile(90) / 1000, p99: hist.getValueAtPercentile(99) / 1000, max: hist.maxValue / 1000 },
      sseEvents: sseRes.events,
      gatewayCores: wallStop > wallStart ? (cpuStop - cpuStart) / (wallStop - wallStart) : null,
      gatewayExit: exitCode,
      commands: {
        gateway: `${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')} RPM_ADMIN_TOKEN='<random>' ${gwArgv.map((a) => (a === process.execPath ? 'node' : a)).join(' ')}`,
        load: load.argv.map((a) => (a === process.execPath ? 'node' : a.startsWith(ROOT) ? path.relative(ROOT, a) : a)).join(' ').replace(tmp, '$TMP').replace(tmp, '$TMP'),
        sse: sse.argv.map((a) => (a === process.execPath ? 'node' : a.startsWith(ROOT) ? path.relative(ROOT, a) : a)).join(' ').replace(token, '<nurse token>').replace(tmp, '$TMP'),
      },
    };
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// orchestration and report
// ---------------------------------------------------------------------------------------------

function machine(): Record<string, string> {
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim();
    if (dirty !== '') commit += ' + uncommitted changes';
  } catch {
    // not a git checkout
  }
  return { cpu: `${cpu}, ${os.cpus().length} cores`, memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`, node: process.version, os: `${os.type()} ${os.release()}`, commit, date: new Date().toISOString(), load: os.loadavg().map((x) => x.toFixed(2)).join(' ') };
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function main(): Promise<void> {
  const role = f.get('role');
  if (role !== undefined) {
    if (role === 'throughput') await throughputRole();
    else if (role === 'load') await loadRole();
    else if (role === 'sse') await sseRole();
    else throw new Error(`unknown role ${role}`);
    // stdin and keep-alive sockets would hold the process open.
    process.exit(0);
  }

  if (f.get('part') === 'b') {
    // Diagnostics: the latency run alone, JSON out, no report.
    const b = await latencyRun({ rate: num('rate', 10_000), warmup: num('warmup', 5), duration: num('duration', 30), hubs: num('hubs', 40), perHub: num('per-hub', 100) });
    process.stdout.write(`${JSON.stringify(b, null, 2)}\n`);
    return;
  }
  const began = performance.now();
  const command = `node --import tsx benchmarks/rules.bench.ts${process.argv.slice(2).length > 0 ? ` ${process.argv.slice(2).join(' ')}` : ''}`;
  const m = machine();
  if (f.get('build') !== 'false' && !f.has('no-build')) {
    process.stderr.write('building dist/ (npm run build)…\n');
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  }

  process.stderr.write('(a) throughput on one core…\n');
  const tp = spawnRole(SUT_CORE, ['--role', 'throughput']);
  const tpErr = tailStderr(tp.child);
  let tpText = '';
  tp.child.stdout!.setEncoding('utf8');
  tp.child.stdout!.on('data', (c: string) => (tpText += c));
  const tpCode = await new Promise<number | null>((r) => tp.child.once('exit', r));
  if (tpCode !== 0) throw new Error(`throughput run failed (${tpCode}): ${tpErr()}`);
  const a = JSON.parse(tpText.trim().split('\n').pop() as string) as {
    rules: string[];
    pure: { patients: number; days: number; readings: number; verdicts: number; opened: number; perSecond: number[] };
    e2e: { readings: number; seconds: number; alerts: number; commitSeconds: number; perSecond: number }[];
  };

  const opts = { rate: num('rate', 10_000), warmup: num('warmup', 5), duration: num('duration', 30), hubs: num('hubs', 40), perHub: num('per-hub', 100) };
  process.stderr.write(`(b) latency through the gateway: ${opts.rate} readings/s for ${opts.warmup}+${opts.duration} s…\n`);
  const b = (await latencyRun(opts)) as Record<string, any>;
  const totalS = (performance.now() - began) / 1000;

  const pureMed = median(a.pure.perSecond);
  const e2eMed = median(a.e2e.map((e) => e.perSecond));
  const p99 = b.alertMs.p99 as number;
  const md = `# Rules engine benchmark results

Produced by \`${command}\` (whole run ${fmt(totalS)} s, build included). Method: shared/reference/performance-reliability.md §4 —
system under test pinned to core ${SUT_CORE}, load generator and SSE client on core ${GENERATOR_CORE}${canPin() ? '' : ' (**taskset unavailable: not pinned**)'}.
Short runs (one repetition of ${opts.warmup} s warm-up + ${opts.duration} s measured for the latency run) to keep the whole run under 3 minutes:
read them as indications, not as the 5 × 60 s interleaved figures §4 asks for.

| machine | |
|---|---|
| CPU | ${m.cpu} |
| memory | ${m.memory} |
| Node | ${m.node} |
| OS | ${m.os} |
| commit | ${m.commit} |
| date | ${m.date} |
| load average at start | ${m.load} |

## Summary

| measure | result | target |
|---|---|---|
| pure evaluation (verdicts + condition state machine), one core | **${fmt(pureMed)} readings/s** (median of 3) | — |
| AlertingService end to end over SQLite (pre-committed, one drain), one core | **${fmt(e2eMed)} readings/s** (median of 2) | — |
| ingest rate achieved through the gateway | **${fmt(b.achievedPerSecond as number)} readings/s** | ${fmt(opts.rate)} readings/s |
| reading-to-alert latency p50 / p99 (HTTP 202 → SSE \`alert\` event) | **${fmt(b.alertMs.p50 as number, 1)} ms / ${fmt(p99, 1)} ms** | p99 ≤ 50 ms: **${p99 <= 50 && (b.achievedPerSecond as number) >= 0.95 * opts.rate ? 'MET' : 'MISSED'}** |

## (a) Throughput on one core

Care plan: programs general + hypertension + heart-failure + diabetes → ${a.rules.length} rules (${a.rules.join(', ')}).
Workload: ${fmt(a.pure.patients)} patients × ${a.pure.days} days of home readings, 7 a day (BP morning with a repeat 5 min later and evening,
morning weight, fasting and bedtime glucose, SpO2 with pulse at noon), about 2 % abnormal (severe BP, hypo/hyperglycemia,
SpO2 90 %, a 1.2 kg weight jump); ${fmt(a.pure.readings)} readings in measurement order, deterministic (seeded PRNG).

**Pure evaluation** (\`verdictAt\` for every rule watching the reading's kind over the patient's history, trimmed to the
engine's look-back of 15 days, then \`evaluateCondition\`; no I/O): ${fmt(a.pure.verdicts)} verdicts, ${fmt(a.pure.opened)} conditions opened per pass.

| repetition | readings/s |
|---|---:|
${a.pure.perSecond.map((x, i) => `| ${i + 1} | ${fmt(x)} |`).join('\n')}

**AlertingService end to end** (\`connectors/sqlite\` stores in a temp dir, synchronous=FULL; readings committed first, then
one \`drain()\` timed: reading-log scan, per-patient history loads from SQLite, condition states, alert + cursor transactions
per batch of 2,000 readings).

| repetition | readings | alerts raised | drain s | readings/s | (commit of the readings beforehand, s) |
|---|---:|---:|---:|---:|---:|
${a.e2e.map((e, i) => `| ${i + 1} | ${fmt(e.readings)} | ${fmt(e.alerts)} | ${fmt(e.seconds, 2)} | ${fmt(e.perSecond)} | ${fmt(e.commitSeconds, 2)} |`).join('\n')}

## (b) Reading-to-alert latency through the running gateway

- Gateway: \`node dist/gateway/main.js\`, default durability (SQLite WAL, synchronous=FULL, group commit), pinned to core ${SUT_CORE};
  ${fmt(b.patients as number)} patients on the same care plan, each with a multi-parameter device relayed by one of ${b.hubs} hubs.
- Load (core ${GENERATOR_CORE}): each hub sends one request of ${b.readingsPerRequest} readings (one per patient of the hub) on a fixed
  schedule, sequentially per hub as a real hub does, ${fmt(opts.rate)} readings/s in total; each patient's readings are 4 h apart
  in measurement time, a cycle of BP, weight, glucose, SpO2 and heart rate, and 1 in ${RAISE_EVERY} is a glucose of 60 mg/dL
  (hypoglycemia: opens a glucose-low alert; the next reading, 112 mg/dL, auto-resolves it).
- SSE client (core ${GENERATOR_CORE}, its own process): a nurse of the organization on \`GET /v1/worklist/stream\`; for every
  alert-raising reading sent in the measured window, latency = arrival of its \`created\` event − arrival of the 202 that
  acknowledged its request (matched by patient and measurement time).

| measure | value |
|---|---|
| readings acknowledged in the window | ${fmt(b.acceptedInWindow as number)} in ${b.durationS} s = **${fmt(b.achievedPerSecond as number)} readings/s** (target ${fmt(opts.rate)}) |
| requests behind schedule by more than one period | ${fmt(b.lateRequests as number)} |
| load errors (non-202, connection) | ${fmt(b.loadErrors as number)} |
| ack latency (send → 202) p50 / p99 / max | ${fmt(b.ackMs.p50 as number, 1)} / ${fmt(b.ackMs.p99 as number, 1)} / ${fmt(b.ackMs.max as number, 1)} ms |
| alert-raising readings in the window | ${fmt(b.raisingReadings as number)} |
| matched alerts on the stream | ${fmt(b.matched as number)} (missing: ${fmt(b.missing as number)}; event before the 202 reached the client: ${fmt(b.beforeAck as number)}, counted as 0 ms) |
| **alert latency p50 / p90 / p99 / max** | **${fmt(b.alertMs.p50 as number, 1)} / ${fmt(b.alertMs.p90 as number, 1)} / ${fmt(b.alertMs.p99 as number, 1)} / ${fmt(b.alertMs.max as number, 1)} ms** |
| SSE events received (created + updated) | ${fmt(b.sseEvents as number)} |
| gateway CPU in the window | ${b.gatewayCores === null ? 'n/a' : `${fmt(b.gatewayCores as number, 2)} cores`} |
| gateway exit code after SIGTERM | ${String(b.gatewayExit)} |
| provisioning (${fmt(b.patients as number)} patients, devices, care plans written to SQLite before start) | ${fmt(b.provisionS as number, 1)} s |

Commands (what the harness ran):

\`\`\`
${b.commands.gateway}
${b.commands.sse}
${b.commands.load}
\`\`\`
`;
  writeFileSync(path.join(ROOT, 'benchmarks', 'RULES-RESULTS.md'), md);
  process.stdout.write(md);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
