import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type GatewaySut, startOurGateway } from './gateway.js';
import { type Rep, runDriver } from './measure.js';
import { type TimeMap, timeMapArgs } from './readings.js';
import type { ScenarioSpec, SystemName } from './scenarios.js';
import { type Sut, sharedMosquitto, startMosquitto, startPeer } from './sut.js';

export interface RunOptions {
  readonly root: string;
  readonly reps: number;
  readonly warmup: number;
  readonly duration: number;
  readonly profileDir?: string;
  /** Extra RPM_* environment for our gateway (diagnostic runs). */
  readonly gatewayEnv?: Readonly<Record<string, string>>;
  readonly log: (line: string) => void;
}

export interface Verification {
  readonly stored: number;
  readonly rejections: number;
  /** Readings acknowledged to a client (priming included). */
  readonly acked: number;
  /** Readings sent whose ack the driver abandoned; they may or may not be stored. */
  readonly unackedBound: number;
  readonly ok: boolean;
  readonly exitCode: number | null;
  /** Group commits and rows over the gateway's life (only when it ran with RPM_LOG_LEVEL=info). */
  readonly commitStats?: { readonly commits: number; readonly rows: number };
}

export interface ScenarioResult {
  readonly spec: ScenarioSpec;
  readonly reps: readonly Rep[];
  /** Start command of each system and one driver command per system (rep 1). */
  readonly commands: Readonly<Record<string, { sut: string; driver: string }>>;
  readonly skipped: Readonly<Record<string, string>>;
  readonly verification: Verification | undefined;
}

async function startSystem(name: SystemName, spec: ScenarioSpec, opts: RunOptions): Promise<Sut | GatewaySut> {
  const n = spec.load.devices;
  if (name === 'ours') {
    return startOurGateway({
      root: opts.root,
      devices: n,
      ...(opts.gatewayEnv === undefined ? {} : { env: opts.gatewayEnv }),
      ...(opts.profileDir === undefined ? {} : { profileDir: opts.profileDir }),
    });
  }
  if (name === 'mosquitto') {
    // The issue's peer is the Mosquitto on 1883; a private pinned one only where there is none.
    return sharedMosquitto(n).catch((err: unknown) => {
      opts.log(`  no shared mosquitto (${(err as Error).message}); starting our own on a free port`);
      return startMosquitto(n);
    });
  }
  return startPeer(opts.root, name, n);
}

function driverArgs(spec: ScenarioSpec, sut: Sut, devicesFile: string, opts: RunOptions, time: TimeMap): string[] {
  const l = spec.load;
  const common = ['--devices', devicesFile, '--batch', String(l.batch), '--warmup', String(opts.warmup), '--duration', String(opts.duration), ...timeMapArgs(time)];
  if (spec.protocol === 'http') return ['--url', sut.httpUrl as string, '--connections', String(l.connections), ...common];
  return ['--url', sut.mqttUrl as string, '--clients', String(l.connections), '--window', String(l.window ?? 10), ...common, ...(sut.mqttAuth ? ['--auth'] : [])];
}

/** Starts every system of the scenario, runs interleaved repetitions, stops them, checks the store. */
export async function runScenario(spec: ScenarioSpec, opts: RunOptions): Promise<ScenarioResult> {
  const work = mkdtempSync(path.join(tmpdir(), 'rpm-bench-run-'));
  const suts: Sut[] = [];
  const skipped: Record<string, string> = {};
  const commands: Record<string, { sut: string; driver: string }> = {};
  const reps: Rep[] = [];
  let verification: Verification | undefined;
  try {
    for (const name of spec.systems) {
      try {
        opts.log(`  starting ${name}`);
        suts.push(await startSystem(name, spec, opts));
      } catch (err) {
        if (name === 'ours') throw err;
        skipped[name] = (err as Error).message.split('\n')[0] ?? 'failed to start';
        opts.log(`  skipping ${name}: ${skipped[name]}`);
      }
    }
    const devicesFile = new Map<string, string>();
    for (const sut of suts) {
      const file = path.join(work, `${sut.name}-devices.json`);
      writeFileSync(file, JSON.stringify(sut.devices));
      devicesFile.set(sut.name, file);
    }
    const driver = spec.protocol === 'http' ? 'http-load' : 'mqtt-load';
    // Measurement times sweep from 360 days ago to a few days ago over the scenario's expected
    // wall time (readings.ts, TimeMap); a longer run than expected only clamps at a minute ago.
    const expectedMs = opts.reps * suts.length * (opts.warmup + opts.duration + 4) * 1000;
    const time: TimeMap = { wallOriginMs: Date.now(), measuredOriginMs: Date.now() - 360 * 86_400_000, scale: (355 * 86_400_000) / expectedMs };
    for (let rep = 1; rep <= opts.reps; rep++) {
      for (const sut of suts) {
        const args = driverArgs(spec, sut, devicesFile.get(sut.name) as string, opts, time);
        const { rep: r, command } = await runDriver(opts.root, driver, args, sut, rep);
        commands[sut.name] ??= { sut: sut.command, driver: command.replace(work, '$TMP') };
        reps.push(r);
        opts.log(
          `  rep ${rep} ${sut.name.padEnd(12)} ${Math.round(r.readingsPerSec).toString().padStart(8)} readings/s  ` +
            `${r.sutCpuUsPerReading.toFixed(1)} µs CPU/reading  SUT ${r.sutCores.toFixed(2)} core  gen ${r.generatorCores.toFixed(2)} core  ` +
            `p99 ${r.latencyMs.p99.toFixed(1)} ms${r.notes.length > 0 ? `  [${r.notes.join('; ')}]` : ''}`,
        );
      }
    }
  } finally {
    for (const sut of suts) {
      if (sut.name === 'ours') {
        const gw = sut as GatewaySut;
        const counted = await gw.stopAndCount();
        const ours = reps.filter((r) => r.system === 'ours');
        const acked = gw.primed + ours.reduce((a, r) => a + r.totalAckedReadings, 0);
        const unackedBound = ours.reduce((a, r) => a + r.unackedInFlightBound, 0);
        verification = {
          stored: counted.readings,
          rejections: counted.rejections,
          acked,
          unackedBound,
          exitCode: counted.exitCode,
          ...(counted.commitStats === undefined ? {} : { commitStats: counted.commitStats }),
          ok: counted.readings >= acked && counted.readings <= acked + unackedBound && counted.rejections === 0 && counted.exitCode === 0,
        };
        const groups = counted.commitStats === undefined ? '' : `; ${counted.commitStats.commits} commits, ${(counted.commitStats.rows / counted.commitStats.commits).toFixed(1)} rows per commit`;
        opts.log(`  ours stored ${counted.readings} readings (acked ${acked}, up to ${unackedBound} unacked in flight), ${counted.rejections} rejections${groups}`);
      } else {
        await sut.stop();
      }
    }
    rmSync(work, { recursive: true, force: true });
  }
  return { spec, reps, commands, skipped, verification };
}
