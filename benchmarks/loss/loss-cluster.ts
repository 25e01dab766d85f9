import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import pg from 'pg';
import type { StoredRow } from '../../simulators/loss-check.js';
import { type ChildGateway, clusterProcess, type ExitInfo } from '../../test/helpers/child-gateway.js';
import { tempDir } from '../../test/helpers/gateway.js';
import { type OwnPostgres, startOwnPostgres } from '../../test/helpers/own-postgres.js';
import { type OwnRedis, startOwnRedis } from '../../test/helpers/redis.js';
import { TcpBalancer } from './tcp-balancer.js';

/**
 * The distributed mode for `npm run check:loss -- --mode distributed`: a PostgreSQL and a Redis
 * (without persistence) of its own, two gateways (`rpm gateway`) behind a TCP balancer for HTTP and
 * for MQTT, and two workers (`rpm worker`). Each "kill" SIGKILLs the next process in turn —
 * gateway 1, worker 1, gateway 2, worker 2, and Redis (which comes back empty) — and starts it again.
 */
export class LossCluster {
  private victim = 0;
  private lastVictim = '';
  private readonly dirs: string[] = [];

  private constructor(
    private readonly postgres: OwnPostgres,
    private readonly redis: OwnRedis,
    readonly gateways: ChildGateway[],
    readonly workers: ChildGateway[],
    private readonly http: TcpBalancer,
    private readonly mqtt: TcpBalancer,
  ) {}

  static async start(env: Record<string, string>): Promise<LossCluster> {
    const [postgres, redis] = await Promise.all([startOwnPostgres(), startOwnRedis()]);
    const key = randomBytes(32).toString('base64');
    const dirs: string[] = [];
    const node = (name: string, role: 'gateway' | 'worker'): ChildGateway => {
      const dataDir = tempDir(`rpm-loss-${name}-`);
      dirs.push(dataDir);
      return clusterProcess(name, role, dataDir, {
        RPM_DATABASE_URL: postgres.url,
        RPM_REDIS_URL: redis.url,
        RPM_SECRET_KEYS: `k1:${key}`,
        RPM_CLUSTER_ROUND_MS: '500',
        ...env,
      });
    };
    const gateways = [node('gw-1', 'gateway'), node('gw-2', 'gateway')];
    const workers = [node('wk-1', 'worker'), node('wk-2', 'worker')];
    await gateways[0]?.start();
    await Promise.all([gateways[1]?.start(), ...workers.map((w) => w.start())]);
    const http = await TcpBalancer.start(() => gateways.map((g) => g.httpPort));
    const mqtt = await TcpBalancer.start(() => gateways.map((g) => g.mqttPort));
    const cluster = new LossCluster(postgres, redis, gateways, workers, http, mqtt);
    cluster.dirs.push(...dirs);
    return cluster;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.http.port}`;
  }

  get mqttUrl(): string {
    return `mqtt://127.0.0.1:${this.mqtt.port}`;
  }

  get starts(): number {
    return [...this.gateways, ...this.workers].reduce((n, p) => n + p.starts, 0);
  }

  /** What the last kill hit. */
  get lastKilled(): string {
    return this.lastVictim;
  }

  /** SIGKILLs the next process in turn (or Redis), as the kill loop's "gateway". */
  async stop(sig: NodeJS.Signals, timeoutMs = 20_000): Promise<ExitInfo> {
    const order = ['gw-1', 'wk-1', 'gw-2', 'wk-2', 'redis'];
    const name = order[this.victim % order.length] as string;
    this.victim++;
    this.lastVictim = name;
    if (name === 'redis') {
      await this.redis.kill();
      return { code: null, signal: 'SIGKILL' };
    }
    return this.process(name).stop(sig, timeoutMs);
  }

  async start(): Promise<void> {
    if (this.lastVictim === 'redis') await this.redis.start();
    else await this.process(this.lastVictim).start();
  }

  /** SIGTERM to every process; their exits (workers first, so they give their work back). */
  async stopAll(): Promise<ExitInfo[]> {
    const exits: ExitInfo[] = [];
    for (const p of [...this.workers, ...this.gateways]) {
      const exit = await p.stop('SIGTERM', 30_000);
      if (exit.code !== 0) process.stderr.write(`${p.current?.tail(40) ?? ''}\n`);
      exits.push(exit);
    }
    return exits;
  }

  /** What the gateways stored, read straight from PostgreSQL (the checker trusts no API for the verdict). */
  async storedRows(boot: string): Promise<{ rows: StoredRow[]; rejections: number }> {
    const client = new pg.Client({ connectionString: this.postgres.url });
    await client.connect();
    try {
      const rows = (
        await client.query<{ clientId: string; deviceId: string; sequence: string | null }>('SELECT client_id AS "clientId", device_id AS "deviceId", sequence FROM readings WHERE client_id LIKE $1', [`%~${boot}~%`])
      ).rows.map((r): StoredRow => ({ clientId: r.clientId, deviceId: r.deviceId, sequence: r.sequence === null ? null : Number(r.sequence) }));
      const n = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM rejections')).rows[0]?.n ?? 0);
      return { rows, rejections: n };
    } finally {
      await client.end();
    }
  }

  async dispose(keepData: boolean): Promise<void> {
    for (const p of [...this.gateways, ...this.workers]) await p.dispose();
    await this.http.close();
    await this.mqtt.close();
    await this.redis.stop();
    this.postgres.stop();
    if (!keepData) for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }

  private process(name: string): ChildGateway {
    const byName: Record<string, ChildGateway | undefined> = { 'gw-1': this.gateways[0], 'gw-2': this.gateways[1], 'wk-1': this.workers[0], 'wk-2': this.workers[1] };
    const p = byName[name];
    if (p === undefined) throw new Error(`no process ${name}`);
    return p;
  }
}
