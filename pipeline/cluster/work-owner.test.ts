import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { allPartitions, partitionLeaseName, patientHash } from '../../core/cluster/partitions.js';
import { createLogger } from '../../core/logging.js';
import { createPool, migrate, type Pool } from '../../connectors/postgres/database.js';
import { PostgresLeases, PostgresMembership } from '../../connectors/postgres/postgres-leases.js';
import { createTestDatabase, freshSchemaName, type TestDatabase } from '../../test/helpers/postgres.js';
import { WorkOwner } from './work-owner.js';

const log = createLogger('silent');
const UNITS = allPartitions(16).map(partitionLeaseName);

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

interface Node {
  readonly name: string;
  readonly owner: WorkOwner;
  readonly leases: PostgresLeases;
  readonly started: string[];
  readonly stopped: string[];
}

describe('WorkOwner over PostgreSQL leases', () => {
  let pool: Pool;
  let schema: string;
  const nodes: Node[] = [];

  const node = (name: string, seed: number, livenessMs = 60_000): Node => {
    const leases = new PostgresLeases({ url: db.url, schema });
    const started: string[] = [];
    const stopped: string[] = [];
    const owner = new WorkOwner({
      leases,
      membership: new PostgresMembership(pool, 'worker', name, livenessMs),
      log,
      units: () => UNITS,
      start: async (u) => void started.push(u),
      stop: async (u) => void stopped.push(u),
      seed,
      roundMs: 60_000,
    });
    const n = { name, owner, leases, started, stopped };
    nodes.push(n);
    return n;
  };

  afterEach(async () => {
    for (const n of nodes.splice(0)) {
      await n.owner.stop();
      await n.leases.close();
    }
    await pool.end();
  });

  const setup = async (): Promise<void> => {
    schema = freshSchemaName();
    pool = createPool({ url: db.url, schema, poolSize: 2, statementTimeoutMs: 10_000 });
    await migrate(pool, schema);
  };

  it('shares the units fairly and disjointly, and moves a dead holder’s units to the live one', async () => {
    await setup();
    const a = node('a', 0);
    const b = node('b', 7);
    await a.owner.rebalance();
    await b.owner.rebalance();
    // a took every unit before b was alive; the next rounds even it out.
    for (let i = 0; i < 3; i++) {
      await a.owner.rebalance();
      await b.owner.rebalance();
    }
    expect(a.owner.owned().size).toBe(8);
    expect(b.owner.owned().size).toBe(8);
    expect(new Set([...a.owner.owned(), ...b.owner.owned()])).toEqual(new Set(UNITS));

    // b dies: its connection ends, the server frees its locks; b is still "alive" by heartbeat for
    // the liveness window, so a takes b's units as orphans (two rounds free), not by share.
    const bUnits = [...b.owner.owned()];
    await b.leases.close();
    for (let i = 0; i < 3; i++) await a.owner.rebalance();
    expect(a.owner.owned().size).toBe(16);
    expect(bUnits.every((u) => a.started.includes(u))).toBe(true);
  });

  it('stops the work of every unit when the lease connection breaks, and takes them again after', async () => {
    await setup();
    const a = node('a', 0);
    await a.owner.rebalance();
    expect(a.owner.owned().size).toBe(16);
    const admin = await db.client();
    try {
      // What a PostgreSQL restart or a network cut does to the session holding the locks.
      await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'rpm-leases' AND datname = current_database()");
    } finally {
      await admin.end();
    }
    await expect.poll(() => a.stopped.length, { timeout: 5000 }).toBe(16);
    expect(a.owner.owned().size).toBe(0);
    await a.owner.rebalance();
    expect(a.owner.owned().size).toBe(16);
  });

  it('a process that leaves gives its units up at once', async () => {
    await setup();
    const a = node('a', 0);
    const b = node('b', 3);
    for (let i = 0; i < 3; i++) {
      await a.owner.rebalance();
      await b.owner.rebalance();
    }
    expect(b.owner.owned().size).toBe(8);
    await b.owner.stop();
    expect(b.stopped.length).toBe(8);
    await a.owner.rebalance();
    expect(a.owner.owned().size).toBe(16);
  });
});

describe('patient hash', () => {
  it('is the same in PostgreSQL (rpm_patient_hash) and in core', async () => {
    const schema = freshSchemaName();
    const pool = createPool({ url: db.url, schema, poolSize: 1, statementTimeoutMs: 10_000 });
    try {
      await migrate(pool, schema);
      const ids = ['p-1', 'patient-000042', 'Ünïcødé-患者', '', 'x'.repeat(200), 'p-2|a'];
      const { rows } = await pool.query<{ id: string; h: number }>('SELECT id, rpm_patient_hash(id) AS h FROM unnest($1::text[]) AS id', [ids]);
      for (const r of rows) expect(r.h, r.id).toBe(patientHash(r.id));
    } finally {
      await pool.end();
    }
  });
});
