import { randomBytes } from 'node:crypto';
import { hashSecret, verifySecret } from './device-secret.js';

/**
 * Staff passwords: argon2id with the same parameters as device secrets (one place decides
 * them, device-secret.ts). Unlike device secrets, a password check is never cached: every
 * login pays the slow hash, which is the point.
 */
export function hashPassword(password: string): Promise<string> {
  return hashSecret(password);
}

export function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  return verifySecret(passwordHash, password);
}

/**
 * A hash of a random password nobody knows. A login for an unknown email is verified against
 * it, so that it costs what a wrong password costs and answer times do not reveal which emails
 * have accounts. Computed once, at start-up, off the request path.
 */
export function dummyPasswordHash(): Promise<string> {
  return hashSecret(randomBytes(32).toString('base64url'));
}
