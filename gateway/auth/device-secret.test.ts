import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FieldCipher } from '../../core/crypto/field-encryption.js';
import { DeviceSecretHasher, issueSecret } from './device-secret.js';
import { hashPassword } from './password.js';

const key = (id: string) => ({ id, key: randomBytes(32) });

describe('device secret hashes (keyed HMAC-SHA256, argon2id migrated)', () => {
  it('stores a secret as $hmac-sha256$<key id>$<MAC>: deterministic, keyed, never the secret', async () => {
    const k1 = key('k1');
    const hasher = new DeviceSecretHasher(new FieldCipher([k1]));
    const { secret } = issueSecret();
    const stored = hasher.hash(secret);
    expect(stored).toMatch(/^\$hmac-sha256\$k1\$[A-Za-z0-9+/]{43}$/);
    expect(stored).not.toContain(secret.slice(22));
    expect(hasher.hash(secret)).toBe(stored);
    // Another key (same id, other material) gives another value: the table alone checks nothing.
    expect(new DeviceSecretHasher(new FieldCipher([key('k1')])).hash(secret)).not.toBe(stored);
    expect(hasher.hash(issueSecret().secret)).not.toBe(stored);
    expect(hasher.isSlow(stored)).toBe(false);
    expect(await hasher.verify(stored, secret)).toEqual({ ok: true, rehash: undefined });
  });

  it('refuses a wrong secret, an altered or truncated value, and values in no known format', async () => {
    const hasher = new DeviceSecretHasher(new FieldCipher([key('k1')]));
    const { secret } = issueSecret();
    const stored = hasher.hash(secret);
    expect(await hasher.verify(stored, issueSecret().secret)).toEqual({ ok: false });
    // Same credential id, other randomness: the whole secret is under the MAC.
    expect(await hasher.verify(stored, `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`)).toEqual({ ok: false });
    const mac = Buffer.from(stored.split('$')[3] as string, 'base64');
    mac[0] = (mac[0] as number) ^ 1;
    expect(await hasher.verify(`$hmac-sha256$k1$${mac.toString('base64').replace(/=+$/, '')}`, secret)).toEqual({ ok: false });
    expect(await hasher.verify(stored.slice(0, -2), secret)).toEqual({ ok: false });
    expect(await hasher.verify('', secret)).toEqual({ ok: false });
    expect(await hasher.verify(secret, secret)).toEqual({ ok: false });
  });

  it('verifies an argon2id hash from before the keyed format and answers its keyed replacement', async () => {
    const hasher = new DeviceSecretHasher(new FieldCipher([key('k1')]));
    const { secret } = issueSecret();
    const legacy = await hashPassword(secret);
    expect(legacy).toMatch(/^\$argon2id\$/);
    expect(hasher.isSlow(legacy)).toBe(true);
    const check = await hasher.verify(legacy, secret);
    expect(check).toEqual({ ok: true, rehash: hasher.hash(secret) });
    expect(await hasher.verify(legacy, issueSecret().secret)).toEqual({ ok: false });
  });

  it('rotates keys: a value under a key being rotated out verifies and is rehashed under the active key; a removed key fails loudly', async () => {
    const k1 = key('k1');
    const k2 = key('k2');
    const { secret } = issueSecret();
    const underK1 = new DeviceSecretHasher(new FieldCipher([k1])).hash(secret);
    const rotating = new DeviceSecretHasher(new FieldCipher([k2, k1]));
    const check = await rotating.verify(underK1, secret);
    expect(check).toEqual({ ok: true, rehash: expect.stringMatching(/^\$hmac-sha256\$k2\$/) });
    expect(await rotating.verify((check as { rehash: string }).rehash, secret)).toEqual({ ok: true, rehash: undefined });
    expect(await rotating.verify(underK1, issueSecret().secret)).toEqual({ ok: false });
    const withoutK1 = new DeviceSecretHasher(new FieldCipher([k2]));
    await expect(withoutK1.verify(underK1, secret)).rejects.toMatchObject({ code: 'RPM_ERR_SECRET_KEY_UNKNOWN', details: { keyId: 'k1' } });
  });
});

describe('FieldCipher.mac', () => {
  it('is HMAC-SHA256 under a key derived per purpose and key id, never the blind index or the key itself', () => {
    const k1 = key('k1');
    const c = new FieldCipher([key('k2'), k1]);
    const a = c.mac('value', 'device secret') as Buffer;
    expect(a).toHaveLength(32);
    expect(c.mac('value', 'device secret')).toEqual(a);
    expect(c.mac('value', 'other purpose')).not.toEqual(a);
    expect(c.mac('value', 'device secret', 'k1')).not.toEqual(a);
    expect(c.mac('value', 'device secret', 'k1')).toEqual(new FieldCipher([k1]).mac('value', 'device secret'));
    expect(c.mac('value', 'device secret', 'k9')).toBeUndefined();
    expect(c.blindIndex('value', 'device secret')).not.toContain(a.toString('base64url'));
  });
});
