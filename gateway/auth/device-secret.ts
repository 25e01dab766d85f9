import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { verify } from '@node-rs/argon2';
import type { FieldCipher } from '../../core/crypto/field-encryption.js';
import { RpmError } from '../../core/errors/rpm-error.js';

/**
 * Device secrets look like `rpmd_<credential id>_<43 chars of randomness>`. The credential id
 * lets us find the one stored hash to check, so a device is known from its secret alone.
 * The random part carries 256 bits.
 */
const SECRET_FORMAT = /^rpmd_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface IssuedSecret {
  readonly credentialId: string;
  readonly secret: string;
}

export function issueSecret(): IssuedSecret {
  const credentialId = randomBytes(8).toString('hex');
  return { credentialId, secret: `rpmd_${credentialId}_${randomBytes(32).toString('base64url')}` };
}

export function credentialIdOf(secret: string): string | undefined {
  return SECRET_FORMAT.exec(secret)?.[1];
}

/**
 * The stored form of a device secret: `$hmac-sha256$<key id>$<base64 of the 32-byte MAC>`, an
 * HMAC-SHA256 of the whole secret under a key derived from the server's secret keys
 * (RPM_SECRET_KEYS; `FieldCipher.mac` with the purpose below). A device secret is 256 random
 * bits, not a password: nobody can guess it, so a deliberately slow hash (argon2id) buys
 * nothing against a stolen table, while the key (kept apart from the database) makes the table
 * alone useless even for checking a guess. The key id in the value lets the keys rotate.
 *
 * Credentials issued before this format carry an argon2id PHC string (`$argon2id$…`). They
 * still verify (slowly, once per process: the authenticator caches a verified secret) and are
 * rewritten in this format on their first successful use (`DeviceSecretHasher.verify` answers
 * the new value; the authenticator stores it). So is a value under a key that is no longer the
 * active one.
 */
export const DEVICE_SECRET_MAC_PURPOSE = 'device secret';
const HMAC_VALUE = /^\$hmac-sha256\$([A-Za-z0-9_-]{1,32})\$([A-Za-z0-9+/]{43})$/;
const MAC_BYTES = 32;

export type SecretCheck =
  /** The secret matches; `rehash`, when set, is the value to store instead (migration, key rotation). */
  | { readonly ok: true; readonly rehash: string | undefined }
  | { readonly ok: false };

export class DeviceSecretHasher {
  constructor(private readonly cipher: FieldCipher) {}

  /** The stored form of a new secret, under the active key. */
  hash(secret: string): string {
    return `$hmac-sha256$${this.cipher.activeKeyId}$${(this.cipher.mac(secret, DEVICE_SECRET_MAC_PURPOSE) as Buffer).toString('base64').replace(/=+$/, '')}`;
  }

  /** True for a stored value that takes a slow check (argon2id, from before the keyed format). */
  isSlow(stored: string): boolean {
    return stored.startsWith('$argon2');
  }

  /**
   * Checks a presented secret against a stored value, in constant time for the keyed format.
   * Throws RPM_ERR_SECRET_KEY_UNKNOWN when the value names a key that is not configured (an
   * operator removed a key still in use: no secret can be checked, whatever the device sends).
   */
  async verify(stored: string, secret: string): Promise<SecretCheck> {
    const m = HMAC_VALUE.exec(stored);
    if (m !== null) {
      const [, keyId, mac] = m as unknown as [string, string, string];
      const expected = Buffer.from(mac, 'base64');
      const actual = this.cipher.mac(secret, DEVICE_SECRET_MAC_PURPOSE, keyId);
      if (actual === undefined) {
        throw new RpmError('RPM_ERR_SECRET_KEY_UNKNOWN', `a device credential is hashed under key '${keyId}', which is not configured`, { details: { keyId } });
      }
      if (expected.length !== MAC_BYTES || !timingSafeEqual(expected, actual)) return { ok: false };
      return { ok: true, rehash: keyId === this.cipher.activeKeyId ? undefined : this.hash(secret) };
    }
    if (this.isSlow(stored)) {
      // argon2's own verify compares in constant time.
      const ok = await verify(stored, secret).catch(() => false);
      return ok ? { ok: true, rehash: this.hash(secret) } : { ok: false };
    }
    return { ok: false };
  }
}

/** A fast digest kept only in memory, to recognise a secret this process already verified. */
export function fastDigest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}
