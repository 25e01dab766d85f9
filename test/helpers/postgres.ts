import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The PostgreSQL server the tests use: the one every developer and CI machine runs on
 * 127.0.0.1:5432 with trust authentication (override with RPM_TEST_POSTGRES_URL). Each test
 * file creates its own database from it and drops it afterwards, so files running in parallel
 * never see each other's rows. A missing server fails the test with a message saying so.
 */
export const POSTGRES_TEST_URL = process.env.RPM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const PREFIX = 'rpm_test_';
/** Databases of test runs that crashed before dropping theirs are removed after this long. */
const STALE_AFTER_MS = 6 * 3_600_000;

export interface TestDatabase {
  readonly name: string;
  /** Connection URL of the new database. */
  readonly url: string;
  /** Opens a client on the test database (for assertions straight on the tables). */
  client(): Promise<pg.Client>;
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function connectAdmin(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: POSTGRES_TEST_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    const reason = err instanceof AggregateError ? err.errors.map(String).join('; ') : String(err);
    throw new Error(
      `PostgreSQL is required by this test and is not reachable at ${new URL(POSTGRES_TEST_URL).host} (${reason}). ` +
        'Start PostgreSQL 15 on 127.0.0.1:5432 with trust authentication and a database named "test", or set RPM_TEST_POSTGRES_URL.',
    );
  }
  return client;
}

/** Creates `rpm_test_<time>_<random>`; its name carries its creation time so stale ones can be swept. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const admin = await connectAdmin();
  const name = `${PREFIX}${Date.now()}_${randomBytes(4).toString('hex')}`;
  try {
    await sweepStale(admin);
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(POSTGRES_TEST_URL, name);
  let dropped = false;
  return {
    name,
    url,
    async client() {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      return c;
    },
    async drop() {
      if (dropped) return;
      dropped = true;
      const a = await connectAdmin();
      try {
        await a.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}

async function sweepStale(admin: pg.Client): Promise<void> {
  const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${PREFIX}%`]);
  for (const { datname } of rows) {
    const created = Number(datname.slice(PREFIX.length).split('_')[0]);
    if (Number.isFinite(created) && Date.now() - created > STALE_AFTER_MS) {
      await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`).catch(() => undefined);
    }
  }
}

let schemaCounter = 0;

/** A schema name not used before in this process (for a fresh, empty set of tables in one database). */
export function freshSchemaName(): string {
  schemaCounter += 1;
  return `s${process.pid}_${schemaCounter}`;
}
