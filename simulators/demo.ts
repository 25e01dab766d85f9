import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { onParentExit } from '../core/parent-watch.js';
import { GatewayApi } from './io/admin-api.js';
import { simulate } from './io/simulate.js';
import { DAY_MS, MINUTE_MS } from './local-time.js';

/**
 * `npm run demo`: the gateway on the embedded default (a child process) with a demo clinic —
 * a nurse, three dozen simulated patients with care plans, their devices and hubs, two weeks of
 * history and a live stream of readings — so the worklist is full and moving within a minute.
 * Everything is simulated test data: ids start with `sim-demo`, names say so, and the data
 * lives in its own directory (data/demo, recreated at every start). Ctrl-C stops everything.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Its own variable, never RPM_DATA_DIR: the demo wipes this directory at every start, and RPM_DATA_DIR names real data.
const DATA_DIR = path.resolve(process.env.RPM_DEMO_DATA_DIR ?? path.join(ROOT, 'data', 'demo'));
const MARKER = '.rpm-demo';
const NURSE = { email: 'nurse@demo.example', password: 'demo-nurse-passphrase', displayName: 'Demo Nurse (simulated)' };
const PATIENTS = 36;

const say = (line: string): void => void process.stdout.write(`${line}\n`);

/** Demo data only: refuse to wipe a directory this script did not create. */
function freshDataDir(): void {
  if (existsSync(DATA_DIR) && readdirSync(DATA_DIR).length > 0) {
    if (!existsSync(path.join(DATA_DIR, MARKER))) throw new Error(`${DATA_DIR} is not a demo directory (no ${MARKER}); set RPM_DEMO_DATA_DIR to an empty or demo directory`);
    rmSync(DATA_DIR, { recursive: true, force: true });
  }
  mkdirSync(DATA_DIR, { recursive: true });
  writeFileSync(path.join(DATA_DIR, MARKER), 'Created by npm run demo: simulated test data, deleted at the next demo start.\n');
}

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/** The usual port when it is free (8080, 1883), else any free one: a local Mosquitto often holds 1883. */
async function choosePort(envName: string, preferred: number, host: string): Promise<number> {
  const set = process.env[envName];
  if (set !== undefined && set !== '') return Number(set);
  if (await portFree(preferred, host)) return preferred;
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitReady(url: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the gateway exited with code ${child.exitCode} while starting`);
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the gateway did not become ready within a minute');
}

function severityCounts(rows: Awaited<ReturnType<GatewayApi['worklist']>>): string {
  const counts = new Map<string, number>();
  for (const r of rows) for (const a of r.alerts) counts.set(a.severity, (counts.get(a.severity) ?? 0) + 1);
  return ['critical', 'high', 'medium', 'low'].map((s) => `${counts.get(s) ?? 0} ${s}`).join(', ');
}

async function main(): Promise<void> {
  freshDataDir();
  const host = process.env.RPM_HTTP_HOST ?? '0.0.0.0';
  const mqttHost = process.env.RPM_MQTT_HOST ?? '0.0.0.0';
  const httpPort = await choosePort('RPM_HTTP_PORT', 8080, host);
  const mqttPort = await choosePort('RPM_MQTT_PORT', 1883, mqttHost);
  const adminToken = randomBytes(24).toString('base64url');
  const gatewayEnv = {
    ...process.env,
    RPM_DATA_DIR: DATA_DIR,
    RPM_HTTP_HOST: host,
    RPM_HTTP_PORT: String(httpPort),
    RPM_MQTT_HOST: mqttHost,
    RPM_MQTT_PORT: String(mqttPort),
    RPM_ADMIN_TOKEN: adminToken,
    RPM_LOG_LEVEL: process.env.RPM_LOG_LEVEL ?? 'warn',
    // Missing-data rules are swept on the clock; sweep often so those alerts show up in the demo's first minute.
    RPM_MISSING_DATA_SWEEP_S: process.env.RPM_MISSING_DATA_SWEEP_S ?? '15',
  };
  say(`Starting the gateway (data in ${path.relative(process.cwd(), DATA_DIR) || DATA_DIR}, HTTP :${httpPort}, MQTT :${mqttPort}) …`);
  // Its own process group: Ctrl-C reaches only this script, which then stops the gateway once, cleanly.
  const gateway = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts'], { cwd: ROOT, env: gatewayEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  for (const stream of [gateway.stdout, gateway.stderr]) {
    if (stream !== null) createInterface({ input: stream }).on('line', (l) => process.stderr.write(`[gateway] ${l}\n`));
  }
  const gatewayExited = new Promise<number | null>((resolve) => gateway.once('exit', (code) => resolve(code)));

  const stop = new AbortController();
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) {
      say('Second signal: stopping at once.');
      gateway.kill('SIGKILL');
      process.exit(1);
    }
    stopping = true;
    say('\nStopping: simulator first (draining what devices still hold), then the gateway …');
    stop.abort();
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  onParentExit(shutdown);
  // A gateway that dies on its own leaves devices retrying forever: end the demo with it.
  void gatewayExited.then((code) => {
    if (stopping) return;
    say(`The gateway exited unexpectedly (exit code ${code}); stopping the demo.`);
    process.exitCode = 1;
    stopping = true;
    stop.abort();
  });

  const baseUrl = `http://127.0.0.1:${httpPort}`;
  let poller: NodeJS.Timeout | undefined;
  try {
    await waitReady(baseUrl, gateway);
    const api = new GatewayApi(baseUrl, adminToken);
    const result = await simulate({
      httpUrl: baseUrl,
      mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
      adminToken,
      fleet: { seed: 'demo', idPrefix: 'sim-demo', organizationId: 'sim-demo-clinic', patients: PATIENTS, hubShare: 0.3, transport: 'mixed', episodes: 'mixed', showcase: true },
      organizationName: 'Demo Clinic (simulated test data)',
      nurse: NURSE,
      historyMs: 14 * DAY_MS,
      durationMs: null,
      rate: null,
      // Real patients measure a few times a day; a demo also gets a spot check per device every few minutes.
      spotCheckEveryMs: 3 * MINUTE_MS,
      faults: [],
      window: 1,
      provision: true,
      check: false,
      progress: false,
      signal: stop.signal,
      log: (l) => say(`[simulator] ${l}`),
      onProvisioned: (_fleet, nurseToken) => {
        say('');
        say(`  Dashboard:   http://localhost:${httpPort}/`);
        say(`  Nurse login: ${NURSE.email} / ${NURSE.password}`);
        say(`  Admin token: ${adminToken}   (e.g. RPM_URL=${baseUrl} RPM_ADMIN_TOKEN=… npx rpm device show sim-demo-p0001-bp)`);
        say(`  API:         curl -s ${baseUrl}/v1/worklist -H "Authorization: Bearer <token from POST /v1/auth/login>"`);
        say('  Two weeks of history are uploading, then devices report live. Ctrl-C stops everything.');
        say('');
        if (nurseToken === undefined) return;
        const nurse = api.as(nurseToken);
        const poll = (): void => {
          nurse.worklist().then(
            (rows) => say(`[worklist] ${rows.length} patients with open alerts (${severityCounts(rows)})`),
            (err: unknown) => say(`[worklist] ${(err as Error).message}`),
          );
        };
        poller = setInterval(poll, 10_000);
      },
    });
    const s = result.summary;
    say(`[simulator] ${s.readings.toLocaleString('en-US')} readings sent, ${s.acked.toLocaleString('en-US')} acknowledged, ${s.rejected} rejected`);
  } catch (err) {
    if (!stopping) say(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  } finally {
    if (poller !== undefined) clearInterval(poller);
    stopping = true;
    if (gateway.exitCode === null) gateway.kill('SIGTERM');
    const code = await gatewayExited;
    say(`Gateway stopped (exit code ${code}). Demo data stays in ${DATA_DIR} until the next demo.`);
  }
}

main().then(
  // fetch keeps idle sockets open for a while; nothing is left to do.
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
