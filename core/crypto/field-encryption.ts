import { createCipheriv, createDecipheriv, createHmac, createSecretKey, hkdfSync, type KeyObject, randomBytes } from 'node:crypto';
import { RpmError } from '../errors/rpm-error.js';

/**
 * Field-level encryption for values a store must keep but nobody who copies the database file
 * should read: FHIR destination credentials, patients' identifiers at an EHR (HIPAA
 * §164.312(a)(2)(iv)). AES-256-GCM (authenticated: an altered value fails to decrypt instead of
 * decrypting to garbage), a fresh 96-bit IV per value, and the id of the key stored with every
 * value, so keys rotate: new values are written under the active key, old ones stay readable
 * while their key is configured, and `needsRotation` finds the ones to re-encrypt.
 *
 * Each value is bound to a context (the additional authenticated data), such as the table,
 * column and row it belongs to: a value copied into another row does not decrypt there.
 *
 * Pure: keys come in as bytes (core/config/schema.ts parses them); no I/O.
 *
 * Format: `enc1.<key id>.<iv>.<ciphertext>.<tag>`, the last three base64url.
 */

/** A key id: short, printable, stored with every value it encrypted. */
export const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const PREFIX = 'enc1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const FIELD_KEY_BYTES = 32;

export interface FieldKey {
  readonly id: string;
  /** 32 bytes (AES-256). */
  readonly key: Uint8Array;
}

const VALUE = /^enc1\.([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]{22})$/;

export class FieldCipher {
  private readonly keys: ReadonlyMap<string, Uint8Array>;
  /** HMAC keys derived by `mac`, by key id and purpose (HKDF once per pair, not per value). */
  private readonly macKeys = new Map<string, KeyObject>();
  /** New values are encrypted under this key. */
  readonly activeKeyId: string;

  /** `keys[0]` is the active key; the others only decrypt (keys being rotated out). */
  constructor(keys: readonly FieldKey[]) {
    const first = keys[0];
    if (first === undefined) throw new RpmError('RPM_ERR_CONFIG_INVALID', 'field encryption needs at least one key');
    const map = new Map<string, Uint8Array>();
    for (const k of keys) {
      if (!KEY_ID.test(k.id)) throw new RpmError('RPM_ERR_CONFIG_INVALID', `key id '${k.id}' must match ${KEY_ID.source}`);
      if (k.key.length !== FIELD_KEY_BYTES) throw new RpmError('RPM_ERR_CONFIG_INVALID', `key '${k.id}' must be ${FIELD_KEY_BYTES} bytes`);
      if (map.has(k.id)) throw new RpmError('RPM_ERR_CONFIG_INVALID', `key id '${k.id}' appears twice`);
      map.set(k.id, k.key);
    }
    this.keys = map;
    this.activeKeyId = first.id;
  }

  encrypt(plaintext: string, context: string): string {
    const key = this.keys.get(this.activeKeyId) as Uint8Array;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [PREFIX, this.activeKeyId, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  /** Throws RPM_ERR_SECRET_KEY_UNKNOWN (key not configured) or RPM_ERR_SECRET_UNREADABLE (altered, wrong context, not ours). */
  decrypt(value: string, context: string): string {
    const m = VALUE.exec(value);
    if (m === null) throw new RpmError('RPM_ERR_SECRET_UNREADABLE', 'not an encrypted field value');
    const [, keyId, iv, body, tag] = m as unknown as [string, string, string, string, string];
    const key = this.keys.get(keyId);
    if (key === undefined) throw new RpmError('RPM_ERR_SECRET_KEY_UNKNOWN', `a stored value is encrypted under key '${keyId}', which is not configured`, { details: { keyId } });
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch (err) {
      throw new RpmError('RPM_ERR_SECRET_UNREADABLE', `a stored value does not decrypt under key '${keyId}' (altered, or moved from another field)`, { cause: err, details: { keyId } });
    }
  }

  /**
   * A keyed, deterministic digest of a value (a "blind index"), so a store can look an encrypted
   * value up by equality (an MRN within an organization, a phone number) without keeping it in
   * clear: HMAC-SHA256 under a key derived (HKDF-SHA256) from the active key and `purpose`.
   * Format `bi1.<key id>.<base64url>`: after a key rotation the store recomputes its indexes
   * with the values it re-encrypts (the digest changes with the key).
   */
  blindIndex(value: string, purpose: string): string {
    const key = this.keys.get(this.activeKeyId) as Uint8Array;
    const derived = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `rpm blind index:${purpose}`, 32));
    return `bi1.${this.activeKeyId}.${createHmac('sha256', derived).update(value, 'utf8').digest('base64url')}`;
  }

