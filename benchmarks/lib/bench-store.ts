import { randomBytes } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';

/**
 * The store a benchmarked gateway writes to, so a scenario can count what it stored afterwards:
 * the SQLite file in its data directory (default), or, with `--gateway-env
 * RPM_STORE=postgres,RPM_DATABASE_URL=postgres://…/db`, a fresh database created on that server
 * for each start (device ids repeat across scenarios) and dropped at stop.
 */
export interface BenchStore {
  /** RPM_* settings that point the gateway at this store. */
  readonly env: Readonly<Record<string, string>>;
  count(): Promise<{ readings: number; rejections: number }>;
  dispose(): Promise<void>;
}

export async function openBenchStore(dataDir: string, env: Readonly<Record<string, string>>): Promise<BenchStore> {
  if (env.RPM_STORE !== 'postgres') {
    return {
      env: {},
      async count() {
        const db = new Database(path.join(dataDir, 'rpm.sqlite'), { readonly: true });
        try {
          const n = (table: string): number => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
          return { readings: n('readings'), rejections: n('rejections') };
        } finally {
          db.close();
        }
      },
      async dispose() {},
    };
  }
  const server = env.RPM_DATABASE_URL;
  if (server === undefined) throw new Error('RPM_STORE=postgres needs RPM_DATABASE_URL (a server and an existing database to connect to)');
  const name = `rpm_bench_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>, database?: string): Promise<T> => {
    const u = new URL(server);
    if (database !== undefined) u.pathname = `/${database}`;
    const c = new pg.Client({ connectionString: u.toString() });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  await admin((c) => c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    env: { RPM_DATABASE_URL: url.toString() },
    count: () =>
      admin(async (c) => {
        const n = async (table: string): Promise<number> => Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n ?? 0);
        return { readings: await n('readings'), rejections: await n('rejections') };
      }, name),
    dispose: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`)).then(() => undefined),
  };
}
