import { afterAll, describe, expect, it } from 'vitest';
import { alertStoreContract } from '../../core/contract/alert-store.contract.js';
import { auditLogContract } from '../../core/contract/audit-log.contract.js';
import { billingStoreContract } from '../../core/contract/billing-store.contract.js';
import { forwardingStoreContract } from '../../core/contract/forwarding-store.contract.js';
import { readingStoreContract } from '../../core/contract/reading-store.contract.js';
import { registryStoreContract } from '../../core/contract/registry-store.contract.js';
import { staffStoreContract } from '../../core/contract/staff-store.contract.js';
import { staffSecurityStoreContract } from '../../core/contract/staff-security-store.contract.js';
import { vendorStoreContract } from '../../core/contract/vendor-store.contract.js';
import { visitStoreContract } from '../../core/contract/visit-store.contract.js';
import { randomBytes } from 'node:crypto';
import { FieldCipher as FieldCipherImpl, type FieldCipher } from '../../core/crypto/field-encryption.js';
import type { Reading } from '../../core/model/reading.js';
import pg from 'pg';
import { createTestDatabase, freshSchemaName, type TestDatabase } from '../../test/helpers/postgres.js';
import { makeReading } from '../../test/helpers/readings.js';
import { testCipher } from '../../test/helpers/secrets.js';
import { createPool, migrate } from './database.js';
import { POSTGRES_MIGRATIONS } from './migrations.js';
import { readingRecord } from './reading-rows.js';
import { createPostgresStores, type PostgresStores } from './index.js';

/**
 * Every store contract against the real PostgreSQL server: one database for this file, a fresh
 * schema (an empty set of tables, migrated at open) for each test.
 */
let database: Promise<TestDatabase> | undefined;
const db = (): Promise<TestDatabase> => (database ??= createTestDatabase());
afterAll(async () => {
  if (database !== undefined) await (await database).drop();
});

async function open(schema = freshSchemaName(), poolSize = 4, secrets: FieldCipher | undefined = testCipher()): Promise<PostgresStores> {
  return createPostgresStores({ url: (await db()).url, schema, poolSize, statementTimeoutMs: 20_000, applicationName: 'rpm-test', ...(secrets === undefined ? {} : { secrets }) });
}

/** A client on the test database whose unqualified names are the schema's tables. */
async function sqlIn(schema: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: (await db()).url, options: `-c search_path=${schema}` });
  await client.connect();
  return client;
}

async function fresh(): Promise<{ stores: PostgresStores; dispose: () => Promise<void> }> {
  const stores = await open();
  return { stores, dispose: () => stores.close() };
}

readingStoreContract(
  'PostgresReadingStore',
  async () => {
    const { stores, dispose } = await fresh();
    return { store: stores.readings, dispose };
  },
  makeReading,
);

registryStoreContract('PostgresRegistryStore', async () => {
  const { stores, dispose } = await fresh();
  return { store: stores.registry, dispose };
});

staffStoreContract('PostgresStaffStore', async () => {
  const { stores, dispose } = await fresh();
  return {
    store: stores.staff,
    addPatient: async (id, organizationId) => {
      await stores.registry.createPatient({ id, organizationId, createdAtMs: 1 });
    },
    dispose,
  };
});

staffSecurityStoreContract('PostgresStaffSecurityStore', async () => {
  const { stores, dispose } = await fresh();
  return {
    security: stores.staffSecurity,
    seed: async () => {
      await stores.staff.createOrganization({ id: 'org-1', name: 'Org 1', createdAtMs: 1 });
      for (const id of ['s-1', 's-2']) {
        await stores.staff.createStaff({ id, email: `${id}@example.org`, role: 'nurse', organizationId: 'org-1', displayName: null, isChargeNurse: false, phone: null, createdAtMs: 1 }, '$argon2id$old');
      }
      await stores.registry.createPatient({ id: 'p-1', organizationId: 'org-1', createdAtMs: 1 });
    },
    passwordHashOf: async (staffId) => (await stores.staff.findLogin(`${staffId}@example.org`, 'org-1'))?.passwordHash,
    dispose,
  };
});

