import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { provisionFleet } from '../lib/fleet.js';
import { freePort, spawnPinned, startNodeFlags, stopProcess, SUT_CORE, tailStderr, waitForPort } from '../lib/proc.js';
import type { BenchDevice } from '../lib/readings.js';
import { flatOut, type FlatOutResult } from '../soak/flat-out.js';
import { type Sample, startSampling, takeSample } from '../soak/sampler.js';

/**
 * `npm run bench -- --only faults`: faults an operator meets, each under load, each followed by
 * the question that matters: was anything acknowledged lost? (performance-reliability.md §3.9.)
 * - overload: far more HTTP and MQTT traffic than the gateway can commit;
 * - store failure: every write fails (I/O errors: RLIMIT_FSIZE lowered on the running process,
 *   no privileges needed), then works again;
 * - disk full: the data directory on a small tmpfs that fills up (needs root to mount), SIGTERM
 *   while full, more space, restart.
 * SIGKILL is `npm run check:loss` (benchmarks/loss/). Writes benchmarks/FAULTS.md.
 */

export interface FaultRow {
  readonly fault: string;
  readonly load: string;
  readonly behaviour: string;
  readonly acked: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly note: string;
}

interface RunningGateway {
  readonly pid: number;
  readonly baseUrl: string;
  readonly mqttUrl: string;
  stop(): Promise<number | null>;
}

async function startGateway(root: string, dataDir: string, env: Record<string, string>, ports?: { http: number; mqtt: number }): Promise<RunningGateway> {
  const http = ports?.http ?? (await freePort());
  const mqttPort = ports?.mqtt ?? (await freePort());
  const full = { RPM_DATA_DIR: dataDir, RPM_HTTP_HOST: '127.0.0.1', RPM_HTTP_PORT: String(http), RPM_MQTT_HOST: '127.0.0.1', RPM_MQTT_PORT: String(mqttPort), RPM_LOG_LEVEL: 'warn', RPM_ADMIN_TOKEN: 'faults-admin-token-0123456789', ...env };
  const { child } = spawnPinned(SUT_CORE, process.execPath, [...startNodeFlags(root), 'dist/gateway/main.js'], { cwd: root, env: full, stdout: 'ignore' });
  const stderr = tailStderr(child);
  try {
    await waitForPort(http, child);
    await waitForPort(mqttPort, child);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`gateway did not start: ${(err as Error).message}\n${stderr()}`);
  }
  return { pid: child.pid as number, baseUrl: `http://127.0.0.1:${http}`, mqttUrl: `mqtt://127.0.0.1:${mqttPort}`, stop: () => stopProcess(child) };
}

/** Acknowledged ids missing from the store, and ids stored more than once. */
function check(dataDir: string, acked: ReadonlySet<string>, tag: string): { lost: number; duplicates: number } {
  const db = new Database(path.join(dataDir, 'rpm.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT client_id AS id, count(*) AS n FROM readings WHERE client_id LIKE ? GROUP BY client_id').all(`${tag}%`) as { id: string; n: number }[];
    const stored = new Map(rows.map((r) => [r.id, r.n]));
    let lost = 0;
    for (const id of acked) if (!stored.has(id)) lost++;
    return { lost, duplicates: rows.filter((r) => r.n > 1).length };
  } finally {
    db.close();
  }
}

const fmt = (s: readonly Sample[], f: (x: Sample) => number | null): number => Math.max(0, ...s.map((x) => f(x) ?? 0));
const answers = (r: FlatOutResult): string => `HTTP ${JSON.stringify(r.httpStatus)}; MQTT ${r.mqttAcked} PUBACKs, ${r.mqttRefused} CONNECTs refused, ${r.mqttDrops} connections dropped`;

async function fleet(dataDir: string, count: number): Promise<BenchDevice[]> {
  return provisionFleet({ dataDir, count, prefix: 'fault', withPatients: true });
}

