import { hash } from 'node:crypto';

/**
 * The idempotency key of a reading: the natural key (kind, measurement instant), scoped to the
 * measuring device. One device cannot measure the same kind twice at the same instant, so the
 * same measurement resent with or without its client id, over HTTP or MQTT, through a webhook or
 * a later backfill pull, is one reading; the client id is kept beside it, never part of its
 * identity.
 *
 * The one exception a vendor documents: Tenovi reports coincident readings of one type with the
 * same timestamp and tells them apart by `filter_params.measurement_index`. Such a reading
 * carries a `disambiguator` (`mi3`), appended to the key, so two coincident readings are two
 * rows while each one resent (webhook retry, backfill) is still the same row. Without a
 * disambiguator the key is exactly what it always was, so every stored reading keeps its id.
 */
export function idempotencyKey(kind: string, measuredAtMs: number, disambiguator?: string | null): string {
  return disambiguator === undefined || disambiguator === null ? `k:${kind}:${measuredAtMs}` : `k:${kind}:${measuredAtMs}:${disambiguator}`;
}

/** What a disambiguator may look like: short, and never containing the key's separator. */
export const DISAMBIGUATOR = /^[A-Za-z0-9._-]{1,32}$/;

/**
 * Reading ids are derived from (device, idempotency key), so a retried reading maps to the
 * same id on every node and in every store. 128 bits of SHA-256, base64url.
 */
export function readingId(deviceId: string, key: string): string {
  // One-shot hash of the same bytes as hashing deviceId, '\n' and key in turn (the id every stored
  // reading has): no Hash object per reading.
  return hash('sha256', `${deviceId}\n${key}`, 'base64url').slice(0, 22);
}
