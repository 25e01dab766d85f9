import pg from 'pg';
import type { Leases, Membership } from '../../core/ports/leases.js';
import type { Pool } from './database.js';

const LOCK_KEY = "hashtextextended($1 || ':' || current_schema(), 0)";

export interface PostgresLeasesOptions {
  readonly url: string;
  /** Schema of the stores (leases are named within it, like the stores' own locks). */
  readonly schema?: string;
  readonly applicationName?: string;
}

/**
 * Leases as PostgreSQL session-level advisory locks on one dedicated connection. The server
 * releases them when the session ends, so a process that dies (SIGKILL, a lost network) frees
 * its work at once; a broken connection here is reported as every lease lost, and the next
 * `tryAcquire` connects again.
 */
export class PostgresLeases implements Leases {
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  private readonly names = new Set<string>();
  private readonly lostListeners: Array<(names: readonly string[]) => void> = [];
  private closed = false;

  constructor(private readonly options: PostgresLeasesOptions) {}

  async tryAcquire(name: string): Promise<boolean> {
    if (this.names.has(name)) return true;
    const client = await this.connection();
    const { rows } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${LOCK_KEY}) AS ok`, [name]);
    if (rows[0]?.ok === true) this.names.add(name);
    return rows[0]?.ok === true;
  }

  async release(name: string): Promise<void> {
    if (!this.names.delete(name) || this.client === null) return;
    await this.client.query(`SELECT pg_advisory_unlock(${LOCK_KEY})`, [name]).catch(() => undefined);
  }

  held(): ReadonlySet<string> {
    return this.names;
  }

  onLost(listener: (names: readonly string[]) => void): void {
    this.lostListeners.push(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.client;
    this.client = null;
    this.names.clear();
    await c?.end().catch(() => undefined);
  }

  private connection(): Promise<pg.Client> {
    if (this.closed) return Promise.reject(new Error('leases closed'));
    if (this.client !== null) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const startup = ['-c idle_in_transaction_session_timeout=0'];
      if (this.options.schema !== undefined) startup.push(`-c search_path=${this.options.schema}`);
      const client = new pg.Client({
        connectionString: this.options.url,
        application_name: this.options.applicationName ?? 'rpm-leases',
        options: startup.join(' '),
        connectionTimeoutMillis: 10_000,
        // The server notices a vanished holder by its TCP connection; keepalives find a dead peer.
        keepAlive: true,
      });
      const lost = (): void => this.lost(client);
      client.on('error', lost);
      client.on('end', lost);
      try {
        await client.connect();
      } catch (err) {
        client.removeListener('end', lost);
        await client.end().catch(() => undefined);
        throw err;
      }
      this.client = client;
      return client;
    })().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    client.end().catch(() => undefined);
    const names = [...this.names];
    this.names.clear();
    if (names.length > 0 && !this.closed) for (const l of this.lostListeners) l(names);
  }
}

/** Membership by heartbeats in `cluster_nodes` (the server's clock, so nodes' clocks may differ). */
export class PostgresMembership implements Membership {
  constructor(
    private readonly pool: Pool,
    private readonly role: string,
    private readonly name: string,
    /** A node not heard from for this long is not counted. */
    private readonly livenessMs: number,
  ) {}

  async heartbeat(): Promise<void> {
    await this.pool.query(
      `INSERT INTO cluster_nodes (role, name, heartbeat_at) VALUES ($1, $2, now())
       ON CONFLICT (role, name) DO UPDATE SET heartbeat_at = now()`,
      [this.role, this.name],
    );
  }

  async live(): Promise<string[]> {
    const { rows } = await this.pool.query<{ name: string }>(
      `SELECT name FROM cluster_nodes WHERE role = $1 AND heartbeat_at > now() - make_interval(secs => $2::double precision / 1000) ORDER BY name`,
      [this.role, this.livenessMs],
    );
    return rows.map((r) => r.name);
  }

  async leave(): Promise<void> {
    await this.pool.query('DELETE FROM cluster_nodes WHERE role = $1 AND name = $2', [this.role, this.name]);
  }
}

/**
 * A setting fixed for the life of the database (`cluster_settings`), e.g. the rule partition count:
 * the first process to start records its value; later ones get the recorded value back, to refuse
 * a configuration that disagrees (two partitionings would let two workers judge one patient).
 */
export async function fixClusterSetting(pool: Pool, name: string, value: string): Promise<string> {
  await pool.query('INSERT INTO cluster_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, value]);
  const row = (await pool.query<{ value: string }>('SELECT value FROM cluster_settings WHERE name = $1', [name])).rows[0];
  return row?.value ?? value;
}
