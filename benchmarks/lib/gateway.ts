import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { openBenchStore } from './bench-store.js';
import { commandLine, type Entry, freePort, programArgs, spawnPinned, startNodeFlags, stopProcess, SUT_CORE, tailStderr, waitForPort } from './proc.js';
import { type BenchDevice, EnvelopeSource, runTag, type TimeMap } from './readings.js';
import type { Sut } from './sut.js';

export interface GatewaySut extends Sut {
  readonly dataDir: string;
  /** Readings the harness itself stored (one per device when priming). */
  readonly primed: number;
  /** Stops the gateway (SIGTERM, graceful drain) and counts what it stored. */
  stopAndCount(): Promise<{ readings: number; rejections: number; exitCode: number | null; commitStats?: { commits: number; rows: number } }>;
}

export interface GatewayOptions {
  readonly root: string;
  readonly devices: number;
  /** Directory for `node --cpu-prof` output, when profiling. */
  readonly profileDir?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** A data directory already holding a fleet (`fleet.ts`); the gateway takes it over and removes it at stop. */
  readonly dataDir?: string;
  /** The devices of that fleet (no provisioning or priming through the API then). */
  readonly fleet?: readonly BenchDevice[];
  /** `dist/gateway/main.js` (default) or `gateway/main.ts` through tsx (proc.ts). */
  readonly entry?: Entry;
}

/** Settings of a gateway under load: loopback ports, quiet logs, the per-device rate limit lifted. */
export function benchGatewayEnv(dataDir: string, httpPort: number, mqttPort: number): Record<string, string> {
  return {
    RPM_DATA_DIR: dataDir,
    RPM_HTTP_HOST: '127.0.0.1',
    RPM_HTTP_PORT: String(httpPort),
    RPM_MQTT_HOST: '127.0.0.1',
    RPM_MQTT_PORT: String(mqttPort),
    RPM_LOG_LEVEL: 'warn',
    RPM_RATE_LIMIT_PER_DEVICE_PER_MIN: '100000000',
  };
}

/**
 * Our gateway as its own process (`npm start`'s command: `node <its flags> dist/gateway/main.js`,
 * pinned to the SUT core) with a
 * fresh data directory, default durability (WAL, synchronous=FULL) and the rate limit lifted.
 * Registers `devices` blood-pressure cuffs (one patient each, assigned from a day ago) and
 * sends one reading per device, so every credential is verified (and its digest cached) before the load.
 */
export async function startOurGateway(options: GatewayOptions): Promise<GatewaySut> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), 'rpm-bench-'));
  const [httpPort, mqttPort] = [await freePort(), await freePort()];
  const adminToken = randomBytes(24).toString('base64url');
  const store = await openBenchStore(dataDir, options.env ?? {});
  const env: Record<string, string> = { ...benchGatewayEnv(dataDir, httpPort, mqttPort), ...(options.env ?? {}), ...store.env };
  const nodeArgs = [...startNodeFlags(options.root), ...(options.profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`])];
  const { child, argv } = spawnPinned(SUT_CORE, process.execPath, [...nodeArgs, ...programArgs(options.entry ?? 'dist', 'gateway/main')], {
    cwd: options.root,
    env: { ...env, RPM_ADMIN_TOKEN: adminToken },
    stdout: 'pipe',
  });
  const stderr = tailStderr(child);
  // At RPM_LOG_LEVEL=info (a diagnostic run) the shutdown line tells commits and rows: the mean group size.
  let commitStats: { commits: number; rows: number } | undefined;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.includes('shutdown complete')) return;
    try {
      const j = JSON.parse(line) as { commits?: number; rows?: number };
      if (typeof j.commits === 'number' && typeof j.rows === 'number') commitStats = { commits: j.commits, rows: j.rows };
    } catch {
      // not a JSON log line
    }
  });
  try {
    // From source, tsx compiles the whole gateway at start: give a loaded machine time for that.
    const startMs = options.entry === 'source' ? 180_000 : 30_000;
    await waitForPort(httpPort, child, startMs);
    await waitForPort(mqttPort, child, startMs);
  } catch (err) {
    child.kill('SIGKILL');
    await store.dispose();
    throw new Error(`gateway did not start: ${(err as Error).message}\n${stderr()}`);
  }
  const base = `http://127.0.0.1:${httpPort}`;
  const devices = options.fleet ?? (await provision(base, adminToken, options.devices));
  const primed = options.fleet === undefined ? await prime(base, devices) : 0;

  return {
    name: 'ours',
    pid: child.pid as number,
    command: commandLine(argv.map((a) => (a === process.execPath ? 'node' : a)), { ...env, RPM_ADMIN_TOKEN: '<random>' }),
    httpUrl: base,
    mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
    mqttAuth: true,
    devices,
    dataDir,
    primed,
    stop: async () => {
      await stopProcess(child);
      await store.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    },
    stopAndCount: async () => {
      const exitCode = await stopProcess(child);
      const { readings, rejections } = await store.count();
      await store.dispose();
      rmSync(dataDir, { recursive: true, force: true });
      if (exitCode !== 0) process.stderr.write(`gateway exit code ${exitCode}\n${stderr()}\n`);
      return { readings, rejections, exitCode, ...(commitStats === undefined ? {} : { commitStats }) };
    },
  };
}

async function call(url: string, token: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

async function provision(base: string, adminToken: string, n: number): Promise<BenchDevice[]> {
  const assignedFrom = new Date(Date.now() - 86_400_000).toISOString();
  const make = async (i: number): Promise<BenchDevice> => {
    const patientId = `bench-patient-${i}`;
    const id = `bench-cuff-${i}`;
    const p = await call(`${base}/v1/admin/patients`, adminToken, { id: patientId });
    if (p.status !== 201) throw new Error(`creating patient ${patientId}: HTTP ${p.status} ${JSON.stringify(p.json)}`);
    const d = await call(`${base}/v1/admin/devices`, adminToken, { id, kind: 'bp-cuff', patientId, assignedFrom });
    if (d.status !== 201) throw new Error(`creating device ${id}: HTTP ${d.status} ${JSON.stringify(d.json)}`);
    return { id, secret: (d.json as { secret: string }).secret };
  };
  const devices: BenchDevice[] = [];
  // A few at a time: the admin API is not what is measured.
  for (let i = 0; i < n; i += 4) {
    devices.push(...(await Promise.all(Array.from({ length: Math.min(4, n - i) }, (_, k) => make(i + k)))));
  }
  return devices;
}

/** Before any load reading (see scenarios' TimeMap), so each patient's readings stay in time order. */
const PRIME_TIME: TimeMap = { wallOriginMs: 0, measuredOriginMs: Date.now() - 364 * 86_400_000, scale: 0 };

/** One reading per device, one at a time (the first use of a secret reads its stored hash). */
async function prime(base: string, devices: readonly BenchDevice[]): Promise<number> {
  const tag = `prime${runTag()}`;
  for (const [i, d] of devices.entries()) {
    const body = new EnvelopeSource(`${tag}-${i}`, 1, PRIME_TIME).next();
    const res = await fetch(`${base}/v1/readings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${d.secret}`, 'content-type': 'application/json' },
      body,
    });
    const json = (await res.json()) as { accepted?: number };
    if (res.status !== 202 || json.accepted !== 1) throw new Error(`priming ${d.id}: HTTP ${res.status} ${JSON.stringify(json)}`);
  }
  return devices.length;
}