forwardingStoreContract(
  'PostgresForwardingStore',
  async () => {
    const { stores, dispose } = await fresh();
    return {
      readings: stores.readings,
      forwarding: stores.forwarding,
      addOrganization: async (id) => {
        await stores.staff.createOrganization({ id, name: id, createdAtMs: 1 });
      },
      addPatient: async (id, organizationId) => {
        await stores.registry.createPatient({ id, organizationId, createdAtMs: 1 });
      },
      dispose,
    };
  },
  makeReading,
);

vendorStoreContract('PostgresVendorStore', async () => {
  const schema = freshSchemaName();
  const stores = await open(schema);
  const raw = await sqlIn(schema);
  return {
    vendors: stores.vendors,
    addOrganization: async (id) => {
      await stores.staff.createOrganization({ id, name: id, createdAtMs: 1 });
    },
    addDevice: async (id) => {
      await stores.registry.createDevice(
        { id, kind: 'multi-parameter', manufacturer: null, model: null, serial: null, hubId: null, createdAtMs: 1 },
        { id: `cred-${id}`, deviceId: id, secretHash: 'x', createdAtMs: 1 },
      );
    },
    storedSecrets: async () => {
      const { rows } = await raw.query<{ v: string }>('SELECT config AS v FROM vendor_connections UNION ALL SELECT credentials FROM vendor_bindings WHERE credentials IS NOT NULL');
      return rows.map((r) => r.v);
    },
    dispose: async () => {
      await raw.end();
      await stores.close();
    },
  };
});

alertStoreContract('PostgresAlertStore', async () => {
  const { stores, dispose } = await fresh();
  return { store: stores.alerts, progress: stores.progress, dispose };
});

visitStoreContract('PostgresVisitStore', async () => {
  const { stores, dispose } = await fresh();
  return { visits: stores.visits, alerts: stores.alerts, jobs: stores.jobs, dispose };
});

billingStoreContract('PostgresBillingStore', async () => {
  const { stores, dispose } = await fresh();
  return { store: stores.billing, dispose };
});

auditLogContract('PostgresAuditLog', async () => {
  const schema = freshSchemaName();
  const stores = await open(schema);
  const reopened: PostgresStores[] = [];
  /** Another connection to the database, as the gateway's role (or anyone with its password) has. */
  const raw = await sqlIn(schema);
  /** What a superuser can do despite the triggers: switch them off, edit, switch them on. */
  const bypassingTriggers = async (sql: string, params: unknown[]): Promise<void> => {
    await raw.query('BEGIN');
    await raw.query('ALTER TABLE audit_log DISABLE TRIGGER USER');
    await raw.query(sql, params);
    await raw.query('ALTER TABLE audit_log ENABLE TRIGGER USER');
    await raw.query('COMMIT');
  };
  return {
    log: stores.audit,
    tryUpdate: async (seq) => {
      await raw.query("UPDATE audit_log SET actor = 'admin' WHERE seq = $1", [seq]);
    },
    tryDelete: async (seq) => {
      await raw.query('DELETE FROM audit_log WHERE seq = $1', [seq]);
    },
    tamper: {
      editActor: (seq, actor) => bypassingTriggers('UPDATE audit_log SET actor = $1 WHERE seq = $2', [actor, seq]),
      remove: (seq) => bypassingTriggers('DELETE FROM audit_log WHERE seq = $1', [seq]),
      removeNewest: (count) => bypassingTriggers('DELETE FROM audit_log WHERE seq > (SELECT max(seq) FROM audit_log) - $1', [count]),
    },
    reopen: async () => {
      const again = await open(schema);
      reopened.push(again);
      return again.audit;
    },
    dispose: async () => {
      await raw.end();
      for (const r of reopened) await r.close();
      await stores.close();
    },
  };
});

