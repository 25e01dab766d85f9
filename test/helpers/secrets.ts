import { randomBytes } from 'node:crypto';
import { FieldCipher } from '../../core/crypto/field-encryption.js';

/** A field cipher with a fresh random key, for stores under test. */
export function testCipher(id = 'test'): FieldCipher {
  return new FieldCipher([{ id, key: randomBytes(32) }]);
}
