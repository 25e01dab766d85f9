import { createHash, randomBytes } from 'node:crypto';

/** 32 random bytes, base64url without padding: 43 characters. */
const TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;

export interface IssuedSessionToken {
  /** Given to the client once; never stored. */
  readonly token: string;
  /** What the store keeps. A fast hash is enough: the token has 256 bits of entropy. */
  readonly tokenSha256: string;
}

export function issueSessionToken(): IssuedSessionToken {
  const token = randomBytes(32).toString('base64url');
  return { token, tokenSha256: sessionTokenSha256(token) };
}

export function sessionTokenSha256(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Cheap shape check before any lookup. */
export function looksLikeSessionToken(token: string): boolean {
  return TOKEN_FORMAT.test(token);
}