describe('PostgreSQL stores: schema, durability and concurrency', () => {
  it('applies every migration once, records it, and is idempotent across opens, including simultaneous ones', async () => {
    const schema = freshSchemaName();
    // Three processes starting at once against an empty schema (two gateways and a worker).
    const opened = await Promise.all([open(schema), open(schema), open(schema)]);
    const applied = opened.map((s) => s.migrated).flat();
    expect(applied.sort((a, b) => a - b)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
    await Promise.all(opened.map((s) => s.close()));
    const again = await open(schema);
    expect(again.migrated).toEqual([]);
    await again.close();
    const client = await (await db()).client();
    try {
      const { rows } = await client.query(`SELECT version, name FROM ${schema}.schema_migrations ORDER BY version`);
      expect(rows).toEqual(POSTGRES_MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    } finally {
      await client.end();
    }
  });

  it('commits with synchronous_commit on even where the database default is off', async () => {
    const target = await db();
    const client = await target.client();
    try {
      await client.query(`ALTER DATABASE ${target.name} SET synchronous_commit = off`);
      const stores = await open();
      try {
        expect(stores.durability.synchronousCommit).toBe('on');
        expect(stores.durability.fsync).toBe('on');
        expect(Number.parseInt(stores.durability.serverVersion, 10)).toBeGreaterThanOrEqual(12);
      } finally {
        await stores.close();
      }
    } finally {
      await client.query(`ALTER DATABASE ${target.name} RESET synchronous_commit`);
      await client.end();
    }
  });

  it('refuses UPDATE, DELETE and TRUNCATE of the audit log, whoever asks', async () => {
    const schema = freshSchemaName();
    const stores = await open(schema);
    await stores.audit.record({ atMs: 1, actor: 'staff:n-1', action: 'worklist.read', subject: 'organization:o-1', outcome: 'success', sourceIp: null, details: null, patientIds: ['p-1'] });
    const client = await (await db()).client();
    try {
      await expect(client.query(`UPDATE ${schema}.audit_log SET actor = 'someone-else'`)).rejects.toThrow(/audit_log is append-only: UPDATE refused/);
      await expect(client.query(`DELETE FROM ${schema}.audit_log`)).rejects.toThrow(/audit_log is append-only: DELETE refused/);
      await expect(client.query(`TRUNCATE ${schema}.audit_log, ${schema}.audit_log_patients`)).rejects.toThrow(/is append-only: TRUNCATE refused/);
      await expect(client.query(`DELETE FROM ${schema}.audit_log_patients`)).rejects.toThrow(/audit_log_patients is append-only: DELETE refused/);
      expect(await stores.audit.list({ limit: 10 })).toHaveLength(1);

      // Positions stay contiguous from 1 (the hash chain needs them so): a record that fails
      // leaves no hole, and concurrent records from two pools (two processes) chain in commit order.
      const bad = { atMs: 2, actor: 'admin', action: 'x', subject: 'y', outcome: 'bogus', sourceIp: null, details: null } as unknown as Parameters<typeof stores.audit.record>[0];
      await expect(stores.audit.record(bad)).rejects.toBeDefined();
      const other = await open(schema);
      const entry = (i: number) => ({ atMs: 10 + i, actor: 'admin', action: `a-${i}`, subject: 'device:d-1', outcome: 'success' as const, sourceIp: null, details: null });
      await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? stores : other).audit.record(entry(i))));
      await other.close();
      const seqs = (await client.query<{ seq: string }>(`SELECT seq FROM ${schema}.audit_log ORDER BY seq`)).rows.map((r) => Number(r.seq));
      expect(seqs).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
      expect(await stores.audit.verify()).toMatchObject({ ok: true, entries: 21 });
    } finally {
      await client.end();
      await stores.close();
    }
  });

  it('gives a duplicate no log position: accepted readings of consecutive commits get consecutive positions', async () => {
    const stores = await open();
    try {
      const first = [makeReading(), makeReading()];
      const out1 = await stores.readings.commit({ readings: first, rejections: [] });
      const again = [first[0] as Reading, makeReading(), first[1] as Reading, makeReading()];
      const out2 = await stores.readings.commit({ readings: again, rejections: [] });
      const seqs = [...out1, ...out2].flatMap((o) => (o.status === 'accepted' && o.seq !== undefined ? [o.seq] : []));
      expect(out2.map((o) => o.status)).toEqual(['duplicate', 'accepted', 'duplicate', 'accepted']);
      expect(seqs).toEqual([seqs[0], (seqs[0] ?? 0) + 1, (seqs[0] ?? 0) + 2, (seqs[0] ?? 0) + 3]);
    } finally {
      await stores.close();
    }
  });

  it('makes log positions visible in order with two writers: a follower of readingsSince misses nothing and sees nothing twice', async () => {
    const schema = freshSchemaName();
    // Two processes' stores (two pools) on one database, like two gateways.
    const [a, b] = await Promise.all([open(schema, 6), open(schema, 6)]);
    if (a === undefined || b === undefined) throw new Error('stores did not open');
    const COMMITS = 40;
    const PER_COMMIT = 25;
    let writing = true;
    const seen = new Map<string, number>();
    let cursor = 0;
    const follow = async (): Promise<void> => {
      for (;;) {
        const stillWriting = writing;
        const page = await a.readings.readingsSince(cursor, 500);
        for (const { seq, reading } of page) {
          expect(seq).toBeGreaterThan(cursor);
          cursor = seq;
          seen.set(reading.id, (seen.get(reading.id) ?? 0) + 1);
        }
        if (!stillWriting && page.length === 0) return;
      }
    };
    const write = async (stores: PostgresStores, device: string): Promise<string[]> => {
      const ids: string[] = [];
      for (let c = 0; c < COMMITS; c++) {
        const batch = Array.from({ length: PER_COMMIT }, () => makeReading({ deviceId: device }));
        await stores.readings.commit({ readings: batch, rejections: [] });
        ids.push(...batch.map((r) => r.id));
      }
      return ids;
    };
    try {
      const follower = follow();
      const written = (await Promise.all([write(a, 'dev-a'), write(b, 'dev-b'), write(a, 'dev-c'), write(b, 'dev-d')])).flat();
      writing = false;
      await follower;
      expect(written).toHaveLength(4 * COMMITS * PER_COMMIT);
      const missed = written.filter((id) => !seen.has(id));
      expect(missed.length, 'readings the follower never saw').toBe(0);
      expect([...seen.values()].every((count) => count === 1)).toBe(true);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('keeps destination credentials and patient identifiers encrypted in the tables, rotates keys at open, and refuses to open without the key', async () => {
    const schema = freshSchemaName();
    const k1 = { id: 'k1', key: randomBytes(32) };
    const k2 = { id: 'k2', key: randomBytes(32) };
    const first = await open(schema, 2, new FieldCipherImpl([k1]));
    await first.staff.createOrganization({ id: 'org-1', name: 'Org', createdAtMs: 1 });
    await first.registry.createPatient({ id: 'p-1', organizationId: 'org-1', createdAtMs: 1 });
    const destination = { id: 'ehr-b', organizationId: 'org-1', baseUrl: 'https://ehr.test/fhir', patientMapping: { type: 'reference' as const, template: 'Patient/{patientId}' }, kinds: ['heart-rate' as const], enabled: true, batchSize: null, createdAtMs: 1 };
    await first.forwarding.createDestination({ ...destination, auth: { type: 'basic', username: 'rpm', password: 'correct-horse-ehr-password' } });
    await first.forwarding.setPatientLink('ehr-b', 'p-1', { identifier: 'MRN-55501234' }, 1);
    await first.close();
    const raw = await sqlIn(schema);
    try {
      const stored = (await raw.query("SELECT d.auth, l.identifier FROM fhir_destinations d JOIN fhir_patient_links l ON l.destination_id = d.id WHERE d.id = 'ehr-b'")).rows[0];
      expect(JSON.stringify(stored)).not.toContain('correct-horse-ehr-password');
      expect(JSON.stringify(stored)).not.toContain('MRN-55501234');
      expect(String(stored?.auth).startsWith('enc1.k1.')).toBe(true);
      // A row from before encryption (plain JSON): sealed at the next open.
      await raw.query(
        `INSERT INTO fhir_destinations (id, organization_id, base_url, auth, patient_mapping, kinds, enabled, batch_size, created_at_ms, updated_at_ms)
         VALUES ('legacy', 'org-1', 'https://old.test/fhir', $1, '{"type":"reference","template":"Patient/{patientId}"}', '{heart-rate}', true, NULL, 1, 1)`,
        [JSON.stringify({ type: 'basic', username: 'old', password: 'legacy-plaintext-password' })],
      );
      // Without the key its secrets are under, the store refuses to open, naming the key.
      await expect(open(schema, 2, new FieldCipherImpl([k2]))).rejects.toMatchObject({ code: 'RPM_ERR_SECRET_KEY_UNKNOWN', message: expect.stringContaining("'k1'") });
      const rotating = await open(schema, 2, new FieldCipherImpl([k2, k1]));
      expect(rotating.sealedSecrets).toBe(3);
      await rotating.close();
      expect(JSON.stringify((await raw.query('SELECT auth FROM fhir_destinations')).rows)).not.toContain('legacy-plaintext-password');
      const after = await open(schema, 2, new FieldCipherImpl([k2]));
      expect(after.sealedSecrets).toBe(0);
      expect((await after.forwarding.getDestination('legacy'))?.auth).toEqual({ type: 'basic', username: 'old', password: 'legacy-plaintext-password' });
      expect((await after.forwarding.getDestination('ehr-b'))?.auth).toEqual({ type: 'basic', username: 'rpm', password: 'correct-horse-ehr-password' });
      expect((await after.forwarding.getPatientLink('ehr-b', 'p-1'))?.identifier).toBe('MRN-55501234');
      await after.close();
    } finally {
      await raw.end();
    }
  });

  it('keeps vendor credentials encrypted in the tables, re-encrypts them under a new active key at open, and refuses to open without the old key', async () => {
    const schema = freshSchemaName();
    const k1 = { id: 'k1', key: randomBytes(32) };
    const k2 = { id: 'k2', key: randomBytes(32) };
    const first = await open(schema, 2, new FieldCipherImpl([k1]));
    await first.staff.createOrganization({ id: 'org-1', name: 'Org', createdAtMs: 1 });
    await first.registry.createDevice(
      { id: 'scale-1', kind: 'scale', manufacturer: null, model: null, serial: null, hubId: null, createdAtMs: 1 },
      { id: 'cred-scale-1', deviceId: 'scale-1', secretHash: 'x', createdAtMs: 1 },
    );
    await first.vendors.putConnection({ organizationId: 'org-1', vendor: 'bodytrace', settings: { username: 'bt', password: 'bodytrace-basic-password' }, enabled: true, createdAtMs: 1, updatedAtMs: 1 });
    const tokens = { type: 'withings' as const, accessToken: 'withings-access-token', refreshToken: 'withings-refresh-token', accessTokenExpiresAtMs: 9000 };
    await first.vendors.createBinding({ organizationId: 'org-1', vendor: 'withings', externalId: '12345', deviceId: 'scale-1', credentials: tokens, createdAtMs: 1, updatedAtMs: 1 });
    await first.close();
    const raw = await sqlIn(schema);
    try {
      const stored = async (): Promise<string[]> =>
        (await raw.query<{ v: string }>('SELECT config AS v FROM vendor_connections UNION ALL SELECT credentials FROM vendor_bindings')).rows.map((r) => r.v);
      for (const v of await stored()) {
        expect(v.startsWith('enc1.k1.')).toBe(true);
        for (const plain of ['bodytrace-basic-password', 'withings-access-token', 'withings-refresh-token']) expect(v).not.toContain(plain);
      }
      // A value copied into another row does not decrypt there: it is bound to its own row.
      await raw.query("INSERT INTO organizations (id, name, created_at_ms) VALUES ('org-2', 'Other', 1)");
      await raw.query("INSERT INTO vendor_connections (organization_id, vendor, config, enabled, created_at_ms, updated_at_ms) SELECT 'org-2', vendor, config, true, 1, 1 FROM vendor_connections");
      const copied = await open(schema, 2, new FieldCipherImpl([k1]));
      await expect(copied.vendors.getConnection('org-2', 'bodytrace')).rejects.toMatchObject({ code: 'RPM_ERR_SECRET_UNREADABLE' });
      await copied.close();
      await raw.query("DELETE FROM vendor_connections WHERE organization_id = 'org-2'");

      await expect(open(schema, 2, new FieldCipherImpl([k2]))).rejects.toMatchObject({ code: 'RPM_ERR_SECRET_KEY_UNKNOWN', message: expect.stringContaining("'k1'") });
      const rotating = await open(schema, 2, new FieldCipherImpl([k2, k1]));
      expect(rotating.sealedSecrets).toBe(2);
      await rotating.close();
      expect((await stored()).every((v) => v.startsWith('enc1.k2.'))).toBe(true);
      const after = await open(schema, 2, new FieldCipherImpl([k2]));
      expect(after.sealedSecrets).toBe(0);
      expect(await after.vendors.getConnection('org-1', 'bodytrace')).toMatchObject({ settings: { username: 'bt', password: 'bodytrace-basic-password' } });
      expect((await after.vendors.getBinding('org-1', 'withings', '12345'))?.credentials).toEqual(tokens);
      await after.close();
    } finally {
      await raw.end();
    }
  });

  it('upgrades a database of version 7: stored readings keep reading as before, the replaced commit stores each new reading\'s vendor source', async () => {
    const schema = freshSchemaName();
    const pool = createPool({ url: (await db()).url, schema, poolSize: 1, statementTimeoutMs: 20_000 });
    const before = makeReading();
    try {
      expect(await migrate(pool, schema, POSTGRES_MIGRATIONS.filter((m) => m.version <= 7))).toEqual([1, 2, 3, 4, 5, 6, 7]);
      // A commit by the version-6 function, as a gateway of the previous release made it.
      await pool.query('SELECT * FROM rpm_commit_readings($1::json, $2::json, $3::json)', [JSON.stringify([readingRecord(before, 0)]), '[]', '[]']);
    } finally {
      await pool.end();
    }
    const stores = await open(schema);
    try {
      expect(stores.migrated).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version).filter((v) => v > 7));
      expect(await stores.readings.getReading(before.deviceId, before.idempotencyKey)).toEqual(before);
      const vendor = makeReading({ source: { vendor: 'nightscout', payloadSha256: 'b'.repeat(64), recordId: '5f2b', details: { direction: 'FortyFiveUp', noise: 1 } } });
      const [outcome] = await stores.readings.commit({ readings: [vendor], rejections: [] });
      expect(outcome).toMatchObject({ status: 'accepted' });
      expect((await stores.readings.readingAt((outcome as { seq: number }).seq))?.source).toEqual(vendor.source);
      // readingsSince (the rules' and forwarding's feed) carries it too.
      expect((await stores.readings.readingsSince(0, 10)).map((s) => s.reading.source ?? null)).toEqual([null, vendor.source]);
    } finally {
      await stores.close();
    }
  });

  it('fails to open with RPM_ERR_STORE_FAILURE naming the server, never the password, when PostgreSQL is unreachable', async () => {
    const err = await createPostgresStores({ url: 'postgres://rpm:s3cret-pw@127.0.0.1:1/rpm', poolSize: 1, statementTimeoutMs: 1000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'RPM_ERR_STORE_FAILURE' });
    expect(String((err as Error).message)).toContain('127.0.0.1:1/rpm');
    expect(String((err as Error).message)).toMatch(/ECONNREFUSED/);
    expect(String((err as Error).message)).not.toContain('s3cret-pw');
  });
});
