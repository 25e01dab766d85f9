import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { FieldCipher } from '../../core/crypto/field-encryption.js';
import type { NewDestination } from '../../core/ports/forwarding-store.js';
import { tempDir } from '../../test/helpers/gateway.js';
import { createSqliteStores, type SqliteStores } from './index.js';

const k1 = { id: 'k1', key: randomBytes(32) };
const k2 = { id: 'k2', key: randomBytes(32) };
const PASSWORD = 'correct-horse-ehr-password';
const PEM_BODY = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7';

const smart = (id: string): NewDestination => ({
  id,
  organizationId: 'org-1',
  baseUrl: 'https://ehr.test/fhir',
  auth: { type: 'smart-backend', clientId: 'rpm', alg: 'RS384', scope: 'system/Observation.write', privateKey: `-----BEGIN PRIVATE KEY-----\n${PEM_BODY}\n-----END PRIVATE KEY-----` },
  patientMapping: { type: 'search', system: 'urn:oid:1.2.3' },
  kinds: ['heart-rate'],
  enabled: true,
  batchSize: null,
  createdAtMs: 1,
});

describe('SQLite files and stored secrets', () => {
  let dir: string;
  let stores: SqliteStores | undefined;
  const open = (cipher: FieldCipher | undefined): SqliteStores => {
    stores = createSqliteStores({ path: path.join(dir, 'rpm.sqlite'), synchronous: 'FULL', writer: 'inline', ...(cipher === undefined ? {} : { secrets: cipher }) });
    return stores;
  };
  const close = async (): Promise<void> => {
    await stores?.close();
    stores = undefined;
  };
  /** Every byte SQLite keeps: the database, its WAL and shared memory. */
  const onDisk = (): string =>
    ['rpm.sqlite', 'rpm.sqlite-wal', 'rpm.sqlite-shm']
      .map((f) => {
        try {
          return readFileSync(path.join(dir, f)).toString('latin1');
        } catch {
          return '';
        }
      })
      .join('');
  afterEach(async () => {
    await close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the directory 0700 and every database file 0600 (rpm, clinical, their WAL and shm)', async () => {
    dir = path.join(tempDir('rpm-modes-'), 'data');
    const s = open(new FieldCipher([k1]));
    await s.staff.createOrganization({ id: 'org-1', name: 'Org', createdAtMs: 1 });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of ['rpm.sqlite', 'rpm.sqlite-wal', 'rpm.sqlite-shm', 'clinical.sqlite', 'clinical.sqlite-wal', 'clinical.sqlite-shm']) {
      expect(statSync(path.join(dir, f)).mode & 0o777, f).toBe(0o600);
    }
  });

  it('keeps destination credentials and patient identifiers encrypted on disk, readable through the store only', async () => {
    dir = tempDir('rpm-secrets-');
    const s = open(new FieldCipher([k1]));
    await s.staff.createOrganization({ id: 'org-1', name: 'Org', createdAtMs: 1 });
    await s.registry.createPatient({ id: 'p-1', organizationId: 'org-1', createdAtMs: 1 });
    await s.forwarding.createDestination(smart('ehr-a'));
    await s.forwarding.createDestination({ ...smart('ehr-b'), auth: { type: 'basic', username: 'rpm', password: PASSWORD } });
    await s.forwarding.setPatientLink('ehr-a', 'p-1', { identifier: 'MRN-55501234' }, 1);
    expect((await s.forwarding.getDestination('ehr-b'))?.auth).toEqual({ type: 'basic', username: 'rpm', password: PASSWORD });
    expect((await s.forwarding.getPatientLink('ehr-a', 'p-1'))?.identifier).toBe('MRN-55501234');
    await close();
    const disk = onDisk();
    expect(disk).not.toContain(PASSWORD);
    expect(disk).not.toContain(PEM_BODY);
    expect(disk).not.toContain('MRN-55501234');
    // A copy of the file without the key reads nothing; the right key reads it back.
    const raw = new Database(path.join(dir, 'rpm.sqlite'), { readonly: true });
    expect((raw.prepare("SELECT auth FROM fhir_destinations WHERE id = 'ehr-b'").pluck().get() as string).startsWith('enc1.k1.')).toBe(true);
    raw.close();
    // Opened without the key its secrets are under, the store refuses to start, naming the key.
    expect(() => open(new FieldCipher([k2]))).toThrow(expect.objectContaining({ code: 'RPM_ERR_SECRET_KEY_UNKNOWN', message: expect.stringContaining("'k1'") }));
    expect((await open(new FieldCipher([k1])).forwarding.getDestination('ehr-a'))?.auth).toMatchObject({ type: 'smart-backend', clientId: 'rpm' });
  });

  it('rotates keys at open (values under an old key are encrypted under the active one), and seals plain text left by older versions', async () => {
    dir = tempDir('rpm-rotate-');
    const first = open(new FieldCipher([k1]));
    await first.staff.createOrganization({ id: 'org-1', name: 'Org', createdAtMs: 1 });
    await first.registry.createPatient({ id: 'p-1', organizationId: 'org-1', createdAtMs: 1 });
    await first.forwarding.createDestination({ ...smart('ehr-b'), auth: { type: 'bearer', token: PASSWORD } });
    await first.forwarding.setPatientLink('ehr-b', 'p-1', { identifier: 'MRN-1' }, 1);
    await close();
    // An install from before encryption: the credentials as plain JSON.
    const raw = new Database(path.join(dir, 'rpm.sqlite'));
    raw.prepare('INSERT INTO fhir_destinations (id, organization_id, base_url, auth, patient_mapping, kinds, enabled, batch_size, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, 1, NULL, 1, 1)').run(
      'legacy',
      'org-1',
      'https://old.test/fhir',
      JSON.stringify({ type: 'basic', username: 'old', password: 'legacy-plaintext-password' }),
      JSON.stringify({ type: 'reference', template: 'Patient/{patientId}' }),
      'heart-rate',
    );
    raw.close();
    const rotating = open(new FieldCipher([k2, k1]));
    expect(rotating.sealedSecrets).toBe(3);
    await close();
    expect(onDisk()).not.toContain('legacy-plaintext-password');
    // Everything reads with the new key alone now.
    const after = open(new FieldCipher([k2]));
    expect(after.sealedSecrets).toBe(0);
    expect((await after.forwarding.getDestination('legacy'))?.auth).toEqual({ type: 'basic', username: 'old', password: 'legacy-plaintext-password' });
    expect((await after.forwarding.getDestination('ehr-b'))?.auth).toEqual({ type: 'bearer', token: PASSWORD });
    expect((await after.forwarding.getPatientLink('ehr-b', 'p-1'))?.identifier).toBe('MRN-1');
  });
});
