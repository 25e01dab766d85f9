import { createHash, randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

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

// argon2id with OWASP's minimum profile (19 MiB, t=2, p=1): slow for an attacker with a
// stolen table, and paid by us only once per credential per process (see DeviceAuthenticator).
const ARGON2_OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashSecret(secret: string): Promise<string> {
  return hash(secret, ARGON2_OPTIONS);
}

export function verifySecret(secretHash: string, secret: string): Promise<boolean> {
  return verify(secretHash, secret).catch(() => false);
}

/** A fast digest kept only in memory, to recognise a secret we already verified slowly. */
export function fastDigest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}
