import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DriverProc, hardFdLimit, nextSourceAddress } from './driver-proc.js';
import { provisionFleet } from './fleet.js';
import { startOurGateway } from './gateway.js';
import { cpuTimeMs, fdLimit, openFds, rssKb } from './proc.js';
import type { BenchDevice } from './readings.js';
import { median } from './stats.js';
import { type Sut, startPeer } from './sut.js';

/**
 * Scenario `idle`: RSS per idle MQTT connection, ours vs bare aedes (method §4 M3). Each system
 * starts fresh per repetition; connections are added in steps (10k, 20k, 50k by default) and
 * the SUT's RSS is read after each step has settled. RSS per connection = (RSS at the step −
 * RSS before the first connection) ÷ connections open. Our devices authenticate for real
 * (see fleet.ts for the hash parameters); bare aedes takes anyone.
 */

export interface IdleOptions {
  readonly root: string;
  readonly steps: readonly number[];
  readonly reps: number;
  /** Connections per driver process (each holds one descriptor per connection). */
  readonly perDriver: number;
  readonly settleS: number;
  readonly log: (line: string) => void;
}

export interface IdleStep {
  readonly target: number;
  /** Connections open when RSS was read (null: the step was not run). */
  readonly open: number | null;
  readonly note: string;
  readonly rssKb: number;
  readonly kbPerConnection: number;
  /** (RSS − RSS at the previous step) ÷ connections added: leaves out the fixed cost of a grown heap. */
  readonly marginalKbPerConnection: number;
  readonly connectSeconds: number;
  readonly connectsPerSecond: number;
  readonly connectMs: { readonly p50: number; readonly p99: number };
  readonly sutCpuMsPerConnect: number;
  readonly failed: number;
  readonly busyRetries: number;
}

export interface IdleRun {
  readonly system: 'ours' | 'bare-aedes';
  readonly rep: number;
  readonly baselineRssKb: number;
  readonly sutFdLimit: number;
  readonly steps: readonly IdleStep[];
  /** Connections that dropped while they should have stayed open. */
  readonly dropped: number;
}

