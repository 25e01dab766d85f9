import { createHash, timingSafeEqual } from 'node:crypto';

/** Constant-time comparison of a presented bearer token with the bootstrap admin token. */
export function adminTokenMatcher(expected: string): (presented: string | undefined) => boolean {
  const want = createHash('sha256').update(expected).digest();
  return (presented) => presented !== undefined && timingSafeEqual(want, createHash('sha256').update(presented).digest());
}

export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}
