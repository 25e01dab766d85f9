import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FieldCipher, newFieldKey, parseFieldKeys } from './field-encryption.js';

const key = (id: string) => ({ id, key: randomBytes(32) });

describe('field encryption (AES-256-GCM, key id with every value)', () => {
  it('round-trips a value, with a fresh IV each time and no plain text in what is stored', () => {
    const c = new FieldCipher([key('k1')]);
    const a = c.encrypt('{"password":"hunter2-hunter2"}', 'fhir_destinations.auth:ehr-a');
    const b = c.encrypt('{"password":"hunter2-hunter2"}', 'fhir_destinations.auth:ehr-a');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^enc1\.k1\./);
    expect(a).not.toContain('hunter2');
    expect(c.decrypt(a, 'fhir_destinations.auth:ehr-a')).toBe('{"password":"hunter2-hunter2"}');
    expect(c.decrypt(c.encrypt('', 'ctx'), 'ctx')).toBe('');
    expect(c.decrypt(c.encrypt('Größe ✓', 'ctx'), 'ctx')).toBe('Größe ✓');
  });

  it('refuses a value moved to another field, altered, or encrypted under a key it does not have', () => {
    const c = new FieldCipher([key('k1')]);
    const v = c.encrypt('MRN-0042', 'fhir_patient_links.identifier:d:p-1');
    expect(() => c.decrypt(v, 'fhir_patient_links.identifier:d:p-2')).toThrow(expect.objectContaining({ code: 'RPM_ERR_SECRET_UNREADABLE' }));
    const parts = v.split('.');
    const body = Buffer.from(parts[3] as string, 'base64url');
    body[0] = (body[0] as number) ^ 1;
    const altered = [...parts.slice(0, 3), body.toString('base64url'), parts[4]].join('.');
    expect(() => c.decrypt(altered, 'fhir_patient_links.identifier:d:p-1')).toThrow(expect.objectContaining({ code: 'RPM_ERR_SECRET_UNREADABLE' }));
    expect(() => c.decrypt('{"type":"none"}', 'x')).toThrow(expect.objectContaining({ code: 'RPM_ERR_SECRET_UNREADABLE' }));
    const other = new FieldCipher([key('k9')]);
    expect(() => other.decrypt(v, 'fhir_patient_links.identifier:d:p-1')).toThrow(expect.objectContaining({ code: 'RPM_ERR_SECRET_KEY_UNKNOWN' }));
    // Same id, different key material: altered as far as anyone can tell.
    expect(() => new FieldCipher([key('k1')]).decrypt(v, 'fhir_patient_links.identifier:d:p-1')).toThrow(expect.objectContaining({ code: 'RPM_ERR_SECRET_UNREADABLE' }));
  });

  it('rotates: new values under the active (first) key, old ones still read, and found for re-encryption', () => {
    const k1 = key('k1');
    const k2 = key('k2');
    const old = new FieldCipher([k1]).encrypt('token', 'ctx');
    const rotating = new FieldCipher([k2, k1]);
    expect(rotating.activeKeyId).toBe('k2');
    expect(rotating.decrypt(old, 'ctx')).toBe('token');
    expect(rotating.needsRotation(old)).toBe(true);
    expect(rotating.needsRotation('{"plain":"json"}')).toBe(true);
    const fresh = rotating.encrypt('token', 'ctx');
    expect(FieldCipher.keyIdOf(fresh)).toBe('k2');
    expect(rotating.needsRotation(fresh)).toBe(false);
    expect(new FieldCipher([k2]).decrypt(fresh, 'ctx')).toBe('token');
  });

  it('reads keys as configured (id:base64, comma- or newline-separated, comments) and says what is wrong, never echoing a key', () => {
    const a = newFieldKey('prod-2026');
    const b = newFieldKey('prod_2025');
    const parsed = parseFieldKeys(`# rotation in progress\n${a}\n${b}\n`);
    expect(parsed.ok && parsed.keys.map((k) => k.id)).toEqual(['prod-2026', 'prod_2025']);
    expect(parseFieldKeys(`${a},${b}`).ok).toBe(true);
    const material = (a.split(':')[1] as string).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    expect(parseFieldKeys(`url:${material}`).ok).toBe(true);
    const bad = parseFieldKeys(`short:${Buffer.alloc(16).toString('base64')},nocolon,${a},${a}`);
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.problems).toEqual([
        "key 'short': must be 32 bytes in base64 (e.g. `openssl rand -base64 32`)",
        'key 2: write it as <id>:<base64 of 32 random bytes>, the id matching ^[A-Za-z0-9_-]{1,32}$',
        "key 'prod-2026': the id appears twice",
      ]);
      expect(bad.problems.join(' ')).not.toContain(a.split(':')[1]);
    }
    expect(parseFieldKeys('  ')).toEqual({ ok: false, problems: ['no key given'] });
    expect(() => new FieldCipher([])).toThrow();
    expect(() => new FieldCipher([{ id: 'x', key: randomBytes(16) }])).toThrow();
  });
});
