import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createInterface } from 'node:readline';
import * as hdr from 'hdr-histogram-js';
import { H } from './workload.js';

/**
 * The two generator-side processes of the reading-to-alert latency run (rules.bench.ts
 * --role load | sse), both pinned to the generator core. Times are wall-clock instants from
 * performance.timeOrigin + performance.now(), comparable across the two processes.
 */
export const wall = (): number => performance.timeOrigin + performance.now();

export interface Topology {
  readonly hubs: { readonly id: string; readonly secret: string; readonly devices: { readonly id: string; readonly patientId: string }[] }[];
  readonly startMs: number;
}

const SPACING_MS = 4 * H;
export const RAISE_EVERY = 50;

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

export async function loadRole(f: Map<string, string>): Promise<void> {
  const num = (name: string, dflt: number): number => (f.has(name) ? Number(f.get(name)) : dflt);
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

export async function sseRole(f: Map<string, string>): Promise<void> {
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
