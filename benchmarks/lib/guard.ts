import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startOurGateway } from './gateway.js';
import { type Rep, runDriver } from './measure.js';
import type { Entry } from './proc.js';
import { type TimeMap, timeMapArgs } from './readings.js';
import { type Sut, startPeer } from './sut.js';

/**
 * The CI-sized performance regression guard (benchmarks/README.md, "Regression guard"): our
 * gateway and the bare peer of each protocol started in the same run, the same short closed-loop
 * load driven at each in alternation (the `mqtt` and `http-single` scenarios' drivers, smaller),
 * and the SUT's CPU time per acknowledged reading from /proc/<pid>/stat. A ratio of two
 * processes measured side by side on the same machine, minutes apart at most, so it keeps its
 * meaning on a slow or busy machine where absolute rates do not.
 *
 * Each system's figure is the lowest of its repetitions: interference from other processes only
 * ever adds CPU time per reading (cache and core contention), so the minimum is the estimate
 * least disturbed by whatever else ran.
 */

export type GuardProtocol = 'mqtt' | 'http-single';

export interface GuardOptions {
  readonly root: string;
  readonly entry: Entry;
  readonly reps: number;
  readonly warmupS: number;
  readonly durationS: number;
  readonly log?: (line: string) => void;
}

export interface GuardMeasurement {
  readonly protocol: GuardProtocol;
  readonly peer: 'bare-aedes' | 'bare-fastify';
  /** Lowest SUT CPU µs per acknowledged reading over the repetitions. */
  readonly oursUs: number;
  readonly peerUs: number;
  /** oursUs / peerUs. */
  readonly ratio: number;
  readonly reps: readonly Rep[];
}

/** Load per protocol: a fraction of the full scenarios' (scenarios.ts), enough to keep each SUT busy. */
const LOAD = {
  mqtt: { clients: 10, window: 20, devices: 10 },
  'http-single': { connections: 32, devices: 32 },
} as const;

export const GUARD_DEFAULTS = { reps: 3, warmupS: 1, durationS: 2 } as const;

async function measure(protocol: GuardProtocol, ours: Sut, peer: Sut, o: GuardOptions, work: string): Promise<GuardMeasurement> {
  const log = o.log ?? (() => undefined);
  const reps: Rep[] = [];
  const suts = [ours, peer];
  const expectedMs = o.reps * suts.length * (o.warmupS + o.durationS + 3) * 1000;
  const time: TimeMap = { wallOriginMs: Date.now(), measuredOriginMs: Date.now() - 360 * 86_400_000, scale: (355 * 86_400_000) / expectedMs };
  for (let rep = 1; rep <= o.reps; rep++) {
    for (const sut of suts) {
      const file = path.join(work, `${protocol}-${sut.name}-devices.json`);
      writeFileSync(file, JSON.stringify(sut.devices));
      const common = ['--devices', file, '--batch', '1', '--warmup', String(o.warmupS), '--duration', String(o.durationS), '--tag', `g${protocol.slice(0, 1)}${rep}${sut.name.slice(0, 1)}${Date.now().toString(36)}`, ...timeMapArgs(time)];
      const args =
        protocol === 'mqtt'
          ? ['--url', sut.mqttUrl as string, '--clients', String(LOAD.mqtt.clients), '--window', String(LOAD.mqtt.window), ...common, ...(sut.mqttAuth ? ['--auth'] : [])]
          : ['--url', sut.httpUrl as string, '--connections', String(LOAD['http-single'].connections), ...common];
      const { rep: r } = await runDriver(o.root, protocol === 'mqtt' ? 'mqtt-load' : 'http-load', args, sut, rep, o.entry);
      if (r.errors > 0 || r.ackedReadings === 0) throw new Error(`${protocol} ${sut.name}: ${r.ackedReadings} readings acknowledged, ${r.errors} errors (${r.notes.join('; ')})`);
      reps.push(r);
      log(`  ${protocol} rep ${rep} ${sut.name.padEnd(12)} ${Math.round(r.readingsPerSec).toString().padStart(7)} readings/s  ${r.sutCpuUsPerReading.toFixed(1)} µs CPU/reading`);
    }
  }
  const lowest = (name: string): number => Math.min(...reps.filter((r) => r.system === name).map((r) => r.sutCpuUsPerReading));
  const oursUs = lowest(ours.name);
  const peerUs = lowest(peer.name);
  return { protocol, peer: peer.name as GuardMeasurement['peer'], oursUs, peerUs, ratio: oursUs / peerUs, reps };
}

/** One gateway (registered devices for both loads) and the peer of each protocol, started once. */
export async function runGuard(o: GuardOptions, protocols: readonly GuardProtocol[] = ['mqtt', 'http-single']): Promise<GuardMeasurement[]> {
  const work = mkdtempSync(path.join(tmpdir(), 'rpm-guard-'));
  const started: Sut[] = [];
  try {
    const devices = Math.max(LOAD.mqtt.devices, LOAD['http-single'].devices);
    const ours = await startOurGateway({ root: o.root, devices, entry: o.entry });
    started.push(ours);
    const out: GuardMeasurement[] = [];
    for (const p of protocols) {
      const peer = await startPeer(o.root, p === 'mqtt' ? 'bare-aedes' : 'bare-fastify', LOAD[p].devices, o.entry);
      started.push(peer);
      // Our gateway's devices: as many as the load uses (MQTT clients each act as one device).
      const oursForLoad: Sut = { ...ours, devices: ours.devices.slice(0, LOAD[p].devices) };
      out.push(await measure(p, oursForLoad, peer, o, work));
    }
    return out;
  } finally {
    for (const sut of started) await sut.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
