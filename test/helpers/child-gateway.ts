import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN_TOKEN } from './gateway.js';

/**
 * The gateway as a real child process (`node --import tsx gateway/main.ts`), for tests that
 * need what an in-process gateway cannot give: SIGKILL, SIGTERM, exit codes, stderr.
 */

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every `everyMs` until it holds; throws a clear error after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs: number, what: string, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A port that was free a moment ago (bind port 0 on loopback, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The parent's environment without any RPM_* setting, so only what a test passes applies. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('RPM_') && k !== 'NODE_OPTIONS') env[k] = v;
  }
  return env;
}

const TAIL_CHARS = 64 * 1024;

/** One run of the gateway process. Output is kept (its tail) for assertions and failure messages. */
export class GatewayProcess {
  readonly proc: ChildProcess;
  readonly exited: Promise<ExitInfo>;
  private out = '';
  private err = '';

  /** `args`: the node arguments (default: the single process from source); e.g. `['bin/rpm.js', 'worker']`. */
  constructor(env: Record<string, string>, args: readonly string[] = ['--import', 'tsx', 'gateway/main.ts']) {
    this.proc = spawn(process.execPath, [...args], {
      cwd: REPO_ROOT,
      env: { ...baseEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.out = (this.out + chunk).slice(-TAIL_CHARS);
    });
    this.proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.err = (this.err + chunk).slice(-TAIL_CHARS);
    });
    this.exited = new Promise((resolve) => {
      // 'close' (not 'exit') so that stdout and stderr have been read to the end.
      this.proc.once('close', (code, signal) => resolve({ code, signal }));
      this.proc.once('error', () => resolve({ code: null, signal: null }));
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get stdout(): string {
    return this.out;
  }

  get stderr(): string {
    return this.err;
  }

  /** The last lines of output, for error messages. */
  tail(lines = 30): string {
    const pick = (s: string): string => s.trimEnd().split('\n').slice(-lines).join('\n');
    return `--- stdout (tail) ---\n${pick(this.out)}\n--- stderr (tail) ---\n${pick(this.err)}`;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.proc.kill(sig);
  }

  async waitExit(timeoutMs: number): Promise<ExitInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`gateway pid ${this.pid} did not exit within ${timeoutMs} ms\n${this.tail()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL (if still running) and wait for the exit. Safe to call at any time. */
  async killHard(): Promise<ExitInfo> {
    this.signal('SIGKILL');
    return this.waitExit(10_000);
  }
}

/** Runs the gateway with exactly these RPM_* settings until it exits (for startup failures). */
export async function runGatewayToExit(env: Record<string, string>, timeoutMs = 20_000): Promise<ExitInfo & { stdout: string; stderr: string }> {
  const p = new GatewayProcess(env);
  try {
    const exit = await p.waitExit(timeoutMs);
    return { ...exit, stdout: p.stdout, stderr: p.stderr };
  } finally {
    await p.killHard();
  }
}

export interface ChildGatewayOptions {
  readonly dataDir: string;
  /** Extra RPM_* settings. */
  readonly env?: Record<string, string>;
  readonly readyTimeoutMs?: number;
  /** Node arguments of the process (default: the single process, `gateway/main.ts` from source). */
  readonly args?: readonly string[];
}

/**
 * A gateway process with a fixed data directory that can be killed and started again. The
 * ports are chosen once and reused across restarts, so clients reconnect to the same address;
 * read `baseUrl` / `mqttUrl` afresh anyway (they change if a port was taken meanwhile).
 */
export class ChildGateway {
  httpPort = 0;
  mqttPort = 0;
  current: GatewayProcess | undefined;
  starts = 0;
  /** Output of every run, oldest first (tails only). */
  readonly history: GatewayProcess[] = [];

  constructor(private readonly options: ChildGatewayOptions) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get mqttUrl(): string {
    return `mqtt://127.0.0.1:${this.mqttPort}`;
  }

  /** Spawns the gateway and waits until GET /readyz answers 200. */
  async start(): Promise<GatewayProcess> {
    if (this.current?.running) throw new Error('gateway already running');
    if (this.httpPort === 0) await this.pickPorts();
    for (let attempt = 1; ; attempt++) {
      const p = new GatewayProcess({
        RPM_DATA_DIR: this.options.dataDir,
        RPM_HTTP_HOST: '127.0.0.1',
        RPM_HTTP_PORT: String(this.httpPort),
        RPM_MQTT_HOST: '127.0.0.1',
        RPM_MQTT_PORT: String(this.mqttPort),
        RPM_ADMIN_TOKEN: ADMIN_TOKEN,
        RPM_LOG_LEVEL: 'info',
        ...(this.options.env ?? {}),
      }, this.options.args);
      this.current = p;
      this.history.push(p);
      this.starts++;
      try {
        await this.waitReady(p, this.options.readyTimeoutMs ?? 30_000);
        return p;
      } catch (err) {
        await p.killHard();
        // Another process took one of our ports between restarts: move, and say so in the URLs.
        if (attempt < 3 && /EADDRINUSE|already in use/.test(p.stderr + p.stdout)) {
          await this.pickPorts();
          continue;
        }
        throw err;
      }
    }
  }

  /** Sends `sig` and waits for the process to exit. */
  async stop(sig: NodeJS.Signals, timeoutMs = 20_000): Promise<ExitInfo> {
    const p = this.current;
    if (p === undefined) throw new Error('gateway was never started');
    p.signal(sig);
    return p.waitExit(timeoutMs);
  }

  /** For afterAll: SIGKILL whatever still runs. */
  async dispose(): Promise<void> {
    for (const p of this.history) if (p.running) await p.killHard();
  }

  private async pickPorts(): Promise<void> {
    this.httpPort = await freePort();
    do this.mqttPort = await freePort();
    while (this.mqttPort === this.httpPort);
  }

  private async waitReady(p: GatewayProcess, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!p.running) {
        const exit = await p.exited;
        throw new Error(`gateway exited before becoming ready (code ${exit.code}, signal ${exit.signal})\n${p.tail()}`);
      }
      try {
        const res = await fetch(`${this.baseUrl}/readyz`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() >= deadline) throw new Error(`gateway not ready within ${timeoutMs} ms\n${p.tail()}`);
      await sleep(50);
    }
  }
}

/**
 * A process of the distributed mode (`rpm gateway` or `rpm worker`, from source) with a data
 * directory of its own, sharing `env` (the store, Redis, keys…) with the rest of its cluster.
 */
export function clusterProcess(name: string, role: 'gateway' | 'worker', dataDir: string, env: Record<string, string>): ChildGateway {
  return new ChildGateway({
    dataDir,
    args: ['bin/rpm.js', role],
    readyTimeoutMs: 60_000,
    env: { RPM_CLI_FROM_SOURCE: '1', RPM_NODE_NAME: name, RPM_STORE: 'postgres', ...env },
  });
}
