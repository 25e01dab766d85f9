import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DriverProc, nextSourceAddress } from './driver-proc.js';
import { provisionFleet } from './fleet.js';
import { type GatewaySut, startOurGateway } from './gateway.js';
import { cpuTimeMs, rssKb } from './proc.js';
import type { BenchDevice } from './readings.js';
import { median } from './stats.js';
import { type Sut, startPeer } from './sut.js';

/**
 * Scenario `storm`: N devices (10k) lose their connections mid-upload and all come back within
 * one window (60 s), each replaying its unacknowledged readings and its backlog (method §4 M4).
 * Ours vs bare aedes. For ours, the store is counted afterwards: every reading must be there
 * exactly once (replays of readings whose PUBACK was lost are duplicates by id, never new rows).
 *
 * Before the storm, ours also measures the cost of a *first* connect (a gateway that has just
 * restarted has no verified secret cached yet), because the storm itself runs with warm
 * credentials: a carrier outage, not a gateway restart. Three measurements on devices never
 * seen by this process: `first`, credentials in the production format (keyed HMAC,
 * fleet.ts); `legacy`, credentials still stored as argon2id from before that format (one slow
 * verification each, then migrated); `warm`, the `first` devices again (digest cached).
 */

export interface StormOptions {
  readonly root: string;
  readonly devices: number;
  readonly windowS: number;
  readonly pre: number;
  readonly unacked: number;
  readonly backlog: number;
  readonly perDriver: number;
  /** Devices never connected before, for the first-connect measurement (production format). */
  readonly coldDevices: number;
  /** Devices with pre-migration argon2id hashes, for the migration measurement. */
  readonly legacyDevices: number;
  readonly log: (line: string) => void;
}

export interface ConnectCost {
  readonly devices: number;
  readonly concurrency: number;
  readonly connectsPerSecond: number;
  readonly sutCpuMsPerConnect: number;
  readonly connectMs: { readonly p50: number; readonly p99: number };
  readonly busyRetries: number;
}

export interface StormRun {
  readonly system: 'ours' | 'bare-aedes';
  readonly devices: number;
  readonly readingsPerDevice: number;
  readonly ackedReadings: number;
  readonly devicesCaughtUp: number;
  readonly connectMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly catchUpMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly busyRefusals: number;
  readonly otherRefusals: number;
  readonly lostDuringReplay: number;
  /** From the storm's start to the last PUBACK. */
  readonly drainS: number;
  /** Reconnects per second actually completed, first to last CONNACK. */
  readonly connectsPerSecond: number;
  readonly sutCores: number;
  readonly sutCpuMsPerDevice: number;
  readonly peakRssKb: number;
  readonly store?: { readonly stored: number; readonly expected: number; readonly rejections: number; readonly exitCode: number | null; readonly ok: boolean };
  readonly cold?: { readonly first: ConnectCost; readonly legacy: ConnectCost; readonly warm: ConnectCost };
  readonly commands: { readonly sut: string; readonly driver: string };
}

