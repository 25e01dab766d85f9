import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import { loadSecretKeys } from '../../connectors/files/secret-keys-file.js';
import { createSqliteStores } from '../../connectors/sqlite/index.js';
import { DeviceSecretHasher, issueSecret } from '../../gateway/auth/device-secret.js';
import { benchGatewayEnv } from '../lib/gateway.js';
import { cpuTimeMs, freePort, GENERATOR_CORE, pinnedArgv, startNodeFlags, stopProcess, SUT_CORE, tailStderr, waitForPort } from '../lib/proc.js';
import type { Topology } from './roles.js';
import { D, H, PLAN } from './workload.js';

/**
 * Reading-to-alert latency through the running gateway (issue 3): `node dist/gateway/main.js`
 * pinned to the SUT core; on the generator core a load process (hubs posting 100 readings per
 * request at the target rate; 1 in 50 readings per patient is a hypoglycemia that raises an
 * alert) and a separate SSE client on GET /v1/worklist/stream. Latency = arrival of the alert's
 * `created` event on the stream − arrival of the 202 that acknowledged its reading.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The entry that dispatches --role load | sse | throughput. */
export const RULES_BENCH = path.join(ROOT, 'benchmarks', 'rules.bench.ts');

export interface LatencyOptions {
  readonly rate: number;
  readonly warmup: number;
  readonly duration: number;
  readonly hubs: number;
  readonly perHub: number;
  /** Directory for the gateway's `--cpu-prof` output (diagnostics). */
  readonly gatewayCpuProf?: string;
  /**
   * Cores the gateway may use: 2 (default) runs it as `npm start` does on this 2-core machine, its
   * rules thread beside the main thread (the generator stays pinned to core 0, so the two share that
   * core); 1 pins it to the SUT core like the ingest scenarios.
   */
  readonly sutCores?: 1 | 2;
}

export interface Percentiles {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface AlertLatency {
  readonly provisionS: number;
  /** Priming: one reading per patient posted and evaluated, before the clock starts. */
  readonly engineWarmS: number;
  /** After the load: until the engine had evaluated every committed reading (null: not within 60 s). */
  readonly drainS: number | null;
  readonly hubs: number;
  readonly patients: number;
  readonly readingsPerRequest: number;
  readonly targetPerSecond: number;
  readonly warmupS: number;
  readonly durationS: number;
  readonly achievedPerSecond: number;
  readonly acceptedInWindow: number;
  readonly ackMs: Percentiles;
  readonly loadErrors: number;
  readonly lateRequests: number;
  readonly raisingReadings: number;
  readonly matched: number;
  readonly missing: number;
  readonly beforeAck: number;
  readonly alertMs: Percentiles & { readonly p90: number };
  readonly sseEvents: number;
  readonly gatewayCores: number | null;
  readonly sutCores: 1 | 2;
  readonly gatewayExit: number | null;
  readonly commands: { readonly gateway: string; readonly load: string; readonly sse: string };
}

async function provision(dataDir: string, hubs: number, perHub: number, startMs: number): Promise<Topology> {
  const stores = createSqliteStores({ path: path.join(dataDir, 'rpm.sqlite'), synchronous: 'NORMAL', writer: 'inline' });
  const now = Date.now();
  await stores.staff.createOrganization({ id: 'bench-org', name: 'Bench', createdAtMs: now });
  const topo: Topology = { hubs: [], startMs };
  // Only hubs authenticate; the devices they relay never present their own secret.
  const hasher = new DeviceSecretHasher(loadSecretKeys({ dataDir, secretKeys: undefined }).cipher);
  const unusedHash = hasher.hash(randomBytes(32).toString('base64url'));
  for (let h = 0; h < hubs; h++) {
    const hubId = `hub-${h}`;
    const { credentialId, secret } = issueSecret();
    await stores.registry.createDevice(
      { id: hubId, kind: 'hub', manufacturer: null, model: null, serial: null, hubId: null, createdAtMs: now },
      { id: credentialId, deviceId: hubId, secretHash: hasher.hash(secret), createdAtMs: now },
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

export function spawnRole(core: number, args: string[]): { child: ChildProcess; argv: string[] } {
  const argv = pinnedArgv(core, process.execPath, ['--import', 'tsx', RULES_BENCH, ...args]);
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

export async function latencyRun(opts: LatencyOptions): Promise<AlertLatency> {
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
    const env = { ...benchGatewayEnv(dataDir, httpPort, mqttPort), RPM_MISSING_DATA_SWEEP_S: '86400' };
    const prof = opts.gatewayCpuProf;
    const sutCores = opts.sutCores ?? 2;
    const gwArgv = pinnedArgv(sutCores === 1 ? String(SUT_CORE) : `${GENERATOR_CORE},${SUT_CORE}`, process.execPath, [...startNodeFlags(ROOT), ...(prof === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${prof}`]), 'dist/gateway/main.js']);
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

    // Committed readings the engine has not evaluated yet (after its durable cursor).
    const backlog = async (): Promise<number> => {
      const m = /^rpm_rule_backlog_readings (\S+)$/m.exec(await (await fetch(`${base}/metrics`)).text());
      if (m === null) throw new Error('rpm_rule_backlog_readings missing from /metrics');
      return Number(m[1]);
    };
    /** Seconds until the engine has evaluated every committed reading; null if not within limitS. */
    const drain = async (limitS: number): Promise<number | null> => {
      const from = performance.now();
      while ((await backlog()) > 0) {
        if (performance.now() - from > limitS * 1000) return null;
        await new Promise((r) => setTimeout(r, 100));
      }
      return (performance.now() - from) / 1000;
    };

    // Before the clock starts: each hub secret's first use (one key derivation), and one normal
    // reading per patient, evaluated. The engine takes only a few never-seen patients per pass
    // (their history is loaded from the store, bounded per pass), so a run that starts with all
    // patients cold measures that catch-up, not reading → alert: the first rounds of the load
    // queue behind thousands of history loads and the hypoglycemias are judged after the run ended.
    const primeFrom = performance.now();
    for (const hub of topo.hubs) {
      const res = await fetch(`${base}/v1/readings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${hub.secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ readings: hub.devices.map((d) => ({ id: `prime-${d.id}`, deviceId: d.id, kind: 'heart-rate', value: 70, unit: '/min', measuredAt: new Date(startMs - H).toISOString() })) }),
      });
      if (res.status !== 202) throw new Error(`priming ${hub.id}: ${res.status} ${await res.text()}`);
    }
    const primedIn = await drain(300);
    if (primedIn === null) throw new Error(`the rules engine did not evaluate the priming readings within 300 s (backlog ${await backlog()})`);
    const engineWarmS = (performance.now() - primeFrom) / 1000;

    step(`nurse logged in, hubs primed, every patient evaluated once (${engineWarmS.toFixed(1)} s)`);
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
    // Let the engine evaluate everything committed (bounded: a lagging engine shows as missing
    // alerts), then give the stream a moment to deliver the last events.
    const drainS = await drain(60);
    await new Promise((r) => setTimeout(r, 1000));
    sse.child.stdin!.write('stop\n');
    await new Promise((r) => sse.child.once('exit', r));

    const loadRes = JSON.parse(readFileSync(loadOut, 'utf8')) as { raising: [string, number][]; achievedPerSecond: number; ackMs: Percentiles; errors: number; late: number; sentReadings: number; acceptedInWindow: number };
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
      engineWarmS,
      drainS,
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
      sutCores,
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
