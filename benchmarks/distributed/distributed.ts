import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ChildGateway, clusterProcess, sleep } from '../../test/helpers/child-gateway.js';
import { ADMIN_TOKEN, AdminClient, request, STAFF_PASSWORD, tempDir } from '../../test/helpers/gateway.js';
import { startOwnPostgres, type OwnPostgres } from '../../test/helpers/own-postgres.js';
import { startOwnRedis, type OwnRedis } from '../../test/helpers/redis.js';
import { VictoriaMetrics } from '../../test/helpers/victoria-metrics.js';
import { TcpBalancer } from '../loss/tcp-balancer.js';

/**
 * `npm run bench -- --only distributed` → benchmarks/DISTRIBUTED.md. Side by side in one run, on
 * this machine: the single process on SQLite (embedded), and the distributed mode with 1 and with
 * 2 gateways (2 workers, PostgreSQL, Redis and VictoriaMetrics of its own in both). For each:
 * durable readings/s under HTTP hub batches, CPU µs per durable reading summed over every process
 * (gateways, workers, PostgreSQL's backends, Redis, the time-series server), and reading → alert
 * latency on a nurse's worklist stream while the load runs.
 */

const CLK_TCK = 100;

/** CPU seconds (user + system) of a process and, for PostgreSQL, of every backend under its postmaster. */
function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited
    }
  }
  return ticks / CLK_TCK;
}

/** Every process whose parent is `ppid` (PostgreSQL's backends), and `ppid` itself. */
function withChildren(ppid: number): number[] {
  const out = [ppid];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === ppid) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

interface Setup {
  readonly name: string;
  /** Bytes the primary store spends per stored reading (table and indexes), when it can say. */
  bytesPerReading?(): Promise<number | undefined>;
  readonly baseUrl: string;
  /** Processes whose CPU counts, read at each sample (PostgreSQL backends come and go). */
  pids(): number[];
  close(): Promise<void>;
}

interface Result {
  readonly name: string;
  readonly readingsPerSec: number;
  readonly cpuUsPerReading: number;
  readonly cpuByRole: Record<string, number>;
  readonly alertP50Ms: number;
  readonly alertP99Ms: number;
  readonly alerts: number;
  readonly bytesPerReading: number | undefined;
}

