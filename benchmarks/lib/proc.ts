import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** Cores: the load generator on one, the system under test on the other (method §4). */
export const GENERATOR_CORE = 0;
export const SUT_CORE = 1;

/**
 * How a benchmark program runs: compiled (`dist/<file>.js`, after `npm run build`; what
 * `npm run bench` measures) or from source through tsx (the regression guard inside `npm test`,
 * which does not build). Same code either way; tsx only costs start-up time.
 */
export type Entry = 'dist' | 'source';

/**
 * The Node flags `npm start` runs the gateway with (package.json `scripts.start`: `node <flags>
 * dist/gateway/main.js`): our gateway is measured as users run it, never with flags of its own.
 */
export function startNodeFlags(root: string): string[] {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts?: { start?: string } };
  const words = (pkg.scripts?.start ?? '').split(/\s+/).filter((w) => w !== '');
  if (words[0] !== 'node' || words[words.length - 1] !== 'dist/gateway/main.js') throw new Error(`package.json scripts.start is not "node [flags] dist/gateway/main.js": ${pkg.scripts?.start}`);
  return words.slice(1, -1);
}

/** The node arguments that run `file` (a path from the repository root, without extension). */
export function programArgs(entry: Entry, file: string): string[] {
  return entry === 'dist' ? [`dist/${file}.js`] : ['--import', 'tsx', `${file}.ts`];
}

let tasksetOk: boolean | undefined;

/** Whether `taskset -c 1` works here (it is absent on some images, refused in some containers). */
export function canPin(): boolean {
  if (tasksetOk === undefined) {
    try {
      execFileSync('taskset', ['-c', String(SUT_CORE), 'true'], { stdio: 'ignore' });
      tasksetOk = true;
    } catch {
      tasksetOk = false;
    }
  }
  return tasksetOk;
}

/** The argv that runs `cmd args` pinned to `core` (taskset execs, so the pid is the program's). */
/** `core`: one core, or a taskset list such as "0,1". */
export function pinnedArgv(core: number | string, cmd: string, args: readonly string[]): string[] {
  return canPin() ? ['taskset', '-c', String(core), cmd, ...args] : [cmd, ...args];
}

/** A shell-quoted command line, for RESULTS.md. */
export function commandLine(argv: readonly string[], env: Readonly<Record<string, string>> = {}): string {
  const q = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`);
  const prefix = Object.entries(env).map(([k, v]) => `${k}=${q(v)}`);
  return [...prefix, ...argv.map(q)].join(' ');
}

export function spawnPinned(
  core: number,
  cmd: string,
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string; stdout?: 'pipe' | 'ignore' | 'inherit'; stdin?: 'pipe' | 'ignore' } = {},
): { child: ChildProcess; argv: string[] } {
  const argv = pinnedArgv(core, cmd, args);
  // Soft fd limit up to the hard one: 20k idle MQTT connections need 20k descriptors on each
  // side, and many hosts default the soft limit to 1,024. `exec` keeps the pid the program's.
  const child = spawn('sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'sh', ...argv], {
    cwd: options.cwd,
    env: { ...process.env, ...(options.env ?? {}) },
    stdio: [options.stdin ?? 'ignore', options.stdout ?? 'pipe', 'pipe'],
  });
  return { child, argv };
}

let clockTicks: number | undefined;

function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** utime + stime of a process (all its threads), in milliseconds, from /proc/<pid>/stat. */
export function cpuTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name start at field 3 (state); utime is field 14.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / ticksPerSecond();
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on the port. */
export async function waitForPort(port: number, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`process exited with code ${child.exitCode} before listening on ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. Only ever our own children. */
export function stopProcess(child: ChildProcess, graceMs = 20_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}

/** Keep the last lines of a child's stderr for error messages. */
export function tailStderr(child: ChildProcess, max = 40): () => string {
  const lines: string[] = [];
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    lines.push(...chunk.split('\n').filter((l) => l !== ''));
    if (lines.length > max) lines.splice(0, lines.length - max);
  });
  return () => lines.join('\n');
}

/** Resident set size of a process, in KiB, from /proc/<pid>/status. */
export function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? Number.NaN : Number(m[1]);
}

/** The soft "Max open files" limit of a running process. */
export function fdLimit(pid: number): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return m === null || m[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[1]);
}

/** Descriptors a process has open now. */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}
