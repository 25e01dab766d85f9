import path from 'node:path';
import Database from 'better-sqlite3';
import type { StoredRow } from '../../simulators/loss-check.js';

/**
 * What the gateway stored, read straight from its SQLite file after it has stopped: the checker
 * trusts no API of the system under test for the verdict.
 */
export function storedRows(dataDir: string, boot: string): { rows: StoredRow[]; rejections: number } {
  const db = new Database(path.join(dataDir, 'rpm.sqlite'), { readonly: true, fileMustExist: true });
  try {
    // Client ids are `<device>~<boot>~<sequence>`; the boot tag is base-36, so LIKE has no wildcard in it.
    const rows = db
      .prepare('SELECT client_id AS clientId, device_id AS deviceId, sequence FROM readings WHERE client_id LIKE ?')
      .all(`%~${boot}~%`) as StoredRow[];
    const { n } = db.prepare('SELECT count(*) AS n FROM rejections').get() as { n: number };
    return { rows, rejections: n };
  } finally {
    db.close();
  }
}