async function embedded(): Promise<Setup & { roles(): Record<string, number[]> }> {
  const dataDir = tempDir('rpm-bench-emb-');
  const gw = new ChildGateway({ dataDir, env: { RPM_RATE_LIMIT_PER_DEVICE_PER_MIN: '100000000', RPM_LOG_LEVEL: 'warn' } });
  await gw.start();
  const roles = (): Record<string, number[]> => ({ gateway: [gw.current?.pid ?? 0] });
  return {
    name: 'embedded (1 process, SQLite)',
    baseUrl: gw.baseUrl,
    roles,
    pids: () => Object.values(roles()).flat(),
    async close() {
      await gw.stop('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function distributed(gateways: number): Promise<Setup & { roles(): Record<string, number[]> }> {
  const [postgres, redis, vm]: [OwnPostgres, OwnRedis, VictoriaMetrics] = await Promise.all([startOwnPostgres(), startOwnRedis(), VictoriaMetrics.start()]);
  const key = randomBytes(32).toString('base64');
  const dirs: string[] = [];
  const node = (name: string, role: 'gateway' | 'worker'): ChildGateway => {
    const dataDir = tempDir(`rpm-bench-${name}-`);
    dirs.push(dataDir);
    return clusterProcess(name, role, dataDir, {
      RPM_DATABASE_URL: postgres.url,
      RPM_REDIS_URL: redis.url,
      RPM_SECRET_KEYS: `k1:${key}`,
      RPM_TIMESERIES_URL: vm.url,
      RPM_RATE_LIMIT_PER_DEVICE_PER_MIN: '100000000',
      RPM_LOG_LEVEL: 'warn',
    });
  };
  const gws = Array.from({ length: gateways }, (_, i) => node(`gw-${i + 1}`, 'gateway'));
  const workers = [node('wk-1', 'worker'), node('wk-2', 'worker')];
  await gws[0]?.start();
  await Promise.all([...gws.slice(1).map((g) => g.start()), ...workers.map((w) => w.start())]);
  const lb = await TcpBalancer.start(() => gws.map((g) => g.httpPort));
  const postmaster = Number(readFileSync(path.join(postgres.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const roles = (): Record<string, number[]> => ({
    gateway: gws.map((g) => g.current?.pid ?? 0),
    worker: workers.map((w) => w.current?.pid ?? 0),
    postgres: withChildren(postmaster),
    redis: [redis.pid ?? 0],
    'time-series': [vm.pid ?? 0],
  });
  return {
    name: `distributed (${gateways} gateway${gateways > 1 ? 's' : ''} + 2 workers, PostgreSQL, Redis, VictoriaMetrics)`,
    baseUrl: `http://127.0.0.1:${lb.port}`,
    roles,
    pids: () => Object.values(roles()).flat(),
    async bytesPerReading() {
      const client = new pg.Client({ connectionString: postgres.url });
      await client.connect();
      try {
        const row = (await client.query<{ bytes: string; n: string }>("SELECT pg_total_relation_size('readings') AS bytes, (SELECT count(*) FROM readings) AS n")).rows[0];
        return row === undefined || Number(row.n) === 0 ? undefined : Math.round(Number(row.bytes) / Number(row.n));
      } finally {
        await client.end();
      }
    },
    async close() {
      await lb.close();
      for (const p of [...workers, ...gws]) await p.stop('SIGTERM', 30_000).catch(() => undefined);
      await vm.stop();
      await redis.stop();
      postgres.stop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}

/** Provisions an organization, a nurse, `patients` patients (hypertension) each with a hub-relayed cuff. */
async function provision(baseUrl: string, patients: number): Promise<{ hubs: { id: string; secret: string; devices: string[] }[]; nurse: string }> {
  const admin = new AdminClient(baseUrl);
  await admin.createOrganization('org-b');
  await admin.createStaff({ email: 'nurse@org-b.test', role: 'nurse', organizationId: 'org-b', password: STAFF_PASSWORD });
  const nurse = await admin.login('nurse@org-b.test');
  const hubs: { id: string; secret: string; devices: string[] }[] = [];
  for (let h = 0; h < Math.ceil(patients / 25); h++) hubs.push({ id: `hub-${h}`, secret: await admin.createDevice({ id: `hub-${h}`, kind: 'hub' }), devices: [] });
  for (let i = 0; i < patients; i++) {
    const patientId = `pb-${i}`;
    await admin.createPatient(patientId, { organizationId: 'org-b' });
    await request(`${baseUrl}/v1/patients/${patientId}/care-plan`, { token: nurse, method: 'PUT', json: { programs: ['general', 'hypertension'] } });
    const hub = hubs[i % hubs.length] as (typeof hubs)[number];
    await admin.createDevice({ id: `cuff-${i}`, kind: 'bp-cuff', patientId, hubId: hub.id });
    hub.devices.push(`cuff-${i}`);
  }
  return { hubs, nurse };
}

/** HTTP hub batches of normal readings for `seconds`, `concurrency` requests in flight; durable readings/s. */
async function load(baseUrl: string, hubs: { id: string; secret: string; devices: string[] }[], seconds: number, concurrency: number, batch: number): Promise<number> {
  let accepted = 0;
  let seq = 0;
  const stopAt = Date.now() + seconds * 1000;
  const base = Date.now() - 20 * 86_400_000;
  const lane = async (k: number): Promise<void> => {
    while (Date.now() < stopAt) {
      const hub = hubs[k % hubs.length] as (typeof hubs)[number];
      const readings = Array.from({ length: batch }, (_, i) => {
        const n = seq++;
        return { id: `b-${n}`, deviceId: hub.devices[i % hub.devices.length], kind: 'blood-pressure', systolic: 118, diastolic: 76, pulse: 70, unit: 'mm[Hg]', measuredAt: new Date(base + n * 10).toISOString() };
      });
      try {
        const res = await fetch(`${baseUrl}/v1/readings`, { method: 'POST', headers: { authorization: `Bearer ${hub.secret}`, 'content-type': 'application/json' }, body: JSON.stringify({ readings }) });
        const body = (await res.json()) as { accepted?: number };
        if (res.status === 202) accepted += body.accepted ?? 0;
      } catch {
        await sleep(10);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, k) => lane(k)));
  return accepted;
}

/** Crisis readings, one patient at a time, timed from the POST to the alert on the nurse's stream. */
async function alertLatency(baseUrl: string, hubs: { id: string; secret: string; devices: string[] }[], nurse: string, count: number): Promise<number[]> {
  const controller = new AbortController();
  const res = await fetch(`${baseUrl}/v1/worklist/stream`, { headers: { authorization: `Bearer ${nurse}`, accept: 'text/event-stream' }, signal: controller.signal });
  if (res.status !== 200 || res.body === null) throw new Error(`worklist stream: ${res.status}`);
  const reader = res.body.getReader();
  const waiting = new Map<string, (atMs: number) => void>();
  let text = '';
  const pump = (async () => {
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      text += decoder.decode(value, { stream: true });
      for (const [patientId, resolve] of waiting) {
        if (text.includes(`"${patientId}"`)) {
          waiting.delete(patientId);
          resolve(performance.now());
        }
      }
      if (text.length > 1_000_000) text = text.slice(-100_000);
    }
  })();
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const hub = hubs[i % hubs.length] as (typeof hubs)[number];
    const deviceId = hub.devices[Math.floor(i / hubs.length) % hub.devices.length] as string;
    const patientId = `pb-${deviceId.slice('cuff-'.length)}`;
    text = '';
    const seen = new Promise<number>((resolve) => waiting.set(patientId, resolve));
    const t0 = performance.now();
    await fetch(`${baseUrl}/v1/readings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${hub.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ readings: [{ id: `crisis-${i}`, deviceId, kind: 'blood-pressure', systolic: 190, diastolic: 100, pulse: 80, unit: 'mm[Hg]', measuredAt: new Date(Date.now() - 1000).toISOString() }] }),
    });
    const at = await Promise.race([seen, sleep(10_000).then(() => Number.NaN)]);
    waiting.delete(patientId);
    if (Number.isFinite(at)) out.push(at - t0);
    await sleep(100);
  }
  controller.abort();
  await pump;
  return out;
}

const pct = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number);
};

async function measure(setup: Setup & { roles(): Record<string, number[]> }, o: { seconds: number; patients: number; alerts: number }): Promise<Result> {
  const { hubs, nurse } = await provision(setup.baseUrl, o.patients);
  await load(setup.baseUrl, hubs, 2, 8, 100); // warm-up
  const cpu0 = Object.fromEntries(Object.entries(setup.roles()).map(([role, pids]) => [role, cpuSeconds(pids)]));
  const t0 = performance.now();
  const [accepted, latencies] = await Promise.all([load(setup.baseUrl, hubs, o.seconds, 8, 100), sleep(1000).then(() => alertLatency(setup.baseUrl, hubs, nurse, o.alerts))]);
  const elapsed = (performance.now() - t0) / 1000;
  // Let workers finish what the load left (their CPU belongs to these readings too).
  await sleep(3000);
  const cpuByRole = Object.fromEntries(Object.entries(setup.roles()).map(([role, pids]) => [role, cpuSeconds(pids) - (cpu0[role] ?? 0)]));
  const cpu = Object.values(cpuByRole).reduce((a, b) => a + b, 0);
  return {
    name: setup.name,
    readingsPerSec: Math.round(accepted / elapsed),
    cpuUsPerReading: Math.round((cpu * 1e6) / Math.max(1, accepted)),
    cpuByRole: Object.fromEntries(Object.entries(cpuByRole).map(([k, v]) => [k, Math.round((v * 1e6) / Math.max(1, accepted))])),
    alertP50Ms: Math.round(pct(latencies, 50)),
    alertP99Ms: Math.round(pct(latencies, 99)),
    alerts: latencies.length,
    bytesPerReading: await setup.bytesPerReading?.(),
  };
}

export async function runDistributedBench(root: string, o: { seconds: number; patients: number; alerts: number; command: string; log: (l: string) => void }): Promise<Result[]> {
  const results: Result[] = [];
  for (const open of [embedded, () => distributed(1), () => distributed(2)]) {
    const setup = await open();
    o.log(`  ${setup.name}`);
    try {
      const r = await measure(setup, o);
      o.log(`    ${r.readingsPerSec} readings/s, ${r.cpuUsPerReading} µs CPU per reading, alert p50 ${r.alertP50Ms} ms p99 ${r.alertP99Ms} ms`);
      results.push(r);
    } finally {
      await setup.close();
    }
  }
  const rows = results.map(
    (r) =>
      `| ${r.name} | ${r.readingsPerSec.toLocaleString('en-US')} | ${r.cpuUsPerReading} | ${Object.entries(r.cpuByRole)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')} | ${r.alertP50Ms} / ${r.alertP99Ms} (${r.alerts}) | ${r.bytesPerReading ?? '–'} |`,
  );
  const md = `# Distributed mode against the single process

Command: \`${o.command}\`, ${new Date().toISOString().slice(0, 10)}, on this 2-core machine: every process
(load driver included) shares the same two cores, so readings/s compare the setups with each other, not
with dedicated hardware. Load: HTTP hub batches of 100 BP readings, 8 in flight, ${o.seconds} s after a
2 s warm-up, through a TCP balancer in the distributed setups; ${o.patients} patients on the hypertension
program. CPU is user + system time of every process of the setup (PostgreSQL: the postmaster and all its
backends), per durable reading, including 3 s after the load for the workers to finish. Alert latency:
one crisis reading at a time during the load, from its POST to the alert on a nurse's worklist stream.

| setup | durable readings/s | CPU µs per reading (all processes) | CPU µs per reading by role | reading → alert p50 / p99 ms (n) | PostgreSQL bytes per reading (table + indexes) |
|---|---|---|---|---|---|
${rows.join('\n')}
`;
  writeFileSync(path.join(root, 'benchmarks', 'DISTRIBUTED.md'), md);
  return results;
}
