import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

/**
 * Staff passwords: argon2id with OWASP's minimum profile (19 MiB, t=2, p=1). People choose
 * passwords, so a stolen table must be slow to guess against; every login pays the slow hash
 * (never cached), which is the point. (Device secrets are random 256-bit values and use a keyed
 * hash instead: device-secret.ts.)
 */
const ARGON2_OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

export function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  return verify(passwordHash, password).catch(() => false);
}

/**
 * A hash of a random password nobody knows. A login for an unknown email is verified against
 * it, so that it costs what a wrong password costs and answer times do not reveal which emails
 * have accounts. Computed once, at start-up, off the request path.
 */
export function dummyPasswordHash(): Promise<string> {
  return hashPassword(randomBytes(32).toString('base64url'));
}
