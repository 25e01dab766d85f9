import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { provisionFleet } from '../lib/fleet.js';
import { commandLine, cpuTimeMs, freePort, spawnPinned, startNodeFlags, stopProcess, SUT_CORE, tailStderr, waitForPort } from '../lib/proc.js';
import { runMixedLoad, type MixedLoadOptions, type MixedLoadResult } from './mixed-load.js';
import { renderSoakChart } from './chart.js';
import { type Sample, startSampling, takeSample } from './sampler.js';
import { seedHistory } from './seed-history.js';

export interface SoakOptions {
  readonly root: string;
  readonly minutes: number;
  readonly patients: number;
  readonly historyPerPatient: number;
  readonly sampleEveryS: number;
  /** '' for the default hour (SOAK.md, soak-rss.png), '.partial' otherwise. */
  readonly suffix: string;
  readonly command: string;
  readonly log: (line: string) => void;
}

export interface SoakSummary {
  readonly minutes: number;
  readonly idleRssMb: number;
  readonly peakRssMb: number;
  readonly finalRssMb: number;
  /** Least-squares slope of RSS over the second half of the run, MB per hour. */
  readonly secondHalfSlopeMbPerHour: number;
  readonly eventLoopP99MedianMs: number;
  readonly eventLoopP99MaxMs: number;
  readonly longestStallMs: number;
  readonly historyObservationsMax: number;
  /** Readings the rules engine had not evaluated yet: the most at any sample, and at the last one. */
  readonly ruleBacklogMax: number;
  readonly ruleBacklogEnd: number;
  readonly readyzUnanswered: number;
  readonly readyzNot200: number;
  readonly acked: number;
  readonly ackedNotStored: number;
  readonly exitCode: number | null;
  /** Share of one core the gateway used during the load (all its threads), and the machine's 1-min load average at the end. */
  readonly gatewayCores: number;
  readonly loadAverage: number;
}

/** The load of the soak, per second unless named otherwise: a busy clinic, and one device gone wrong. */
const LOAD = { httpPerSec: 50, mqttClients: 20, mqttPerClientPerSec: 1, batchEveryMs: 5000, batchSize: 100, phiReadsPerSec: 1 } as const;

/**
 * `npm run bench -- --only soak`: the gateway (dist/, default settings, pinned to the SUT core)
 * on a store seeded with weeks of history, under an hour of mixed load (mixed-load.ts) including
 * a device flooding MQTT. RSS from /proc, and the gateway's own event-loop and history gauges from
 * /metrics, sampled every few seconds; plotted to soak-rss.png, summarised in SOAK.md.
 */