export interface StormResult {
  readonly options: Omit<StormOptions, 'root' | 'log'>;
  readonly runs: readonly StormRun[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Connected {
  readonly ok: number;
  readonly busyRetries: number;
  readonly seconds: number;
  readonly connectMs: { readonly p50: number; readonly p99: number };
}

/** CONNECTs in flight while measuring first connects (a device fleet's storm has far more). */
export const COLD_CONCURRENCY = 16;

async function connectCost(root: string, sut: Sut, file: string, n: number): Promise<ConnectCost> {
  const port = new URL(sut.mqttUrl as string).port;
  const cpu0 = cpuTimeMs(sut.pid);
  const d = new DriverProc(root, 'mqtt-idle', ['--port', port, '--devices', file, '--concurrency', String(COLD_CONCURRENCY), '--auth', '--then', 'close', '--local-address', nextSourceAddress()]);
  const r = (await d.waitFor('connected', 300_000)) as unknown as Connected;
  const cpu = cpuTimeMs(sut.pid) - cpu0;
  await d.exited();
  if (r.ok !== n) throw new Error(`first-connect measurement: ${r.ok} of ${n} devices connected`);
  return { devices: n, concurrency: COLD_CONCURRENCY, connectsPerSecond: r.ok / r.seconds, sutCpuMsPerConnect: cpu / Math.max(1, r.ok), connectMs: r.connectMs, busyRetries: r.busyRetries };
}

interface StormDone {
  readonly devices: number;
  readonly ackedReadings: number;
  readonly connectMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly catchUpMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly busyRefusals: number;
  readonly otherRefusals: number;
  readonly lostDuringReplay: number;
  readonly firstConnackAt: number;
  readonly lastConnackAt: number;
  readonly lastAckAt: number;
}

async function runOne(system: 'ours' | 'bare-aedes', o: StormOptions, work: string): Promise<StormRun> {
  let sut: Sut;
  let cold: StormRun['cold'];
  let fleet: BenchDevice[];
  if (system === 'ours') {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'rpm-bench-storm-'));
    fleet = await provisionFleet({ dataDir, count: o.devices, prefix: 'storm', withPatients: true });
    const coldFleet = await provisionFleet({ dataDir, count: o.coldDevices, prefix: 'cold', withPatients: false });
    const legacyFleet = await provisionFleet({ dataDir, count: o.legacyDevices, prefix: 'legacy', withPatients: false, legacyArgon2: o.legacyDevices });
    sut = await startOurGateway({ root: o.root, devices: 0, dataDir, fleet });
    const coldFile = path.join(work, 'cold-devices.json');
    writeFileSync(coldFile, JSON.stringify(coldFleet));
    const legacyFile = path.join(work, 'legacy-devices.json');
    writeFileSync(legacyFile, JSON.stringify(legacyFleet));
    const first = await connectCost(o.root, sut, coldFile, o.coldDevices);
    const legacy = await connectCost(o.root, sut, legacyFile, o.legacyDevices);
    const warm = await connectCost(o.root, sut, coldFile, o.coldDevices);
    cold = { first, legacy, warm };
    o.log(
      `  ours first connects (production format, keyed HMAC): ${first.connectsPerSecond.toFixed(0)}/s, ${first.sutCpuMsPerConnect.toFixed(2)} ms CPU each; ` +
        `old argon2id hashes (migrated on the way): ${legacy.connectsPerSecond.toFixed(0)}/s; warm: ${warm.connectsPerSecond.toFixed(0)}/s`,
    );
  } else {
    fleet = Array.from({ length: o.devices }, (_, i) => ({ id: `storm-dev-${i}`, secret: '' }));
    sut = await startPeer(o.root, 'bare-aedes', 0);
  }
  const drivers: DriverProc[] = [];
  try {
    const file = path.join(work, `${system}-storm-devices.json`);
    writeFileSync(file, JSON.stringify(fleet));
    const port = new URL(sut.mqttUrl as string).port;
    const baseMs = Date.now() - (o.pre + o.unacked + o.backlog + 10) * 60_000;
    for (let a = 0; a < o.devices; a += o.perDriver) {
      const args = ['--port', port, '--devices', file, '--from', String(a), '--to', String(Math.min(o.devices, a + o.perDriver)), '--concurrency', system === 'ours' ? '8' : '32', '--pre', String(o.pre), '--unacked', String(o.unacked), '--backlog', String(o.backlog), '--base-ms', String(baseMs), '--local-address', nextSourceAddress(), '--tag', system, ...(system === 'ours' ? ['--auth'] : [])];
      drivers.push(new DriverProc(o.root, 'mqtt-storm', args));
    }
    await Promise.all(drivers.map((d) => d.waitFor('pre-done', 600_000)));
    o.log(`  ${system}: ${o.devices} devices connected, uploaded, cut off; storm over ${o.windowS} s`);
    await sleep(1000); // the outage
    const start = Date.now() + 300;
    const cpu0 = cpuTimeMs(sut.pid);
    let peak = rssKb(sut.pid);
    const sampler = setInterval(() => (peak = Math.max(peak, rssKb(sut.pid))), 500);
    for (const d of drivers) d.send(`storm ${start} ${o.windowS * 1000} ${o.devices}`);
    const done = (await Promise.all(drivers.map((d) => d.waitFor('storm-done', (o.windowS + 300) * 1000)))) as unknown as StormDone[];
    clearInterval(sampler);
    const cpuMs = cpuTimeMs(sut.pid) - cpu0;
    const lastAck = Math.max(...done.map((x) => x.lastAckAt));
    const first = Math.min(...done.map((x) => x.firstConnackAt));
    const last = Math.max(...done.map((x) => x.lastConnackAt));
    for (const d of drivers) d.send('close');
    await Promise.all(drivers.map((d) => d.exited()));
    const readingsPerDevice = o.pre + o.unacked + o.backlog;
    const run: Omit<StormRun, 'store'> = {
      system,
      devices: o.devices,
      readingsPerDevice,
      ackedReadings: done.reduce((s, x) => s + x.ackedReadings, 0),
      devicesCaughtUp: done.reduce((s, x) => s + x.devices, 0),
      connectMs: { p50: median(done.map((x) => x.connectMs.p50)), p99: Math.max(...done.map((x) => x.connectMs.p99)), max: Math.max(...done.map((x) => x.connectMs.max)) },
      catchUpMs: { p50: median(done.map((x) => x.catchUpMs.p50)), p99: Math.max(...done.map((x) => x.catchUpMs.p99)), max: Math.max(...done.map((x) => x.catchUpMs.max)) },
      busyRefusals: done.reduce((s, x) => s + x.busyRefusals, 0),
      otherRefusals: done.reduce((s, x) => s + x.otherRefusals, 0),
      lostDuringReplay: done.reduce((s, x) => s + x.lostDuringReplay, 0),
      drainS: (lastAck - start) / 1000,
      connectsPerSecond: o.devices / Math.max(0.001, (last - first) / 1000),
      sutCores: cpuMs / Math.max(1, lastAck - start),
      sutCpuMsPerDevice: cpuMs / o.devices,
      peakRssKb: peak,
      ...(cold === undefined ? {} : { cold }),
      commands: { sut: sut.command, driver: (drivers[0] as DriverProc).command.replace(work, '$TMP') },
    };
    o.log(`  ${system}: drained in ${run.drainS.toFixed(1)} s, connect p99 ${run.connectMs.p99.toFixed(1)} ms, catch-up p99 ${run.catchUpMs.p99.toFixed(0)} ms, ${run.busyRefusals} busy refusals`);
    if (system !== 'ours') return run;
    const counted = await (sut as GatewaySut).stopAndCount();
    const expected = o.devices * readingsPerDevice;
    return { ...run, store: { stored: counted.readings, expected, rejections: counted.rejections, exitCode: counted.exitCode, ok: counted.readings === expected && counted.rejections === 0 && counted.exitCode === 0 } };
  } finally {
    for (const d of drivers) if (d.child.exitCode === null) d.child.kill('SIGKILL');
    await sut.stop();
  }
}

export async function runStorm(o: StormOptions): Promise<StormResult> {
  const work = mkdtempSync(path.join(tmpdir(), 'rpm-bench-storm-run-'));
  try {
    const runs: StormRun[] = [];
    for (const system of ['ours', 'bare-aedes'] as const) runs.push(await runOne(system, o, work));
    const { root: _r, log: _l, ...options } = o;
    return { options, runs };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
