import fs from 'node:fs';

/**
 * The data directory holds PHI (readings), credentials (the admin token, the secret keys) and
 * the encrypted EHR secrets: only the gateway's own user may enter it (0700), and every file in
 * it is 0600 (the SQLite connector creates its database files so).
 */
export const PRIVATE_DIR_MODE = 0o700;

/**
 * Creates the directory 0700, or tightens an existing one that others may read or enter.
 * Answers what it found, so the caller can say that it tightened it. A directory we do not own
 * (chmod refused) is left as it is and reported as such.
 */
export function ensurePrivateDir(dir: string): 'created' | 'private' | 'tightened' | 'not-ours' {
  try {
    const mode = fs.statSync(dir).mode & 0o777;
    if ((mode & 0o077) === 0) return 'private';
    try {
      fs.chmodSync(dir, mode & 0o700);
      return 'tightened';
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EPERM') return 'not-ours';
      throw err;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  // mkdir applies the umask; a umask that removes owner bits is not ours to keep.
  fs.chmodSync(dir, PRIVATE_DIR_MODE);
  return 'created';
}