export interface IdleResult {
  readonly steps: readonly number[];
  readonly runs: readonly IdleRun[];
  readonly commands: Readonly<Record<string, { sut: string; driver: string }>>;
  readonly fleetNote: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** RSS after a settle: the median of 5 reads 400 ms apart (a GC may land in between). */
async function settledRss(pid: number, settleS: number): Promise<number> {
  await sleep(settleS * 1000);
  const xs: number[] = [];
  for (let i = 0; i < 5; i++) {
    xs.push(rssKb(pid));
    await sleep(400);
  }
  return median(xs);
}

interface Connected {
  readonly ok: number;
  readonly failed: number;
  readonly busyRetries: number;
  readonly seconds: number;
  readonly connectMs: { readonly p50: number; readonly p99: number };
}

async function runOne(system: 'ours' | 'bare-aedes', rep: number, template: string | undefined, fleet: readonly BenchDevice[], work: string, opts: IdleOptions, commands: Record<string, { sut: string; driver: string }>): Promise<IdleRun> {
  let sut: Sut;
  if (system === 'ours') {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'rpm-bench-idle-'));
    cpSync(template as string, dataDir, { recursive: true });
    sut = await startOurGateway({ root: opts.root, devices: 0, dataDir, fleet });
  } else {
    sut = await startPeer(opts.root, 'bare-aedes', 0);
  }
  const drivers: DriverProc[] = [];
  const steps: IdleStep[] = [];
  let dropped = 0;
  try {
    const port = Number(new URL(sut.mqttUrl as string).port);
    const devicesFile = path.join(work, `${system}-idle-devices.json`);
    writeFileSync(devicesFile, JSON.stringify(system === 'ours' ? fleet : fleet.map((d, i) => ({ id: `idle-dev-${i}`, secret: d.secret }))));
    const limit = fdLimit(sut.pid);
    const baseline = await settledRss(sut.pid, 2);
    let open = 0;
    let prev: { open: number; rss: number } | undefined;
    for (const target of opts.steps) {
      // Leave descriptors for the SUT's own files and listeners; past its limit accept() fails.
      const cap = Math.min(fleet.length, open + (limit - openFds(sut.pid) - 64));
      const goal = Math.min(target, cap);
      if (goal <= open) {
        steps.push({ target, open: null, note: `not run: ${limit.toLocaleString('en-US')} open files is the SUT's limit here (${target.toLocaleString('en-US')} connections need as many descriptors)`, rssKb: Number.NaN, kbPerConnection: Number.NaN, marginalKbPerConnection: Number.NaN, connectSeconds: Number.NaN, connectsPerSecond: Number.NaN, connectMs: { p50: Number.NaN, p99: Number.NaN }, sutCpuMsPerConnect: Number.NaN, failed: 0, busyRetries: 0 });
        continue;
      }
      const ranges: [number, number][] = [];
      for (let a = open; a < goal; a += opts.perDriver) ranges.push([a, Math.min(goal, a + opts.perDriver)]);
      // Ours allows 16 first-time credential checks at once; more are refused with CONNACK 3.
      const concurrency = system === 'ours' ? Math.max(2, Math.floor(16 / ranges.length)) : 64;
      const cpu0 = cpuTimeMs(sut.pid);
      const step = ranges.map(([a, b]) => {
        const args = ['--port', String(port), '--devices', devicesFile, '--from', String(a), '--to', String(b), '--concurrency', String(concurrency), '--local-address', nextSourceAddress(), '--tag', `${system}${rep}`, ...(system === 'ours' ? ['--auth'] : [])];
        const d = new DriverProc(opts.root, 'mqtt-idle', args);
        commands[system] ??= { sut: sut.command, driver: d.command.replace(work, '$TMP') };
        return d;
      });
      drivers.push(...step);
      const results = (await Promise.all(step.map((d) => d.waitFor('connected', 600_000)))) as unknown as Connected[];
      const cpuMs = cpuTimeMs(sut.pid) - cpu0;
      const ok = results.reduce((s, r) => s + r.ok, 0);
      const seconds = Math.max(...results.map((r) => r.seconds));
      open += ok;
      const rss = await settledRss(sut.pid, opts.settleS);
      const note = goal < target ? `capped at ${goal.toLocaleString('en-US')}: the SUT may open ${limit.toLocaleString('en-US')} files here` : '';
      steps.push({
        target,
        open,
        note,
        rssKb: rss,
        kbPerConnection: (rss - baseline) / open,
        marginalKbPerConnection: prev === undefined ? Number.NaN : (rss - prev.rss) / (open - prev.open),
        connectSeconds: seconds,
        connectsPerSecond: ok / seconds,
        connectMs: { p50: median(results.map((r) => r.connectMs.p50)), p99: Math.max(...results.map((r) => r.connectMs.p99)) },
        sutCpuMsPerConnect: cpuMs / Math.max(1, ok),
        failed: results.reduce((s, r) => s + r.failed, 0),
        busyRetries: results.reduce((s, r) => s + r.busyRetries, 0),
      });
      prev = { open, rss };
      opts.log(`  ${system} rep ${rep}: ${open} open, RSS ${(rss / 1024).toFixed(0)} MB (baseline ${(baseline / 1024).toFixed(0)} MB), ${((rss - baseline) / open).toFixed(2)} KB/connection, ${(ok / seconds).toFixed(0)} connects/s`);
    }
    for (const d of drivers) d.send('close');
    for (const d of drivers) {
      const closed = await d.waitFor('closed', 10_000).catch(() => undefined);
      dropped += Number(closed?.droppedAfterConnect ?? 0);
      await d.exited();
    }
    return { system, rep, baselineRssKb: baseline, sutFdLimit: limit, steps, dropped };
  } finally {
    for (const d of drivers) if (d.child.exitCode === null) d.child.kill('SIGKILL');
    await sut.stop();
  }
}

export async function runIdleCapacity(opts: IdleOptions): Promise<IdleResult> {
  const work = mkdtempSync(path.join(tmpdir(), 'rpm-bench-idle-run-'));
  const template = mkdtempSync(path.join(tmpdir(), 'rpm-bench-idle-fleet-'));
  const runs: IdleRun[] = [];
  const commands: Record<string, { sut: string; driver: string }> = {};
  try {
    // No point registering devices that could never connect: one descriptor each on the SUT side.
    const count = Math.min(Math.max(...opts.steps), hardFdLimit());
    const t0 = performance.now();
    const fleet = await provisionFleet({ dataDir: template, count, prefix: 'idle', withPatients: false });
    const fleetNote = `${count.toLocaleString('en-US')} devices registered straight into SQLite in ${((performance.now() - t0) / 1000).toFixed(1)} s (production keyed-HMAC hashes)`;
    opts.log(`  ${fleetNote}`);
    for (let rep = 1; rep <= opts.reps; rep++) {
      for (const system of ['ours', 'bare-aedes'] as const) runs.push(await runOne(system, rep, template, fleet, work, opts, commands));
    }
    return { steps: opts.steps, runs, commands, fleetNote };
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(template, { recursive: true, force: true });
  }
}