export async function overload(root: string, log: (s: string) => void, seconds: number): Promise<FaultRow> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'rpm-fault-overload-'));
  try {
    const devices = await fleet(dataDir, 40);
    const maxPending = 5000;
    const gw = await startGateway(root, dataDir, { RPM_COMMIT_MAX_PENDING: String(maxPending), RPM_RATE_LIMIT_PER_DEVICE_PER_MIN: '100000000' });
    const idle = await takeSample(gw.pid, gw.baseUrl, Date.now());
    const sampler = startSampling(gw.pid, gw.baseUrl, 1000);
    const tag = `ovl${Date.now().toString(36)}`;
    log(`  overload: ${seconds} s of 16 HTTP workers × 200-reading batches and 24 MQTT devices × 100 in flight`);
    const r = await flatOut({ baseUrl: gw.baseUrl, mqttUrl: gw.mqttUrl, devices, httpWorkers: 16, httpBatch: 200, mqttClients: 24, mqttWindow: 100, durationMs: seconds * 1000, tag });
    const samples = await sampler.stop();
    const exit = await gw.stop();
    const c = check(dataDir, r.acked, tag);
    const unanswered = samples.filter((s) => s.ready === 0).length;
    return {
      fault: 'overload',
      load: `${seconds} s: 16 HTTP workers × 200-reading batches + 24 MQTT devices × 100 QoS 1 in flight, RPM_COMMIT_MAX_PENDING=${maxPending}`,
      behaviour: `${answers(r)}; pending rows peak ${fmt(samples, (s) => s.pendingRows)} (bound ${maxPending}); RSS ${idle.rssMb} → peak ${fmt(samples, (s) => s.rssMb)} MB (V8 heap in use peak ${fmt(samples, (s) => s.heapUsedMb)} MB); event-loop p99 max ${fmt(samples, (s) => s.eventLoopP99Ms)} ms, longest stall ${fmt(samples, (s) => s.eventLoopMaxMs)} ms; /readyz unanswered (2 s) ${unanswered} of ${samples.length}; SIGTERM exit ${exit}`,
      acked: r.acked.size,
      ...c,
      note: '',
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function storeFailure(root: string, log: (s: string) => void): Promise<FaultRow> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'rpm-fault-io-'));
  try {
    const devices = await fleet(dataDir, 16);
    const gw = await startGateway(root, dataDir, { RPM_RATE_LIMIT_PER_DEVICE_PER_MIN: '100000000' });
    const sampler = startSampling(gw.pid, gw.baseUrl, 250);
    const tag = `io${Date.now().toString(36)}`;
    log('  store failure: 45 s of load; every write fails from 10 s to 25 s');
    const t0 = Date.now();
    const load = flatOut({ baseUrl: gw.baseUrl, mqttUrl: gw.mqttUrl, devices, httpWorkers: 4, httpBatch: 20, mqttClients: 8, mqttWindow: 5, durationMs: 45_000, tag });
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    execFileSync('prlimit', ['--pid', String(gw.pid), '--fsize=1:']);
    const failedAt = (Date.now() - t0) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    execFileSync('prlimit', ['--pid', String(gw.pid), '--fsize=unlimited:']);
    const freedAt = (Date.now() - t0) / 1000;
    const r = await load;
    const samples = await sampler.stop();
    const exit = await gw.stop();
    const c = check(dataDir, r.acked, tag);
    // Sample times are from the sampler's start, a moment before t0.
    const unreadyAfter = samples.find((s) => s.t >= failedAt && s.ready === 503)?.t;
    const readyAgain = samples.find((s) => s.t >= freedAt && s.ready === 200)?.t;
    return {
      fault: 'store failure (every write fails: EIO-like, RLIMIT_FSIZE)',
      load: '45 s: 4 HTTP workers × 20-reading batches + 8 MQTT devices × 5 in flight; writes fail from 10 s to 25 s',
      behaviour: `${answers(r)}; /readyz 503 ${unreadyAfter === undefined ? 'never' : `${(unreadyAfter - failedAt).toFixed(1)} s after the failure began`}, 200 again ${readyAgain === undefined ? 'never' : `${(readyAgain - freedAt).toFixed(1)} s after writes worked again`} (no restart); SIGTERM exit ${exit}`,
      acked: r.acked.size,
      ...c,
      note: '',
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function diskFull(root: string, log: (s: string) => void): Promise<FaultRow> {
  if (process.getuid?.() !== 0) {
    return { fault: 'disk full (tmpfs)', load: '', behaviour: 'not run: mounting a small tmpfs needs root', acked: 0, lost: 0, duplicates: 0, note: 'not run' };
  }
  const mount = mkdtempSync(path.join(tmpdir(), 'rpm-fault-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', mount]);
  const dataDir = path.join(mount, 'data');
  mkdirSync(dataDir);
  try {
    const devices = await fleet(dataDir, 24);
    const ports = { http: await freePort(), mqtt: await freePort() };
    let gw = await startGateway(root, dataDir, { RPM_RATE_LIMIT_PER_DEVICE_PER_MIN: '100000000' }, ports);
    const tag = `disk${Date.now().toString(36)}`;
    log('  disk full: load until the 40 MB tmpfs is full, 10 s more, SIGTERM; 400 MB; restart; 10 s more');
    const sampler = startSampling(gw.pid, gw.baseUrl, 500);
    const acked = new Set<string>();
    const statuses: Record<string, number> = {};
    // Each phase its own id prefix: ids never repeat across phases (a repeat would be a duplicate by design).
    let phase = 0;
    const phaseTag = (): string => `${tag}p${phase++}`;
    const merge = (r: FlatOutResult): void => {
      for (const id of r.acked) acked.add(id);
      for (const [k, v] of Object.entries(r.httpStatus)) statuses[k] = (statuses[k] ?? 0) + v;
    };
    // Until the disk is full (the gateway says the store fails), at most 3 minutes.
    const started = Date.now();
    let fullAt: number | undefined;
    while (fullAt === undefined && Date.now() - started < 180_000) {
      merge(await flatOut({ baseUrl: gw.baseUrl, mqttUrl: gw.mqttUrl, devices, httpWorkers: 8, httpBatch: 200, mqttClients: 8, mqttWindow: 20, durationMs: 5000, tag: phaseTag() }));
      const s = await takeSample(gw.pid, gw.baseUrl, started);
      if (s.ready === 503) fullAt = Date.now();
    }
    merge(await flatOut({ baseUrl: gw.baseUrl, mqttUrl: gw.mqttUrl, devices, httpWorkers: 8, httpBatch: 200, mqttClients: 8, mqttWindow: 20, durationMs: 10_000, tag: phaseTag() }));
    const whileFull = await takeSample(gw.pid, gw.baseUrl, started);
    await sampler.stop();
    const exitFull = await gw.stop();
    execFileSync('mount', ['-o', 'remount,size=400m', mount]);
    gw = await startGateway(root, dataDir, { RPM_RATE_LIMIT_PER_DEVICE_PER_MIN: '100000000' }, ports);
    merge(await flatOut({ baseUrl: gw.baseUrl, mqttUrl: gw.mqttUrl, devices, httpWorkers: 8, httpBatch: 200, mqttClients: 8, mqttWindow: 20, durationMs: 10_000, tag: phaseTag() }));
    const exitEnd = await gw.stop();
    const c = check(dataDir, acked, tag);
    return {
      fault: 'disk full (40 MB tmpfs)',
      load: '8 HTTP workers × 200-reading batches + 8 MQTT devices × 20 in flight until full, 10 s more; SIGTERM; 400 MB; restart; 10 s',
      behaviour: `HTTP ${JSON.stringify(statuses)}; full after ${fullAt === undefined ? 'never' : `${((fullAt - started) / 1000).toFixed(0)} s`}; /readyz while full ${whileFull.ready}; SIGTERM while full: exit ${exitFull}; after restart with space: SIGTERM exit ${exitEnd}`,
      acked: acked.size,
      ...c,
      note: '',
    };
  } finally {
    execFileSync('umount', ['-l', mount]);
    rmSync(mount, { recursive: true, force: true });
  }
}

export function faultsMarkdown(rows: readonly FaultRow[], command: string): string {
  const lines = rows.map((r) => `| ${r.fault} | ${r.load} | ${r.behaviour} | ${r.acked.toLocaleString('en-US')} | ${r.note === 'not run' ? 'not run' : `${r.lost} lost, ${r.duplicates} duplicated`} |`);
  return `# Faults survived

Command: \`${command}\` (${new Date().toISOString()}). How each fault is made: benchmarks/README.md, "Faults survived".

| fault | load | what the gateway did | readings acknowledged | of those, lost / stored twice |
|---|---|---|---:|---|
${lines.join('\n')}
`;
}

export async function runFaults(root: string, command: string, overloadSeconds: number, log: (s: string) => void): Promise<FaultRow[]> {
  const rows = [await overload(root, log, overloadSeconds), await storeFailure(root, log), await diskFull(root, log)];
  writeFileSync(path.join(root, 'benchmarks', 'FAULTS.md'), faultsMarkdown(rows, command));
  return rows;
}