  /**
   * HMAC-SHA256 of a value under a key derived (HKDF-SHA256, info `rpm mac:<purpose>`) from the
   * configured key `keyId` (default: the active key), so one purpose's digests say nothing about
   * another's and the configured key itself never keys a MAC. Deterministic: what stores keep
   * to recognise a high-entropy secret without being able to recover it (device secrets,
   * gateway/auth/device-secret.ts). Undefined when `keyId` is not configured. The derived key
   * stays inside this object.
   */
  mac(value: string, purpose: string, keyId: string = this.activeKeyId): Buffer | undefined {
    const cacheKey = `${keyId}\u0000${purpose}`;
    let derived = this.macKeys.get(cacheKey);
    if (derived === undefined) {
      const key = this.keys.get(keyId);
      if (key === undefined) return undefined;
      derived = createSecretKey(Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `rpm mac:${purpose}`, 32)));
      this.macKeys.set(cacheKey, derived);
    }
    return createHmac('sha256', derived).update(value, 'utf8').digest();
  }

  /** The key id a value was encrypted under, or undefined when it is not an encrypted value (plain text). */
  static keyIdOf(value: string): string | undefined {
    return VALUE.exec(value)?.[1];
  }

  /** True when the value is plain text or encrypted under a key other than the active one. */
  needsRotation(value: string): boolean {
    return FieldCipher.keyIdOf(value) !== this.activeKeyId;
  }
}

/**
 * Keys as configured: `id:base64[,id:base64…]` (commas or newlines), the first being the active
 * one. Base64 or base64url of exactly 32 bytes. Returns the keys or the problems found.
 */
export function parseFieldKeys(text: string): { ok: true; keys: FieldKey[] } | { ok: false; problems: string[] } {
  const entries = text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter((s) => s !== '' && !s.startsWith('#'));
  const problems: string[] = [];
  const keys: FieldKey[] = [];
  const seen = new Set<string>();
  for (const [i, entry] of entries.entries()) {
    const colon = entry.indexOf(':');
    const id = colon < 0 ? '' : entry.slice(0, colon);
    const material = colon < 0 ? '' : entry.slice(colon + 1);
    if (!KEY_ID.test(id)) {
      problems.push(`key ${i + 1}: write it as <id>:<base64 of 32 random bytes>, the id matching ${KEY_ID.source}`);
      continue;
    }
    // Node's base64 decoder reads both alphabets (base64 and base64url).
    const bytes = /^[A-Za-z0-9+/_-]+={0,2}$/.test(material) ? Buffer.from(material, 'base64') : Buffer.alloc(0);
    if (bytes.length !== FIELD_KEY_BYTES) {
      problems.push(`key '${id}': must be ${FIELD_KEY_BYTES} bytes in base64 (e.g. \`openssl rand -base64 32\`)`);
      continue;
    }
    if (seen.has(id)) {
      problems.push(`key '${id}': the id appears twice`);
      continue;
    }
    seen.add(id);
    keys.push({ id, key: bytes });
  }
  if (problems.length === 0 && keys.length === 0) problems.push('no key given');
  return problems.length === 0 ? { ok: true, keys } : { ok: false, problems };
}

/** A new random key in the configured form, `id:base64`. */
export function newFieldKey(id: string): string {
  if (!KEY_ID.test(id)) throw new RpmError('RPM_ERR_INTERNAL', `key id '${id}' must match ${KEY_ID.source}`);
  return `${id}:${randomBytes(FIELD_KEY_BYTES).toString('base64')}`;
}
