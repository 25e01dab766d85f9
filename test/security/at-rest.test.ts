import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStores } from '../../connectors/postgres/index.js';
import { createSqliteStores } from '../../connectors/sqlite/index.js';
import { tempDir } from '../helpers/gateway.js';
import { isoMinutesAgo, request, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestDatabase, freshSchemaName, type TestDatabase } from '../helpers/postgres.js';
import { testCipher } from '../helpers/secrets.js';

/*
 * Issue 19, encryption at rest (HIPAA §164.312(a)(2)(iv)) as the embedded store does it: the free
 * text people write about patients (alert and time-entry notes, break-glass reasons) and the
 * account secrets (TOTP) are sealed field by field, so the raw SQLite files (database and WAL)
 * hold none of it in clear, while the API reads it back. Readings, patient ids and the audit
 * trail are not field-encrypted: README "Security" says why and what the operator must do (an
 * encrypted disk). The same sealing runs in the PostgreSQL adapter.
 */
const NOTE = 'NOTEMARK called patient, missed two doses of amlodipine';
const TIME_NOTE = 'TIMEMARK reviewed home readings with daughter';
const REASON = 'GLASSMARK patient phoned with chest pain, south team away';

describe('PHI text at rest in the embedded store', () => {
  let t: TestGateway;
  let nurse = '';
  let alertId = '';
  let totpSecret = '';

  /** Every byte SQLite keeps in the data directory: databases, WAL, shared memory. */
  const rawFiles = (): Buffer => Buffer.concat(readdirSync(t.dataDir).filter((f) => f.includes('.sqlite')).map((f) => readFileSync(path.join(t.dataDir, f))));
  const markers = (): string[] => [NOTE, TIME_NOTE, REASON, totpSecret].filter((m) => rawFiles().includes(Buffer.from(m)));

  beforeAll(async () => {
    t = await startTestGateway();
    await t.admin.createOrganization('org-a');
    const ann = await t.admin.createStaff({ email: 'ann@a.example', role: 'nurse', organizationId: 'org-a' });
    await t.admin.createPatient('p-1', { organizationId: 'org-a' });
    await t.admin.createPatient('p-2', { organizationId: 'org-a' });
    await t.admin.createCareTeam('north', 'org-a');
    await t.admin.createCareTeam('south', 'org-a');
    await t.admin.addTeamMember('north', ann.id);
    await t.admin.addTeamPatient('north', 'p-1');
    await t.admin.addTeamPatient('south', 'p-2');
    nurse = await t.admin.login('ann@a.example');
    await request(`${t.baseUrl}/v1/patients/p-1/care-plan`, { token: nurse, method: 'PUT', json: { programs: ['hypertension'], riskTier: 1 } });
    const cuff = await t.admin.createDevice({ id: 'cuff-1', kind: 'bp-cuff', patientId: 'p-1' });
    await request(`${t.baseUrl}/v1/readings`, { token: cuff, json: { readings: [{ kind: 'blood-pressure', systolic: 200, diastolic: 121, unit: 'mmHg', measuredAt: isoMinutesAgo(5) }] } });
    await t.gw.ctx.alerting!.drain();
    alertId = (await request(`${t.baseUrl}/v1/patients/p-1/alerts`, { token: nurse })).body.alerts[0].id;
  });
  afterAll(async () => t?.close());

  it('seals notes, time-entry notes, break-glass reasons and TOTP secrets, and reads them back through the API', async () => {
    expect((await request(`${t.baseUrl}/v1/alerts/${alertId}/claim`, { token: nurse, json: {} })).status).toBe(200);
    const resolved = await request(`${t.baseUrl}/v1/alerts/${alertId}/resolve`, { token: nurse, json: { outcome: 'contacted-patient', note: NOTE } });
    expect(resolved.status).toBe(200);
    expect(resolved.body.note).toBe(NOTE);
    const time = await request(`${t.baseUrl}/v1/patients/p-1/time`, { token: nurse, json: { startedAt: isoMinutesAgo(30), minutes: 12, note: TIME_NOTE } });
    expect(time.status).toBe(201);
    const glass = await request(`${t.baseUrl}/v1/patients/p-2/break-glass`, { token: nurse, json: { reason: REASON } });
    expect(glass.body.reason).toBe(REASON);
    totpSecret = (await request(`${t.baseUrl}/v1/auth/mfa/totp`, { token: nurse, method: 'POST', json: {} })).body.secret;

    // The API reads them back, opened.
    const alert = await request(`${t.baseUrl}/v1/alerts/${alertId}`, { token: nurse });
    expect(alert.body.note).toBe(NOTE);
    expect(alert.body.history.some((e: { note: string | null }) => e.note === NOTE)).toBe(true);
    expect((await request(`${t.baseUrl}/v1/patients/p-1/time`, { token: nurse })).body.entries.map((e: { note: string }) => e.note)).toContain(TIME_NOTE);
    expect((await request(`${t.baseUrl}/v1/auth/me`, { token: nurse })).body.breakGlass[0].reason).toBe(REASON);

    // Nothing of it in the files, the write-ahead logs included, while the gateway runs ...
    expect(markers()).toEqual([]);
    // ... and the sealed values are there (so the test looks where the data is).
    expect(rawFiles().includes(Buffer.from('enc1.'))).toBe(true);
  });

  it('keeps it out of the files after a clean shutdown (WAL checkpointed) too', async () => {
    await t.gw.close();
    expect(markers()).toEqual([]);
  });
});