export async function runSoak(o: SoakOptions): Promise<SoakSummary> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'rpm-soak-'));
  try {
    o.log(`  provisioning ${o.patients + 1} devices and seeding ${o.patients} × ${o.historyPerPatient} readings of history`);
    const devices = await provisionFleet({ dataDir, count: o.patients + 1, prefix: 'soak', withPatients: true });
    const fleet = devices.slice(0, o.patients).map((device, i) => ({ device, patientId: `soak-patient-${i}` }));
    const flooder = devices[o.patients];
    if (flooder === undefined) throw new Error('no flooder device');
    await seedHistory({ dataDir, devices: fleet, perPatient: o.historyPerPatient, days: 10 });

    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    const adminToken = randomBytes(24).toString('base64url');
    // Default settings: the per-device rate limit stays on, so the flooder meets it.
    const env = { RPM_DATA_DIR: dataDir, RPM_HTTP_HOST: '127.0.0.1', RPM_HTTP_PORT: String(httpPort), RPM_MQTT_HOST: '127.0.0.1', RPM_MQTT_PORT: String(mqttPort), RPM_LOG_LEVEL: 'warn' };
    const { child, argv } = spawnPinned(SUT_CORE, process.execPath, [...startNodeFlags(o.root), 'dist/gateway/main.js'], { cwd: o.root, env: { ...env, RPM_ADMIN_TOKEN: adminToken }, stdout: 'ignore' });
    const stderr = tailStderr(child);
    await waitForPort(httpPort, child);
    await waitForPort(mqttPort, child);
    const pid = child.pid as number;
    const baseUrl = `http://127.0.0.1:${httpPort}`;
    o.log(`  gateway: ${commandLine(argv, env)}`);
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const idle = await takeSample(pid, baseUrl, Date.now());

    let lastLogged = 0;
    const sampler = startSampling(pid, baseUrl, o.sampleEveryS * 1000, (s) => {
      if (s.t - lastLogged >= 300) {
        lastLogged = s.t;
        o.log(`  ${(s.t / 60).toFixed(0)} min: RSS ${s.rssMb} MB, heap ${s.heapUsedMb} MB, event-loop p99 ${s.eventLoopP99Ms} ms, history ${s.historyObservations}`);
      }
    });
    const load: MixedLoadOptions = {
      baseUrl,
      mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
      adminToken,
      devices: fleet,
      flooder,
      durationMs: o.minutes * 60_000,
      ...LOAD,
      tag: `soak${Date.now().toString(36)}`,
    };
    const cpuBefore = cpuTimeMs(pid);
    const loadStarted = Date.now();
    const result = await runMixedLoad(load);
    const gatewayCores = Math.round(((cpuTimeMs(pid) - cpuBefore) / (Date.now() - loadStarted)) * 100) / 100;
    const loadAverage = Math.round((loadavg()[0] ?? 0) * 100) / 100;
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const samples = await sampler.stop();
    const exitCode = await stopProcess(child);
    if (exitCode !== 0) o.log(`  gateway exited ${exitCode}\n${stderr()}`);
    const stored = storedClientIds(dataDir, load.tag);
    const summary = { ...summarise(o.minutes, idle, samples, result, stored, exitCode), gatewayCores, loadAverage };

    const out = path.join(o.root, 'benchmarks');
    writeFileSync(path.join(out, `soak${o.suffix}.json`), `${JSON.stringify({ command: o.command, load: { ...LOAD, patients: o.patients, historyPerPatient: o.historyPerPatient }, summary, result: { ...result, acked: result.acked.size }, samples }, null, 1)}\n`);
    const title = `RPM gateway soak: ${o.minutes} min of mixed load on ${o.patients} patients with ${o.historyPerPatient} readings of history each`;
    const subtitle = `${LOAD.httpPerSec} HTTP readings/s, ${LOAD.mqttClients} MQTT devices × ${LOAD.mqttPerClientPerSec}/s, a ${LOAD.batchSize}-reading hub batch every ${LOAD.batchEveryMs / 1000} s, ${LOAD.phiReadsPerSec} history read/s, one device flooding MQTT. RSS idle ${summary.idleRssMb} MB, peak ${summary.peakRssMb} MB, end ${summary.finalRssMb} MB.`;
    await renderSoakChart(samples, title, subtitle, path.join(out, `soak-rss${o.suffix}.png`));
    writeFileSync(path.join(out, `SOAK${o.suffix}.md`), markdown(o, summary, result));
    return summary;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function storedClientIds(dataDir: string, tag: string): Set<string> {
  const db = new Database(path.join(dataDir, 'rpm.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return new Set((db.prepare('SELECT client_id FROM readings WHERE client_id LIKE ?').all(`${tag}-%`) as { client_id: string }[]).map((r) => r.client_id));
  } finally {
    db.close();
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.floor(s.length / 2)] as number);
}

/** Least-squares slope of y over x. */
function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

function summarise(
  minutes: number,
  idle: Sample,
  samples: readonly Sample[],
  result: MixedLoadResult,
  stored: ReadonlySet<string>,
  exitCode: number | null,
): Omit<SoakSummary, 'gatewayCores' | 'loadAverage'> {
  const half = samples.slice(Math.floor(samples.length / 2));
  const p99s = samples.map((s) => s.eventLoopP99Ms ?? 0);
  return {
    minutes,
    idleRssMb: idle.rssMb,
    peakRssMb: Math.max(...samples.map((s) => s.rssMb)),
    finalRssMb: samples.at(-1)?.rssMb ?? Number.NaN,
    secondHalfSlopeMbPerHour: Math.round(slope(half.map((s) => [s.t / 3600, s.rssMb] as const)) * 10) / 10,
    eventLoopP99MedianMs: median(p99s),
    eventLoopP99MaxMs: Math.max(...p99s),
    longestStallMs: Math.max(...samples.map((s) => s.eventLoopMaxMs ?? 0)),
    historyObservationsMax: Math.max(...samples.map((s) => s.historyObservations ?? 0)),
    ruleBacklogMax: Math.max(...samples.map((s) => s.ruleBacklog ?? 0)),
    ruleBacklogEnd: samples.at(-1)?.ruleBacklog ?? 0,
    readyzUnanswered: samples.filter((s) => s.ready === 0).length,
    readyzNot200: samples.filter((s) => s.ready !== 200).length,
    acked: result.acked.size,
    ackedNotStored: [...result.acked].filter((id) => !stored.has(id)).length,
    exitCode,
  };
}

function markdown(o: SoakOptions, s: SoakSummary, r: MixedLoadResult): string {
  return `# Soak: memory and event loop over ${o.minutes} minutes of mixed load

Command: \`${o.command}\` (${new Date().toISOString()}). Chart: [soak-rss${o.suffix}.png](soak-rss${o.suffix}.png); samples: \`soak${o.suffix}.json\`.
How it is run: benchmarks/README.md, "soak".

| | |
|---|---|
| history seeded | ${o.patients} patients × ${o.historyPerPatient} readings (BP and SpO2 over 10 days), already evaluated |
| load | ${LOAD.httpPerSec} HTTP readings/s, ${LOAD.mqttClients} MQTT devices × ${LOAD.mqttPerClientPerSec}/s, one ${LOAD.batchSize}-reading batch every ${LOAD.batchEveryMs / 1000} s, ${LOAD.phiReadsPerSec} history read/s, one device flooding MQTT |
| RSS idle → peak → end | ${s.idleRssMb} → ${s.peakRssMb} → ${s.finalRssMb} MB |
| RSS slope over the second half | ${s.secondHalfSlopeMbPerHour} MB/h |
| event-loop delay p99 (per sample: worst 5-s window of the last minute) | median ${s.eventLoopP99MedianMs} ms, max ${s.eventLoopP99MaxMs} ms |
| longest event-loop stall | ${s.longestStallMs} ms |
| rules history held (max) | ${s.historyObservationsMax} observations |
| rules backlog (readings not yet evaluated): max, at the end (10 s after the load) | ${s.ruleBacklogMax}, ${s.ruleBacklogEnd} |
| /readyz unanswered within 2 s / not 200 | ${s.readyzUnanswered} / ${s.readyzNot200} |
| HTTP answers | ${JSON.stringify(r.httpStatus)} |
| MQTT acknowledged (steady devices) | ${r.mqttAcked} |
| flooding device | ${r.flooder.acked} acknowledged, ${r.flooder.disconnects} disconnects, ${r.flooder.refusedConnects} CONNECTs refused, ${r.flooder.rateLimitMessages} errors-topic explanations |
| history reads | ${JSON.stringify(r.phiReads)} |
| acknowledged readings not stored | ${s.ackedNotStored} of ${s.acked} |
| gateway exit code after SIGTERM | ${s.exitCode} |
| gateway CPU during the load; machine load average (1 min) at the end | ${s.gatewayCores} of a core; ${s.loadAverage} |

The event-loop figures are wall-clock lateness: on a shared machine they include time the gateway
waited for a CPU, not only time it spent in synchronous work. Memory is not affected.
`;
}
