import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createPostgresStores } from '../connectors/postgres/index.js';
import { createSqliteStores } from '../connectors/sqlite/index.js';
import type { Reading } from '../core/model/reading.js';
import type { ReadingStore } from '../core/ports/reading-store.js';
import { idempotencyKey, readingId } from '../pipeline/reading-id.js';
import { flags, num } from './lib/driver-io.js';
import { median } from './lib/stats.js';

/**
 * Durable commit throughput of the ReadingStore adapters side by side: SQLite (WAL,
 * synchronous=FULL, writer thread: the embedded default) and PostgreSQL (synchronous_commit on),
 * one group-commit transaction at a time as the GroupCommitter issues them, for several group
 * sizes, repetitions interleaved so both stores see the same machine load. No HTTP, MQTT or
 * validation: the store's share of ingest. CPU is this process (SQLite's writer thread included)
 * plus, for PostgreSQL, the server backends serving the pool (not the WAL writer or checkpointer).
 *
 *   node --import tsx benchmarks/store-commit.ts [--batches 1,100,1000] [--seconds 3] [--reps 3]
 *        [--url postgres://postgres@127.0.0.1:5432/test]   (a database is created there and dropped)
 */
const f = flags();
const batches = (f.get('batches') ?? '1,100,1000').split(',').map(Number);
const seconds = num(f, 'seconds', 3);
const reps = num(f, 'reps', 3);
const server = f.get('url') ?? 'postgres://postgres@127.0.0.1:5432/test';

const T0 = Date.now() - 30 * 86_400_000;
let counter = 0;
function reading(): Reading {
  counter += 1;
  const deviceId = `dev-${counter % 500}`;
  const measuredAtMs = T0 + counter;
  const key = idempotencyKey('blood-pressure', measuredAtMs);
  return {
    id: readingId(deviceId, key),
    clientId: `c-${counter}`,
    idempotencyKey: key,
    deviceId,
    hubId: null,
    patientId: `patient-${counter % 500}`,
    kind: 'blood-pressure',
    code: '85354-9',
    components: [
      { name: 'systolic', code: '8480-6', value: 121, unit: 'mm[Hg]' },
      { name: 'diastolic', code: '8462-4', value: 79, unit: 'mm[Hg]' },
      { name: 'pulse', code: '8867-4', value: 68, unit: '/min' },
    ],
    reported: { unit: 'mm[Hg]', values: { systolic: 121, diastolic: 79, pulse: 68 } },
    measuredAt: new Date(measuredAtMs).toISOString(),
    measuredAtMs,
    utcOffsetMinutes: 0,
    receivedAtMs: measuredAtMs + 1000,
    entryMethod: 'device',
    setting: 'home',
    mealContext: null,
    glucoseMethod: null,
    sequence: counter,
    transport: 'http',
    flags: [],
    recordedBy: null,
  };
}

/** utime + stime of a process, in microseconds (Linux /proc; clock ticks are 100 Hz here). */
function procCpuUs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return 0;
  }
}

interface Result {
  readonly store: string;
  readonly batch: number;
  readonly readingsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuUsPerReading: number;
}

async function measure(store: string, readings: ReadingStore, backendPids: () => Promise<number[]>, batch: number): Promise<Result> {
  // Warm up (prepared statements, caches), then a timed window.
  for (let i = 0; i < 5; i++) await readings.commit({ readings: Array.from({ length: batch }, reading), rejections: [] });
  const pids = await backendPids();
  const server0 = pids.reduce((s, p) => s + procCpuUs(p), 0);
  const cpu0 = process.cpuUsage();
  const latencies: number[] = [];
  let rows = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    const group = Array.from({ length: batch }, reading);
    const c0 = performance.now();
    const out = await readings.commit({ readings: group, rejections: [] });
    latencies.push(performance.now() - c0);
    if (out.some((o) => o.status !== 'accepted')) throw new Error('a fresh reading was not accepted');
    rows += batch;
  }
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const serverUs = pids.reduce((s, p) => s + procCpuUs(p), 0) - server0;
  latencies.sort((a, b) => a - b);
  const at = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  return {
    store,
    batch,
    readingsPerS: (rows / wall) * 1000,
    p50Ms: at(50),
    p99Ms: at(99),
    cpuUsPerReading: (cpu.user + cpu.system + serverUs) / rows,
  };
}

const dbName = `rpm_bench_commit_${process.pid}`;
const admin = new pg.Client({ connectionString: server });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
await admin.query(`CREATE DATABASE ${dbName}`);
const pgUrl = new URL(server);
pgUrl.pathname = `/${dbName}`;
const dir = mkdtempSync(path.join(tmpdir(), 'rpm-bench-commit-'));
const sqlite = createSqliteStores({ path: path.join(dir, 'rpm.sqlite'), synchronous: 'FULL' });
const postgres = await createPostgresStores({ url: pgUrl.toString(), poolSize: 4, statementTimeoutMs: 60_000, applicationName: 'rpm-bench-commit' });
const pgPids = async (): Promise<number[]> =>
  (await admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = 'rpm-bench-commit'")).rows.map((r) => r.pid);

const results: Result[] = [];
try {
  for (let r = 0; r < reps; r++) {
    for (const batch of batches) {
      results.push(await measure('sqlite', sqlite.readings, async () => [], batch));
      results.push(await measure('postgres', postgres.readings, pgPids, batch));
    }
  }
} finally {
  await sqlite.close();
  await postgres.close();
  rmSync(dir, { recursive: true, force: true });
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
}

const lines = [
  `durable commits, ${reps} interleaved reps × ${seconds} s per store and group size (medians of the reps)`,
  '',
  '| store | readings per commit | readings/s | commit p50 ms | commit p99 ms | CPU µs per reading |',
  '|---|---:|---:|---:|---:|---:|',
];
for (const batch of batches) {
  for (const store of ['sqlite', 'postgres']) {
    const rs = results.filter((x) => x.store === store && x.batch === batch);
    lines.push(
      `| ${store} | ${batch} | ${Math.round(median(rs.map((x) => x.readingsPerS))).toLocaleString('en-US')} | ${median(rs.map((x) => x.p50Ms)).toFixed(2)} | ${median(rs.map((x) => x.p99Ms)).toFixed(2)} | ${median(rs.map((x) => x.cpuUsPerReading)).toFixed(1)} |`,
    );
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
