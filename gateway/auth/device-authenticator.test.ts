import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStores, type SqliteStores } from '../../connectors/sqlite/index.js';
import { FieldCipher } from '../../core/crypto/field-encryption.js';
import { createLogger } from '../../core/logging.js';
import { DeviceDirectory } from '../../pipeline/device-directory.js';
import { ManualClock } from '../../test/helpers/clock.js';
import { tempDir } from '../../test/helpers/gateway.js';
import { DeviceAuthenticator } from './device-authenticator.js';
import { DeviceSecretHasher, issueSecret } from './device-secret.js';
import { hashPassword } from './password.js';

/** The authenticator on a real SQLite registry: the keyed format, migration of argon2id hashes, rotation grace, the slow-check limit. */
describe('DeviceAuthenticator', () => {
  let dir: string;
  let stores: SqliteStores;
  const clock = new ManualClock(1_700_000_000_000);
  const keyMaterial = randomBytes(32);
  const cipher = new FieldCipher([{ id: 'k1', key: keyMaterial }]);
  const hasher = new DeviceSecretHasher(cipher);
  let logged = '';
  const log = createLogger('warn', new Writable({ write: (chunk, _enc, done) => ((logged += String(chunk)), done()) }));
  const authenticator = (maxSlow = 16) => new DeviceAuthenticator(stores.registry, new DeviceDirectory(stores.registry), clock, hasher, log, maxSlow);

  beforeEach(() => {
    dir = tempDir('rpm-device-auth-');
    stores = createSqliteStores({ path: path.join(dir, 'rpm.sqlite'), synchronous: 'NORMAL', writer: 'inline' });
    logged = '';
  });
  afterEach(async () => {
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const register = async (id: string, stored: (secret: string) => Promise<string> | string): Promise<{ secret: string; credentialId: string }> => {
    const { credentialId, secret } = issueSecret();
    await stores.registry.createDevice(
      { id, kind: 'bp-cuff', manufacturer: null, model: null, serial: null, hubId: null, createdAtMs: clock.now() },
      { id: credentialId, deviceId: id, secretHash: await stored(secret), createdAtMs: clock.now() },
    );
    return { secret, credentialId };
  };

  it('checks a keyed hash without any slow work and refuses a wrong secret', async () => {
    const { secret, credentialId } = await register('cuff-1', (s) => hasher.hash(s));
    // No slow checks allowed at all: a keyed credential never needs one.
    const auth = authenticator(0);
    expect(await auth.authenticate(secret, 'cuff-1')).toMatchObject({ device: { id: 'cuff-1' }, credentialId, expiresAtMs: null });
    expect(auth.recognizes(secret)).toBe(true);
    const wrong = `rpmd_${credentialId}_${randomBytes(32).toString('base64url')}`;
    expect(auth.recognizes(wrong)).toBe(false);
    await expect(auth.authenticate(wrong)).rejects.toMatchObject({ code: 'RPM_ERR_AUTH_INVALID' });
    // A fresh process (nothing cached) refuses it too, and still takes the right one.
    await expect(authenticator(0).authenticate(wrong)).rejects.toMatchObject({ code: 'RPM_ERR_AUTH_INVALID' });
    await expect(authenticator(0).authenticate(secret, 'cuff-2')).rejects.toMatchObject({ code: 'RPM_ERR_AUTH_INVALID' });
    expect(auth.migrated).toBe(0);
  });

  it('takes an argon2id hash from before the keyed format once, and stores its keyed replacement', async () => {
    const { secret, credentialId } = await register('cuff-old', (s) => hashPassword(s));
    const before = (await stores.registry.findCredential(credentialId))?.secretHash;
    expect(before).toMatch(/^\$argon2id\$/);
    // A wrong secret changes nothing.
    await expect(authenticator().authenticate(`rpmd_${credentialId}_${randomBytes(32).toString('base64url')}`)).rejects.toMatchObject({ code: 'RPM_ERR_AUTH_INVALID' });
    expect((await stores.registry.findCredential(credentialId))?.secretHash).toBe(before);

    const auth = authenticator();
    expect(await auth.authenticate(secret, 'cuff-old')).toMatchObject({ device: { id: 'cuff-old' }, credentialId });
    expect(auth.migrated).toBe(1);
    const after = (await stores.registry.findCredential(credentialId))?.secretHash;
    expect(after).toBe(hasher.hash(secret));
    // The next process checks the keyed form: no slow check allowed, and it still works.
    expect(await authenticator(0).authenticate(secret, 'cuff-old')).toMatchObject({ device: { id: 'cuff-old' } });
    expect(logged).toBe('');
  });

  it('keeps both secrets working through the rotation grace, then only the new one', async () => {
    const old = await register('cuff-r', (s) => hashPassword(s));
    const { credentialId, secret } = issueSecret();
    await stores.registry.addCredential({ id: credentialId, deviceId: 'cuff-r', secretHash: hasher.hash(secret), createdAtMs: clock.now() }, clock.now() + 60_000);
    const auth = authenticator();
    expect(await auth.authenticate(old.secret, 'cuff-r')).toMatchObject({ credentialId: old.credentialId, expiresAtMs: clock.now() + 60_000 });
    expect(await auth.authenticate(secret, 'cuff-r')).toMatchObject({ credentialId, expiresAtMs: null });
    // The old credential was migrated and keeps its expiry.
    expect(await stores.registry.findCredential(old.credentialId)).toMatchObject({ secretHash: hasher.hash(old.secret), expiresAtMs: clock.now() + 60_000 });
    clock.advance(60_001);
    await expect(auth.authenticate(old.secret, 'cuff-r')).rejects.toMatchObject({ code: 'RPM_ERR_AUTH_INVALID' });
    await expect(authenticator().authenticate(old.secret, 'cuff-r')).rejects.toMatchObject({ code: 'RPM_ERR_AUTH_INVALID' });
    expect(await authenticator().authenticate(secret, 'cuff-r')).toMatchObject({ credentialId });
    await stores.registry.revokeDevice('cuff-r', clock.now());
    await expect(authenticator().authenticate(secret, 'cuff-r')).rejects.toMatchObject({ code: 'RPM_ERR_AUTH_DEVICE_REVOKED' });
  });

  it('limits concurrent argon2id checks (RPM_ERR_OVERLOADED beyond), never keyed ones', async () => {
    const legacy = await Promise.all(Array.from({ length: 3 }, (_, i) => register(`old-${i}`, (s) => hashPassword(s))));
    const keyed = await Promise.all(Array.from({ length: 200 }, (_, i) => register(`new-${i}`, (s) => hasher.hash(s))));
    const auth = authenticator(1);
    const outcomes = await Promise.allSettled([...legacy, ...keyed].map((d) => auth.authenticate(d.secret)));
    const codes = outcomes.map((o) => (o.status === 'fulfilled' ? 'ok' : (o.reason as { code: string }).code));
    expect(codes.slice(0, 3).filter((c) => c === 'ok')).toHaveLength(1);
    expect(codes.slice(0, 3).filter((c) => c === 'RPM_ERR_OVERLOADED')).toHaveLength(2);
    expect(codes.slice(3).every((c) => c === 'ok')).toBe(true);
  });

  it('lets a device in when the migrated hash cannot be stored, and logs that without the secret or the key', async () => {
    const { secret, credentialId } = await register('cuff-ro', (s) => hashPassword(s));
    const side = new Database(path.join(dir, 'rpm.sqlite'));
    side.exec("CREATE TRIGGER no_hash_change BEFORE UPDATE OF secret_hash ON device_credentials BEGIN SELECT RAISE(ABORT, 'read-only for this test'); END");
    side.close();
    const auth = authenticator();
    expect(await auth.authenticate(secret, 'cuff-ro')).toMatchObject({ device: { id: 'cuff-ro' } });
    expect(auth.migrated).toBe(0);
    expect((await stores.registry.findCredential(credentialId))?.secretHash).toMatch(/^\$argon2id\$/);
    expect(logged).toContain('could not store the migrated hash');
    expect(logged).toContain('cuff-ro');
    for (const leak of [secret, secret.slice(22), keyMaterial.toString('base64'), keyMaterial.toString('base64url'), keyMaterial.toString('hex'), hasher.hash(secret)]) expect(logged).not.toContain(leak);
  });
});
