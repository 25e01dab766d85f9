import { createHash } from 'node:crypto';

/**
 * The idempotency key of a reading: the natural key (kind, measurement instant), scoped to the
 * measuring device. One device cannot measure the same kind twice at the same instant, so the
 * same measurement resent with or without its client id, over HTTP or MQTT, is one reading; the
 * client id is kept beside it, never part of its identity.
 */
export function idempotencyKey(kind: string, measuredAtMs: number): string {
  return `k:${kind}:${measuredAtMs}`;
}

/**
 * Reading ids are derived from (device, idempotency key), so a retried reading maps to the
 * same id on every node and in every store. 128 bits of SHA-256, base64url.
 */
export function readingId(deviceId: string, key: string): string {
  return createHash('sha256').update(deviceId).update('\n').update(key).digest('base64url').slice(0, 22);
}