describe('notes stored in clear by an older install', () => {
  it('are sealed when the SQLite store opens with a key, and still read back', async () => {
    const dir = tempDir('rpm-seal-notes-');
    const file = path.join(dir, 'rpm.sqlite');
    const entry = { id: '00000000-0000-4000-8000-000000000002', organizationId: null, patientId: 'p-1', staffId: 's-1', startedAtMs: 1000, endedAtMs: 61_000, interactive: false, note: TIME_NOTE, source: 'manual' as const };
    const plain = createSqliteStores({ path: file, synchronous: 'FULL', writer: 'inline' });
    await plain.alerts.addTime(entry);
    await plain.close();
    const clinical = (): Buffer => Buffer.concat(readdirSync(dir).filter((f) => f.startsWith('clinical.sqlite')).map((f) => readFileSync(path.join(dir, f))));
    expect(clinical().includes(Buffer.from('TIMEMARK'))).toBe(true);

    const sealed = createSqliteStores({ path: file, synchronous: 'FULL', writer: 'inline', secrets: testCipher() });
    try {
      expect(sealed.sealedSecrets).toBe(1);
      expect((await sealed.alerts.timeEntries({ patientId: 'p-1' }))[0]?.note).toBe(TIME_NOTE);
      expect(clinical().includes(Buffer.from('TIMEMARK'))).toBe(false);
    } finally {
      await sealed.close();
    }
  });
});

describe('PHI text at rest in the PostgreSQL store', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  it('stores alert and time-entry notes sealed, and opens them for the reader', async () => {
    const schema = freshSchemaName();
    const stores = await createPostgresStores({ url: db.url, schema, poolSize: 2, statementTimeoutMs: 20_000, applicationName: 'rpm-test', secrets: testCipher() });
    try {
      await stores.staff.createOrganization({ id: 'org-1', name: 'Org', createdAtMs: 1 });
      await stores.registry.createPatient({ id: 'p-1', organizationId: 'org-1', createdAtMs: 1 });
      await stores.staff.createStaff({ id: 's-1', email: 's@example.org', role: 'nurse', organizationId: 'org-1', displayName: null, isChargeNurse: false, phone: null, createdAtMs: 1 }, '$argon2id$x');
      const entry = await stores.alerts.addTime({ id: '00000000-0000-4000-8000-000000000001', organizationId: 'org-1', patientId: 'p-1', staffId: 's-1', startedAtMs: 1000, endedAtMs: 61_000, interactive: true, note: TIME_NOTE, source: 'manual' });
      expect(entry.note).toBe(TIME_NOTE);
      const [read] = await stores.alerts.timeEntries({ patientId: 'p-1', fromMs: 0, toMs: 100_000 });
      expect(read?.note).toBe(TIME_NOTE);
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        const raw = await client.query(`SELECT note FROM ${pg.escapeIdentifier(schema)}.time_entries`);
        expect(raw.rows[0].note).toMatch(/^enc1\./);
        expect(raw.rows[0].note).not.toContain('TIMEMARK');
      } finally {
        await client.end();
      }
    } finally {
      await stores.close();
    }
  });
});
