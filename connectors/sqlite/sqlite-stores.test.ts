import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { auditLogContract } from '../../core/contract/audit-log.contract.js';
import { readingStoreContract } from '../../core/contract/reading-store.contract.js';
import { registryStoreContract } from '../../core/contract/registry-store.contract.js';
import { staffStoreContract } from '../../core/contract/staff-store.contract.js';
import { staffSecurityStoreContract } from '../../core/contract/staff-security-store.contract.js';
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

staffSecurityStoreContract('SqliteStaffSecurityStore', async () => {
  const { stores, dispose } = await fresh('inline');
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

  it('migration 7 keeps staff, sessions, passwords and care teams while making emails and team ids tenant-scoped', async () => {
    const dir = tempDir('rpm-sqlite-');
    const file = path.join(dir, 'rpm.sqlite');
    const v5 = new Database(file);
    v5.pragma('foreign_keys = ON');
    v5.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)');
    for (const m of MIGRATIONS.filter((m) => m.version <= 6)) {
      v5.exec(m.sql);
      v5.prepare('INSERT INTO schema_migrations VALUES (?, ?, 0)').run(m.version, m.name);
    }
    v5.exec(`
      INSERT INTO organizations VALUES ('org-a', 'A', 1);
      INSERT INTO patients VALUES ('pa-1', 'org-a', 1), ('pa-2', 'org-a', 1);
      INSERT INTO staff VALUES ('n-1', 'n@a.org', 'nurse', 'org-a', 'Nina', 'active', 1, '+15550001111', 5);
      INSERT INTO staff_passwords VALUES ('n-1', 'hash-1', 5);
      INSERT INTO staff_sessions VALUES ('tok', 'n-1', 5, 99999, 5, NULL);
      INSERT INTO care_teams VALUES ('team-1', 'org-a', 'One', 6);
      INSERT INTO care_team_members VALUES ('team-1', 'n-1', 7);
      INSERT INTO care_team_patients VALUES ('team-1', 'pa-2', 7);
    `);
    v5.close();
    const stores = createSqliteStores({ path: file, synchronous: 'FULL', writer: 'inline' });
    try {
      expect(await stores.staff.findLogin('n@a.org')).toMatchObject({ staff: { id: 'n-1', displayName: 'Nina', isChargeNurse: true, phone: '+15550001111' }, passwordHash: 'hash-1' });
      expect(await stores.staff.findSession('tok')).toMatchObject({ staffId: 'n-1', expiresAtMs: 99999 });
      expect((await stores.staff.teamMembers({ organizationId: 'org-a', id: 'team-1' })).map((s) => s.id)).toEqual(['n-1']);
      // Team scoping still applies: the nurse's team has pa-2 only.
      expect(await stores.staff.visiblePatientIds('n-1', { limit: 10 })).toEqual(['pa-2']);
      const db = new Database(file, { readonly: true });
      expect(db.pragma('foreign_key_check')).toEqual([]);
      db.close();
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
      expect.objectContaining({ seq: 1, atMs: 1, actor: 'admin', action: 'readings.read', subject: 'patient:p-1', outcome: 'success', sourceIp: '127.0.0.1', details: { count: 3 } }),
    ]);
    expect((await stores.audit.list({ limit: 10 })).map((e) => e.action)).toEqual(['device.revoke', 'readings.read']);
    await dispose();
  });

  it('migration 6 seals audit entries written before the hash chain, in order, and makes the table append-only', async () => {
    const dir = tempDir('rpm-sqlite-');
    const file = path.join(dir, 'rpm.sqlite');
    const v4 = new Database(file);
    v4.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)');
    for (const m of MIGRATIONS.filter((m) => m.version <= 4)) {
      v4.exec(m.sql);
      v4.prepare('INSERT INTO schema_migrations VALUES (?, ?, 0)').run(m.version, m.name);
    }
    const insert = v4.prepare("INSERT INTO audit_log (at_ms, actor, action, subject, outcome, source_ip, details) VALUES (?, 'admin', 'readings.read', 'patient:p-1', 'success', NULL, ?)");
    for (let i = 1; i <= 3; i++) insert.run(i, JSON.stringify({ count: i }));
    v4.close();
    const stores = createSqliteStores({ path: file, synchronous: 'FULL', writer: 'inline' });
    try {
      await stores.audit.record({ atMs: 4, actor: 'admin', action: 'device.read', subject: 'device:d-1', outcome: 'success', sourceIp: null, details: null });
      expect(await stores.audit.verify()).toMatchObject({ ok: true, entries: 4 });
      const raw = new Database(file);
      expect(() => raw.prepare("UPDATE audit_log SET actor = 'x' WHERE seq = 1").run()).toThrow(/append-only/);
      expect(() => raw.prepare('DELETE FROM audit_log WHERE seq = 1').run()).toThrow(/append-only/);
      expect(() => raw.prepare("INSERT INTO audit_log (at_ms, actor, action, subject, outcome) VALUES (5, 'admin', 'x', 'y', 'success')").run()).toThrow(/inserted sealed/);
      raw.close();
    } finally {
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

auditLogContract('SqliteAuditLog', async () => {
  const dir = tempDir('rpm-audit-');
  const file = path.join(dir, 'rpm.sqlite');
  const stores = createSqliteStores({ path: file, synchronous: 'FULL', writer: 'inline' });
  const reopened: Array<{ close: () => Promise<void> }> = [];
  /** A second connection, as another process with the file would have. */
  const raw = new Database(file);
  const bypassingTriggers = (fn: () => void): void => {
    const triggers = raw.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name LIKE 'audit_log%'").all() as { name: string; sql: string }[];
    raw.transaction(() => {
      for (const t of triggers) raw.exec(`DROP TRIGGER ${t.name}`);
      fn();
      for (const t of triggers) raw.exec(t.sql);
    })();
  };
  return {
    log: stores.audit,
    tryUpdate: async (seq) => {
      raw.prepare("UPDATE audit_log SET actor = 'admin' WHERE seq = ?").run(seq);
    },
    tryDelete: async (seq) => {
      raw.prepare('DELETE FROM audit_log WHERE seq = ?').run(seq);
    },
    tamper: {
      editActor: async (seq, actor) => bypassingTriggers(() => raw.prepare('UPDATE audit_log SET actor = ? WHERE seq = ?').run(actor, seq)),
      remove: async (seq) => bypassingTriggers(() => raw.prepare('DELETE FROM audit_log WHERE seq = ?').run(seq)),
      removeNewest: async (count) =>
        bypassingTriggers(() => raw.prepare('DELETE FROM audit_log WHERE seq > (SELECT max(seq) FROM audit_log) - ?').run(count)),
    },
    reopen: async () => {
      const again = createSqliteStores({ path: file, synchronous: 'FULL', writer: 'inline' });
      reopened.push(again);
      return again.audit;
    },
    dispose: async () => {
      raw.close();
      for (const r of reopened) await r.close();
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('migration 9: one reading per (device, kind, instant)', () => {
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
