import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { freePort } from './child-gateway.js';
import { tempDir } from './gateway.js';

/** The Debian package `victoria-metrics` (.ci/run installs it). */
export const VICTORIA_METRICS_BIN = '/usr/bin/victoria-metrics';

/**
 * A real VictoriaMetrics on a free port with its own storage, speaking the InfluxDB line protocol
 * on /api/v2/write. Deduplication on the millisecond makes a point written twice one point, as
 * InfluxDB's series-and-time identity does. A missing binary fails the test (never skips it).
 */
export class VictoriaMetrics {
  private constructor(
    readonly url: string,
    private readonly proc: ChildProcess,
    private readonly dir: string,
  ) {}

  /** The server's process id (benchmarks read its CPU time). */
  get pid(): number | undefined {
    return this.proc.pid;
  }

  static async start(): Promise<VictoriaMetrics> {
    if (!existsSync(VICTORIA_METRICS_BIN)) throw new Error(`${VICTORIA_METRICS_BIN} is missing: install the Debian package victoria-metrics (.ci/run does)`);
    const port = await freePort();
    const dir = tempDir('rpm-vm-');
    const proc = spawn(VICTORIA_METRICS_BIN, [`-storageDataPath=${dir}`, `-httpListenAddr=127.0.0.1:${port}`, '-retentionPeriod=100y', '-dedup.minScrapeInterval=1ms', '-loggerLevel=ERROR'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`victoria-metrics exited (${proc.exitCode}): ${stderr}`);
      try {
        if ((await fetch(`${url}/health`)).ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`victoria-metrics did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return new VictoriaMetrics(url, proc, dir);
  }

  /** Every sample of the series matching `selector`, after a flush so fresh writes are visible. */
  async export(selector: string): Promise<{ metric: Record<string, string>; values: number[]; timestamps: number[] }[]> {
    await fetch(`${this.url}/internal/force_flush`);
    const res = await fetch(`${this.url}/api/v1/export`, { method: 'POST', body: new URLSearchParams({ 'match[]': selector }) });
    const text = await res.text();
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { metric: Record<string, string>; values: number[]; timestamps: number[] });
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
