import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { commandLine, type Entry, freePort, programArgs, spawnPinned, stopProcess, SUT_CORE, tailStderr, waitForPort } from './proc.js';
import { type BenchDevice, fakeDevices } from './readings.js';

/** A system under test: one process pinned to the SUT core. */
export interface Sut {
  readonly name: string;
  readonly pid: number;
  /** How it was started, for RESULTS.md. */
  readonly command: string;
  readonly httpUrl?: string;
  readonly mqttUrl?: string;
  /** Whether MQTT clients must log in as device id + secret. */
  readonly mqttAuth: boolean;
  readonly devices: readonly BenchDevice[];
  stop(): Promise<void>;
}

export type PeerName = 'bare-fastify' | 'bare-http' | 'bare-aedes' | 'mosquitto';

/** A peer from benchmarks/peers (compiled to dist/ by `npm run build`), with made-up devices. */
export async function startPeer(root: string, name: Exclude<PeerName, 'mosquitto'>, devices: number, entry: Entry = 'dist'): Promise<Sut> {
  const port = await freePort();
  const { child, argv } = spawnPinned(SUT_CORE, process.execPath, [...programArgs(entry, `benchmarks/peers/${name}`), '--port', String(port)], {
    cwd: root,
    stdout: 'ignore',
  });
  const stderr = tailStderr(child);
  try {
    await waitForPort(port, child, entry === 'source' ? 120_000 : 30_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${name} did not start: ${(err as Error).message}\n${stderr()}`);
  }
  const http = name !== 'bare-aedes';
  return {
    name,
    pid: child.pid as number,
    command: commandLine(argv.map((a) => (a === process.execPath ? 'node' : a))),
    ...(http ? { httpUrl: `http://127.0.0.1:${port}` } : { mqttUrl: `mqtt://127.0.0.1:${port}` }),
    mqttAuth: false,
    devices: fakeDevices(devices),
    stop: async () => {
      await stopProcess(child, 3000);
    },
  };
}

/**
 * Mosquitto as an MQTT peer: our own instance on a free port (the system one on 1883 is shared,
 * and we may not pin it), in-memory (`persistence false`), anonymous.
 */
export async function startMosquitto(devices: number): Promise<Sut> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'rpm-bench-mosq-'));
  const conf = path.join(dir, 'mosquitto.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'log_dest stderr', 'log_type error', ''].join('\n'));
  const { child, argv } = spawnPinned(SUT_CORE, 'mosquitto', ['-c', conf], { stdout: 'ignore' });
  const stderr = tailStderr(child);
  try {
    await waitForPort(port, child);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`mosquitto did not start: ${(err as Error).message}\n${stderr()}`);
  }
  return {
    name: 'mosquitto',
    pid: child.pid as number,
    command: `${commandLine(argv)}  # conf: listener ${port} 127.0.0.1 / allow_anonymous true / persistence false`,
    mqttUrl: `mqtt://127.0.0.1:${port}`,
    mqttAuth: false,
    devices: fakeDevices(devices),
    stop: async () => {
      await stopProcess(child, 3000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The Mosquitto already running on 127.0.0.1:1883 (a system service shared with other work on
 * this machine), as the issue names it. We only connect to it: never start, stop or pin it, so it
 * runs on whichever core the scheduler picks. Its pid, found with `ss`, gives its CPU time; its
 * config (`persistence true`) writes snapshots every `autosave_interval`, not per message, so
 * like bare aedes its PUBACK promises nothing about durability.
 */
export async function sharedMosquitto(devices: number, port = 1883): Promise<Sut> {
  const up = await new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (!up) throw new Error(`nothing listens on 127.0.0.1:${port}`);
  let pid = Number.NaN;
  let cmd = 'mosquitto';
  try {
    const out = execFileSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' });
    pid = Number(/pid=(\d+)/.exec(out)?.[1] ?? Number.NaN);
    if (Number.isFinite(pid)) cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((s) => s !== '').join(' ');
  } catch {
    // ss missing or not allowed: throughput still counts, CPU per reading shows n/a
  }
  return {
    name: 'mosquitto',
    pid,
    command: `# shared service on 127.0.0.1:${port}, not started or pinned by us: ${cmd}${Number.isFinite(pid) ? ` (pid ${pid})` : ''}`,
    mqttUrl: `mqtt://127.0.0.1:${port}`,
    mqttAuth: false,
    devices: fakeDevices(devices),
    stop: async () => undefined,
  };
}
