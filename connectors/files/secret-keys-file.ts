import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../core/config/schema.js';
import { FieldCipher, newFieldKey, parseFieldKeys } from '../../core/crypto/field-encryption.js';
import { ConfigError } from '../../core/errors/rpm-error.js';
import { ensurePrivateDir } from './data-files.js';

export interface LoadedSecretKeys {
  readonly cipher: FieldCipher;
  /** Where the keys came from, for the start-up log (never the keys). */
  readonly source: 'RPM_SECRET_KEYS' | 'RPM_SECRET_KEYS_FILE' | 'generated' | 'data-dir';
  readonly file: string | undefined;
}

/**
 * The keys that encrypt stored secrets: from RPM_SECRET_KEYS, from the file RPM_SECRET_KEYS_FILE
 * names (a mounted secret), or else from `<data dir>/secret-keys`, generated (mode 0600) on the
 * first start so that `npm start` works on a fresh machine. A generated key beside the database
 * protects a copied or backed-up database file, not a copied data directory: production sets one
 * of the variables, from a secret store.
 */
export function loadSecretKeys(config: Pick<Config, 'secretKeys' | 'dataDir'>): LoadedSecretKeys {
  const configured = config.secretKeys;
  if (configured?.from === 'env') return { cipher: cipherOf(configured.text, 'RPM_SECRET_KEYS'), source: 'RPM_SECRET_KEYS', file: undefined };
  if (configured?.from === 'file') {
    let text: string;
    try {
      text = fs.readFileSync(configured.path, 'utf8');
    } catch (err) {
      throw new ConfigError([`RPM_SECRET_KEYS_FILE: cannot read ${configured.path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
    }
    return { cipher: cipherOf(text, 'RPM_SECRET_KEYS_FILE'), source: 'RPM_SECRET_KEYS_FILE', file: configured.path };
  }
  const file = path.join(config.dataDir, 'secret-keys');
  try {
    return { cipher: cipherOf(fs.readFileSync(file, 'utf8'), file), source: 'data-dir', file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  ensurePrivateDir(config.dataDir);
  const text = `# Keys that encrypt stored secrets (first = active). Keep a copy apart from the database.\n${newFieldKey('k1')}\n`;
  // 'wx': never overwrite a key another process wrote meanwhile (that would orphan its values).
  fs.writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
  return { cipher: cipherOf(text, file), source: 'generated', file };
}

function cipherOf(text: string, where: string): FieldCipher {
  const parsed = parseFieldKeys(text);
  if (!parsed.ok) throw new ConfigError(parsed.problems.map((p) => `${where}: ${p}`));
  return new FieldCipher(parsed.keys);
}
