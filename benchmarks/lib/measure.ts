import { createInterface } from 'node:readline';
import type { DriverEvent, DriverResult } from './driver-io.js';
import { commandLine, cpuTimeMs, type Entry, GENERATOR_CORE, programArgs, spawnPinned, tailStderr } from './proc.js';

/** One repetition of one system: what the driver saw plus CPU time of both processes. */
export interface Rep extends DriverResult {
  readonly system: string;
  readonly rep: number;
  readonly messagesPerSec: number;
  readonly readingsPerSec: number;
  /** SUT CPU time (utime+stime, all threads) per acknowledged reading, in µs. */
  readonly sutCpuUsPerReading: number;
  /** Share of one core the SUT and the generator used in the window (1 = a whole core). */
  readonly sutCores: number;
  readonly generatorCores: number;
}

/**
 * Runs a load driver (pinned to the generator core) against a SUT process and samples both
 * processes' CPU time when the driver opens and closes its measured window.
 */
export async function runDriver(
  root: string,
  driver: 'http-load' | 'mqtt-load',
  args: readonly string[],
  sut: { name: string; pid: number },
  rep: number,
  entry: Entry = 'dist',
): Promise<{ rep: Rep; command: string }> {
  const { child, argv } = spawnPinned(GENERATOR_CORE, process.execPath, [...programArgs(entry, `benchmarks/drivers/${driver}`), ...args], { cwd: root });
  const stderr = tailStderr(child);
  const pid = child.pid as number;
  let start: { sut: number; gen: number; t: number } | undefined;
  let stop: { sut: number; gen: number; t: number } | undefined;
  let result: DriverResult | undefined;
  // A SUT we did not start (the shared Mosquitto) may have no readable /proc entry: CPU is then n/a.
  const sutCpu = (): number => {
    try {
      return cpuTimeMs(sut.pid);
    } catch {
      return Number.NaN;
    }
  };
  const sample = (): { sut: number; gen: number; t: number } => ({ sut: sutCpu(), gen: cpuTimeMs(pid), t: performance.now() });

  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    let ev: DriverEvent;
    try {
      ev = JSON.parse(line) as DriverEvent;
    } catch {
      return; // a library printing to stdout; ignore
    }
    if (ev.event === 'start') start = sample();
    else if (ev.event === 'stop') stop = sample();
    else if (ev.event === 'result') {
      const { event: _e, ...rest } = ev;
      result = rest;
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0 || result === undefined || start === undefined || stop === undefined) {
    throw new Error(`${driver} against ${sut.name} failed (exit ${code})\n${stderr()}`);
  }
  const wallMs = stop.t - start.t;
  const sutMs = stop.sut - start.sut;
  return {
    command: commandLine(argv.map((a) => (a === process.execPath ? 'node' : a))),
    rep: {
      ...result,
      system: sut.name,
      rep,
      messagesPerSec: result.ackedMessages / result.seconds,
      readingsPerSec: result.ackedReadings / result.seconds,
      sutCpuUsPerReading: result.ackedReadings > 0 ? (sutMs * 1000) / result.ackedReadings : Number.NaN,
      sutCores: sutMs / wallMs,
      generatorCores: (stop.gen - start.gen) / wallMs,
    },
  };
}
