import pg from 'pg';
import { RpmError } from '../../core/errors/rpm-error.js';
import { type PostgresMigration, POSTGRES_MIGRATIONS } from './migrations.js';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Something that runs a query: the pool (one statement, autocommit) or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export interface PostgresOptions {
  /** `postgres://user[:password]@host[:port]/database[?sslmode=…]`. */
  readonly url: string;
  /** Connections in the pool. */
  readonly poolSize: number;
  /** Server-side limit per statement (ms): a stuck statement fails instead of holding its locks. */
  readonly statementTimeoutMs: number;
  /**
   * Schema for every table (created if missing). Default: the server's search_path (`public`).
   * Tests give each store its own schema in a shared database.
   */
  readonly schema?: string;
  readonly applicationName?: string;
  /** Errors of idle pooled connections (server restart, network cut); they are replaced on next use. */
  readonly onError?: (err: Error) => void;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * PostgreSQL's int8 (bigint, count(*)) arrives as a string by default, because not every int8
 * fits a JS number. Ours are epoch milliseconds, log positions and counts, all far below 2^53;
 * parsed per pool, not globally, so other users of `pg` in the process keep the default.
 */
const INT8_OID = 20;
const parseInt8 = (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RpmError('RPM_ERR_STORE_FAILURE', 'an int8 value does not fit a JS number');
  return n;
};
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/** The URL without its password, for messages and logs. */
export function describeTarget(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname || '/'}`;
  } catch {
    return '(unparseable URL)';
  }
}

/**
 * A pool whose every connection commits durably and bounds its statements:
 * `synchronous_commit=on` is set per connection (a server or role default of `off` would let
 * COMMIT answer before the WAL is flushed, and we acknowledge devices on COMMIT).
 */
export function createPool(options: PostgresOptions): Pool {
  if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) {
    throw new RpmError('RPM_ERR_CONFIG_INVALID', `schema name '${options.schema}' must match ${SCHEMA_NAME.source}`);
  }
  // plan_cache_mode=force_custom_plan: prepared statements (and rpm_commit_readings' inner
  // statement) are planned at each execution against the tables' current size. A cached generic
  // plan made while a table was small (a fresh install) keeps its hash join over a sequential
  // scan as the table grows: a single-reading commit went from 1 ms to 7 ms at 30k readings.
  // jit=off: these are short OLTP statements; on large tables their estimated cost would pass
  // jit_above_cost and each execution would pay milliseconds of LLVM compilation.
  const startup = ['-c synchronous_commit=on', '-c plan_cache_mode=force_custom_plan', '-c jit=off'];
  if (options.schema !== undefined) startup.push(`-c search_path=${options.schema}`);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    statement_timeout: options.statementTimeoutMs,
    // A process that stalls inside a transaction must not hold row and advisory locks forever.
    idle_in_transaction_session_timeout: Math.max(60_000, options.statementTimeoutMs * 2),
    connectionTimeoutMillis: 10_000,
    application_name: options.applicationName ?? 'rpm-gateway',
    options: startup.join(' '),
    types,
  });
  pool.on('error', (err) => options.onError?.(err));
  return pool;
}

/**
 * Runs `fn` in one transaction on one connection: COMMIT when it resolves, ROLLBACK when it
 * throws. A connection whose ROLLBACK fails is broken and is destroyed, not returned to the pool.
 */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // A checked-out connection has no listener of the pool's: a server that goes away between two
  // statements (a restart, a crash) would emit an unhandled 'error' and end the process. The
  // transaction fails instead (its next statement rejects) and the connection is destroyed.
  const onError = (err: Error): void => {
    broken = err;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackErr) {
      broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
    }
    throw err;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}

/**
 * A transaction-scoped advisory lock named by `name` within the current schema (so stores in
 * different schemas of one database do not wait for each other). Released at COMMIT/ROLLBACK.
 */
export const ADVISORY_XACT_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || current_schema(), 0))";

export async function lockFor(client: PoolClient, name: string): Promise<void> {
  await client.query({ name: `rpm_lock`, text: ADVISORY_XACT_LOCK, values: [name] });
}

/** SQLSTATE of a server error, e.g. 23505 unique_violation. */
export function sqlState(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/** The violated constraint's name, when the server names one. */
export function constraintOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'constraint' in err && typeof err.constraint === 'string' ? err.constraint : undefined;
}

export const isUniqueViolation = (err: unknown): boolean => sqlState(err) === '23505';
export const isForeignKeyViolation = (err: unknown): boolean => sqlState(err) === '23503';

/**
 * Applies the migrations not yet recorded in `schema_migrations`, all in one transaction under
 * an advisory lock, so that processes starting together (two gateways, a worker) never apply one
 * twice or see half a schema. Idempotent: a second run finds nothing to do.
 */
export async function migrate(pool: Pool, schema: string | undefined, migrations: readonly PostgresMigration[] = POSTGRES_MIGRATIONS): Promise<number[]> {
  return inTransaction(pool, async (client) => {
    if (schema !== undefined) {
      // Serialise schema creation too; CREATE SCHEMA IF NOT EXISTS races with itself.
      await client.query("SELECT pg_advisory_xact_lock(hashtextextended('rpm.create-schema', 0))");
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(schema)}`);
    }
    await client.query(ADVISORY_XACT_LOCK, ['rpm.migrations']);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at_ms bigint NOT NULL)',
    );
    const applied = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    const done: number[] = [];
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
      done.push(m.version);
    }
    return done;
  });
}

/** What the server promises about a commit, read once at open (README "What an acknowledgement promises"). */
export interface ServerDurability {
  readonly serverVersion: string;
  /** `off` means a committed transaction can be lost in an OS crash or power loss. */
  readonly fsync: string;
  readonly synchronousCommit: string;
}

export async function readDurability(pool: Pool): Promise<ServerDurability> {
  const { rows } = await pool.query<{ v: string; fsync: string; sc: string }>(
    "SELECT current_setting('server_version') AS v, current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sc",
  );
  const row = rows[0];
  if (row === undefined) throw new RpmError('RPM_ERR_STORE_FAILURE', 'PostgreSQL answered no settings');
  return { serverVersion: row.v, fsync: row.fsync, synchronousCommit: row.sc };
}
