import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newFieldKey } from '../../core/crypto/field-encryption.js';
import { startTestGateway, tempDir, type TestGateway } from '../../test/helpers/gateway.js';

const PASSWORD = 'ehr-basic-password-0042';
const mode = (p: string): number => statSync(p).mode & 0o777;
/** Everything the gateway wrote into its data directory, as one string (database, WAL, key files). */
const everything = (dir: string): string =>
  readdirSync(dir)
    .map((f) => readFileSync(path.join(dir, f)).toString('latin1'))
    .join('');

describe('the data directory holds PHI and credentials: private files, encrypted EHR secrets', () => {
  const root = tempDir('rpm-data-files-');
  const gateways: TestGateway[] = [];
  const start = async (env: Record<string, string>, dataDir: string): Promise<TestGateway> => {
    const t = await startTestGateway(env, { dataDir });
    gateways.push(t);
    return t;
  };
  const stop = async (t: TestGateway): Promise<void> => {
    await t.close();
    gateways.splice(gateways.indexOf(t), 1);
  };
  afterAll(async () => {
    for (const t of gateways) await t.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('creates the data directory 0700 and every file in it 0600, with a generated key file when no key is configured', async () => {
    const dataDir = path.join(root, 'fresh', 'data');
    // No RPM_ADMIN_TOKEN either: the generated admin-token file is checked too.
    const t = await start({ RPM_ADMIN_TOKEN: '' }, dataDir);
    await fetch(`${t.baseUrl}/healthz`);
    expect(mode(dataDir)).toBe(0o700);
    const files = readdirSync(dataDir).sort();
    expect(files).toEqual(expect.arrayContaining(['admin-token', 'clinical.sqlite', 'clinical.sqlite-wal', 'rpm.sqlite', 'rpm.sqlite-wal', 'secret-keys']));
    for (const f of files) expect(mode(path.join(dataDir, f)), f).toBe(0o600);
    expect(readFileSync(path.join(dataDir, 'secret-keys'), 'utf8')).toMatch(/^k1:[A-Za-z0-9+/]{43}=$/m);
    await stop(t);
  });

  it('tightens a data directory and database files an older install left readable by others', async () => {
    const dataDir = path.join(root, 'old', 'data');
    const first = await start({}, dataDir);
    await stop(first);
    chmodSync(dataDir, 0o755);
    for (const f of ['rpm.sqlite', 'clinical.sqlite']) chmodSync(path.join(dataDir, f), 0o644);
    const again = await start({}, dataDir);
    expect(mode(dataDir)).toBe(0o700);
    for (const f of ['rpm.sqlite', 'clinical.sqlite']) expect(mode(path.join(dataDir, f)), f).toBe(0o600);
    await stop(again);
  });

  it('keeps destination credentials encrypted with the configured key (RPM_SECRET_KEYS or a file), rotates it, and refuses to start without it', async () => {
    const dataDir = path.join(root, 'keys', 'data');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const k1 = newFieldKey('k1');
    const t = await start({ RPM_SECRET_KEYS: k1 }, dataDir);
    await t.admin.createOrganization('org-k');
    const created = await t.admin.post('/v1/admin/fhir/destinations', {
      id: 'ehr',
      organizationId: 'org-k',
      baseUrl: 'https://ehr.example.test/fhir',
      auth: { type: 'basic', username: 'rpm', password: PASSWORD },
      enabled: false,
    });
    expect(created.status).toBe(201);
    expect(JSON.stringify(created.body)).not.toContain(PASSWORD);
    expect(JSON.stringify((await t.admin.get('/v1/admin/fhir/destinations/ehr')).body)).not.toContain(PASSWORD);
    await stop(t);
    // Configured keys are not written to the data directory, and the password is nowhere in it.
    expect(readdirSync(dataDir)).not.toContain('secret-keys');
    expect(everything(dataDir)).not.toContain(PASSWORD);

    // Without the key the gateway does not start, and says which key it lacks.
    await expect(startTestGateway({ RPM_SECRET_KEYS: newFieldKey('other') }, { dataDir })).rejects.toMatchObject({ code: 'RPM_ERR_SECRET_KEY_UNKNOWN', message: expect.stringContaining("'k1'") });

    // Rotation: a new active key first, the old one still listed; from a file (a mounted secret).
    const keyFile = path.join(root, 'keys', 'rpm-keys');
    writeFileSync(keyFile, `${newFieldKey('k2')}\n${k1}\n`, { mode: 0o600 });
    const rotated = await start({ RPM_SECRET_KEYS_FILE: keyFile }, dataDir);
    expect((await rotated.admin.get('/v1/admin/fhir/destinations/ehr')).body.auth).toEqual({ type: 'basic', username: 'rpm' });
    await stop(rotated);
    // Everything is under k2 now: k1 can be dropped.
    writeFileSync(keyFile, `${readFileSync(keyFile, 'utf8').split('\n')[0]}\n`);
    const after = await start({ RPM_SECRET_KEYS_FILE: keyFile }, dataDir);
    expect((await after.admin.get('/v1/admin/fhir/destinations/ehr')).status).toBe(200);
    await stop(after);
    expect(everything(dataDir)).not.toContain(PASSWORD);
  });
});
