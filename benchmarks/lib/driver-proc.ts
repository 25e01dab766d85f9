import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { commandLine, GENERATOR_CORE, spawnPinned, tailStderr } from './proc.js';

/** A JSON line a long-lived driver printed: `{"event": …, …}`. */
export type DriverLine = { readonly event: string } & Readonly<Record<string, unknown>>;

/**
 * A driver process on the generator core that talks in JSON lines (stdout) and takes commands
 * on stdin, for scenarios that move through phases (connect, hold, storm, close) rather than
 * one timed window.
 */
export class DriverProc {
  readonly child: ChildProcess;
  readonly command: string;
  private readonly seen: DriverLine[] = [];
  private waiters: { event: string; resolve: (l: DriverLine) => void }[] = [];
  private readonly stderr: () => string;

  constructor(root: string, driver: string, args: readonly string[]) {
    const { child, argv } = spawnPinned(GENERATOR_CORE, process.execPath, [`dist/benchmarks/drivers/${driver}.js`, ...args], { cwd: root, stdin: 'pipe' });
    (child.stdin as NodeJS.WritableStream | null)?.on('error', () => undefined);
    this.child = child;
    this.command = commandLine(argv.map((a) => (a === process.execPath ? 'node' : a)));
    this.stderr = tailStderr(child);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let l: DriverLine;
      try {
        l = JSON.parse(line) as DriverLine;
      } catch {
        return;
      }
      if (typeof l.event !== 'string') return;
      this.seen.push(l);
      const w = this.waiters.filter((x) => x.event === l.event);
      this.waiters = this.waiters.filter((x) => x.event !== l.event);
      for (const x of w) x.resolve(l);
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** The first line with this event (already seen or still to come); rejects on exit or timeout. */
  waitFor(event: string, timeoutMs: number): Promise<DriverLine> {
    const already = this.seen.find((l) => l.event === event);
    if (already !== undefined) return Promise.resolve(already);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`driver waited ${timeoutMs} ms for '${event}'\n${this.stderr()}`)), timeoutMs);
      const onExit = (code: number | null): void => {
        clearTimeout(timer);
        reject(new Error(`driver exited (${code}) before '${event}'\n${this.stderr()}`));
      };
      this.child.once('exit', onExit);
      this.waiters.push({
        event,
        resolve: (l) => {
          clearTimeout(timer);
          this.child.off('exit', onExit);
          resolve(l);
        },
      });
    });
  }

  send(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  /** Resolves on exit; SIGKILL after `graceMs`. */
  exited(graceMs = 10_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve(this.child.exitCode);
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      this.child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
  }
}

let sourceAddress = 10;

/**
 * A loopback source address for the next driver process: each of 127.0.0.10 … 127.0.0.250 has
 * its own 28k ephemeral ports, so 50k connections to one listener, or a storm right after a
 * capacity run that left thousands of sockets in TIME_WAIT, never runs out of ports.
 */
export function nextSourceAddress(): string {
  const a = `127.0.0.${sourceAddress}`;
  sourceAddress = sourceAddress >= 250 ? 10 : sourceAddress + 1;
  return a;
}

/** The hard open-files limit children can raise their soft limit to (see spawnPinned). */
export function hardFdLimit(): number {
  try {
    const out = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
    return out === 'unlimited' ? Number.POSITIVE_INFINITY : Number(out);
  } catch {
    return 1024;
  }
}
