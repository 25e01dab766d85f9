import { describe, expect, it } from 'vitest';
import { DISAMBIGUATOR, idempotencyKey, readingId } from './reading-id.js';

describe('reading identity', () => {
  it('keeps every existing reading id: the key without a disambiguator is the natural key as before', () => {
    expect(idempotencyKey('blood-pressure', 1764576000000)).toBe('k:blood-pressure:1764576000000');
    expect(idempotencyKey('blood-pressure', 1764576000000, null)).toBe('k:blood-pressure:1764576000000');
    // A known id, computed before disambiguators existed: sha256("cuff-1\nk:blood-pressure:1764576000000"), 22 base64url characters.
    expect(readingId('cuff-1', idempotencyKey('blood-pressure', 1764576000000))).toBe('SeEEr1YL4SyQAC75SHWlys');
  });

  it("tells coincident readings of one kind apart by a disambiguator (Tenovi's measurement index), each stable across resends", () => {
    const a = idempotencyKey('spo2', 1764576000000, 'mi1');
    const b = idempotencyKey('spo2', 1764576000000, 'mi2');
    expect(a).toBe('k:spo2:1764576000000:mi1');
    expect(readingId('ox-1', a)).not.toBe(readingId('ox-1', b));
    expect(readingId('ox-1', a)).toBe(readingId('ox-1', idempotencyKey('spo2', 1764576000000, 'mi1')));
    expect(readingId('ox-1', a)).not.toBe(readingId('ox-1', idempotencyKey('spo2', 1764576000000)));
    expect(DISAMBIGUATOR.test('mi3')).toBe(true);
    expect(DISAMBIGUATOR.test('a:b')).toBe(false);
    expect(DISAMBIGUATOR.test('')).toBe(false);
  });
});
