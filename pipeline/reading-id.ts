import { createHash } from 'node:crypto';

/**
 * The idempotency key of a reading: the client's id when it sent one, else the natural key
 * (kind, measurement instant). Scoped to the measuring device.
 */
export function idempotencyKey(clientId: string | null, kind: string, measuredAtMs: number): string {
  return clientId === null ? `k:${kind}:${measuredAtMs}` : `c:${clientId}`;
}

/**
 * Reading ids are derived from (device, idempotency key), so a retried reading maps to the
 * same id on every node and in every store. 128 bits of SHA-256, base64url.
 */
export function readingId(deviceId: string, key: string): string {
  return createHash('sha256').update(deviceId).update('\n').update(key).digest('base64url').slice(0, 22);
}
