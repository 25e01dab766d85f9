import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';

/**
 * The Redis the tests use: the one every developer and CI machine runs on 127.0.0.1:6379
 * (override with RPM_TEST_REDIS_URL). Tests share it, so each takes its own key prefix. A missing
 * server fails the test with a message saying so.
 */
export const REDIS_TEST_URL = process.env.RPM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A prefix no other test run uses (keys and channels). */
export function freshRedisPrefix(): string {
  return `rpmtest.${process.pid}.${randomBytes(4).toString('hex')}`;
}

export async function requireRedis(url = REDIS_TEST_URL): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: true, connectTimeout: 3000, retryStrategy: () => null, lazyConnect: true });
  r.on('error', () => undefined);
  try {
    await r.connect();
    await r.ping();
  } catch (err) {
    throw new Error(`Redis is required by this test and is not reachable at ${url} (${String(err)}). Start Redis 7 on 127.0.0.1:6379, or set RPM_TEST_REDIS_URL.`);
  } finally {
    r.disconnect();
  }
}

/** Deletes every key under a prefix (SCAN, never KEYS). */
export async function dropRedisPrefix(prefix: string, url = REDIS_TEST_URL): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A Redis server of our own (for restarts): no persistence, like the machine's, unless `aof`. */
export interface OwnRedis {
  readonly url: string;
  readonly port: number;
  /** The server's process id while it runs (benchmarks read its CPU time). */
  readonly pid: number | undefined;
  /** SIGKILL: every key is gone (no persistence), clients see the connection drop. */
  kill(): Promise<void>;
  /** Starts again on the same port (empty unless AOF is on). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startOwnRedis(options: { aof?: boolean } = {}): Promise<OwnRedis> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rpm-redis-'));
  let child: ChildProcess | null = null;
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--maxmemory-policy', 'noeviction'];
  if (options.aof === true) args.push('--appendonly', 'yes', '--appendfsync', 'always');
  else args.push('--appendonly', 'no');
  const url = `redis://127.0.0.1:${port}`;
  const start = async (): Promise<void> => {
    child = spawn('/usr/bin/redis-server', args, { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await requireRedis(url);
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const kill = async (): Promise<void> => {
    const c = child;
    child = null;
    if (c === null || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  };
  await start();
  return {
    url,
    port,
    get pid() {
      return (child as ChildProcess | null)?.pid;
    },
    kill,
    start,
    async stop() {
      await kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
