import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { readingStoreContract } from '../../core/contract/reading-store.contract.js';
import { registryStoreContract } from '../../core/contract/registry-store.contract.js';
import { staffStoreContract } from '../../core/contract/staff-store.contract.js';
import { makeReading } from '../../test/helpers/readings.js';
import { tempDir } from '../../test/helpers/gateway.js';
import { createSqliteStores } from './index.js';
import { openSqlite } from './database.js';
import { MIGRATIONS } from './migrations.js';

/** Each contract test gets its own database file: the real thing, WAL and fsync included. */
async function fresh(writer: 'thread' | 'inline' = 'thread') {
  const dir = tempDir('rpm-sqlite-');
  const stores = createSqliteStores({ path: path.join(dir, 'rpm.sqlite'), synchronous: 'FULL', writer });
  return {
    stores,
    dispose: async () => {
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

readingStoreContract(
  'SqliteReadingStore (writer thread)',
  async () => {
    const { stores, dispose } = await fresh();
    return { store: stores.readings, dispose };
  },
  makeReading,
);

readingStoreContract(
  'SqliteReadingStore (inline writer)',
  async () => {
    const { stores, dispose } = await fresh('inline');
    return { store: stores.readings, dispose };
  },
  makeReading,
);

registryStoreContract('SqliteRegistryStore', async () => {
  const { stores, dispose } = await fresh();
  return { store: stores.registry, dispose };
});

staffStoreContract('SqliteStaffStore', async () => {
  const { stores, dispose } = await fresh('inline');
  return {
    store: stores.staff,
    addPatient: async (id, organizationId) => {
      await stores.registry.createPatient({ id, organizationId, createdAtMs: 1 });
    },
    dispose,
  };
});

describe('SQLite database setup', () => {
  it('uses WAL with the configured synchronous level and migrates once', async () => {
    const dir = tempDir('rpm-sqlite-');
    const file = path.join(dir, 'rpm.sqlite');
    const a = createSqliteStores({ path: file, synchronous: 'FULL' });
    await a.close();
    const b = createSqliteStores({ path: file, synchronous: 'NORMAL' });
    await b.close();
    const db = new Database(file, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.prepare('SELECT count(*) AS n FROM schema_migrations').get()).toEqual({ n: MIGRATIONS.length });
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('migration 2 turns the organizations patients already name into organizations', async () => {
    const dir = tempDir('rpm-sqlite-');
    const file = path.join(dir, 'rpm.sqlite');
    const v1 = new Database(file);
    const first = MIGRATIONS[0];
    if (first === undefined) throw new Error('no migrations');
    v1.exec(first.sql);
    v1.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)');
    v1.prepare('INSERT INTO schema_migrations VALUES (1, ?, 0)').run(first.name);
    v1.prepare("INSERT INTO patients (id, organization_id, created_at_ms) VALUES ('p-old', 'org-old', 1), ('p-loose', NULL, 1)").run();
    v1.close();
    const stores = createSqliteStores({ path: file, synchronous: 'FULL', writer: 'inline' });
    try {
      expect(await stores.staff.getOrganization('org-old')).toEqual({ id: 'org-old', name: 'org-old', createdAtMs: 0 });
      await stores.staff.createStaff({ id: 'n-1', email: 'n@example.org', role: 'nurse', organizationId: 'org-old', displayName: null, isChargeNurse: false, phone: null, createdAtMs: 1 }, 'h');
      expect(await stores.staff.visiblePatientIds('n-1', { limit: 10 })).toEqual(['p-old']);
    } finally {
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('records and lists audit entries', async () => {
    const { stores, dispose } = await fresh();
    await stores.audit.record({ atMs: 1, actor: 'admin', action: 'readings.read', subject: 'patient:p-1', outcome: 'success', sourceIp: '127.0.0.1', details: { count: 3 } });
    await stores.audit.record({ atMs: 2, actor: 'admin', action: 'device.revoke', subject: 'device:d-1', outcome: 'success', sourceIp: null, details: null });
    expect(await stores.audit.list({ limit: 10, subjectId: 'patient:p-1' })).toEqual([
      { atMs: 1, actor: 'admin', action: 'readings.read', subject: 'patient:p-1', outcome: 'success', sourceIp: '127.0.0.1', details: { count: 3 } },
    ]);
    expect((await stores.audit.list({ limit: 10 })).map((e) => e.action)).toEqual(['device.revoke', 'readings.read']);
    await dispose();
  });
});

describe('migration 6: one reading per (device, kind, instant)', () => {
  it('moves readings stored under a client-id key to the natural key, so a retry after the upgrade is a duplicate', async () => {
    const dir = tempDir('rpm-sqlite-');
    const file = path.join(dir, 'rpm.sqlite');
    const v4 = openSqlite({ path: file, synchronous: 'FULL' }, MIGRATIONS.filter((m) => m.version <= 4));
    const insert = v4.prepare(
      `INSERT INTO readings (id, device_id, idem_key, client_id, kind, code, components, reported, measured_at, measured_at_ms, utc_offset_min, received_at_ms, entry_method, setting, transport)
       VALUES (?, 'd-1', ?, ?, 'heart-rate', '8867-4', '[]', '{"unit":"bpm","values":{}}', '2026-12-01T07:00:00Z', ?, 0, ?, 'device', 'home', 'http')`,
    );
    insert.run('legacy-1', 'c:w-1', 'w-1', 1000, 2000);
    // Stored twice before the upgrade (the defect): both rows stay, as history.
    insert.run('legacy-2', 'c:w-2', 'w-2', 3000, 4000);
    insert.run('legacy-3', 'c:w-3', 'w-3', 3000, 4000);
    v4.close();

    const stores = createSqliteStores({ path: file, synchronous: 'FULL' });
    try {
      const retry = makeReading({ deviceId: 'd-1', kind: 'heart-rate', measuredAtMs: 1000, clientId: null });
      const [outcome] = await stores.readings.commit({ readings: [retry], rejections: [] });
      expect(outcome?.status).toBe('duplicate');
      expect(await stores.readings.countReadings()).toBe(3);
      const fresh = makeReading({ deviceId: 'd-1', kind: 'heart-rate', measuredAtMs: 5000, clientId: 'w-1' });
      expect((await stores.readings.commit({ readings: [fresh], rejections: [] }))[0]?.status).toBe('accepted');
    } finally {
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
