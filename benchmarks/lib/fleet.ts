import path from 'node:path';
import { hash } from '@node-rs/argon2';
import { createSqliteStores } from '../../connectors/sqlite/index.js';
import { hashSecret, issueSecret } from '../../gateway/auth/device-secret.js';
import type { BenchDevice } from './readings.js';

/**
 * Registers a fleet of devices straight into a fresh data directory, before the gateway starts
 * on it (the admin API would pay one production argon2id hash per device: 50k × ~30 ms).
 *
 * Secrets are real (`issueSecret`) and the gateway verifies them on its real path (credential
 * lookup → argon2id verify → SHA-256 digest cache). What differs is the cost stamped into the
 * stored hash: `argon2.verify` reads m, t and p from the PHC string, so a hash made with
 * `cheap` parameters verifies in well under a millisecond. That makes connect time in the
 * capacity and storm scenarios a measure of the broker, not of argon2; the cost of a first
 * connect with production parameters is measured separately (`prodHashes` devices).
 */
export const CHEAP_ARGON2 = { memoryCost: 64, timeCost: 1, parallelism: 1 } as const;

export interface FleetOptions {
  readonly dataDir: string;
  readonly count: number;
  /** Device id prefix, e.g. `idle` → idle-0, idle-1, … */
  readonly prefix: string;
  /** Give each device its own patient (assigned from a day ago), so its readings are accepted. */
  readonly withPatients: boolean;
  /** How many of the devices (taken from the end) get a production-cost hash (hashSecret). */
  readonly prodHashes?: number;
}

export async function provisionFleet(o: FleetOptions): Promise<BenchDevice[]> {
  // The gateway is not running yet, so nothing else writes: NORMAL and an inline writer are safe and fast.
  const stores = createSqliteStores({ path: path.join(o.dataDir, 'rpm.sqlite'), synchronous: 'NORMAL', writer: 'inline' });
  const now = Date.now();
  const prodFrom = o.count - (o.prodHashes ?? 0);
  const devices: BenchDevice[] = [];
  try {
    // Hash in parallel chunks (libuv pool), write sequentially (one SQLite connection).
    for (let start = 0; start < o.count; start += 256) {
      const idx = Array.from({ length: Math.min(256, o.count - start) }, (_, k) => start + k);
      const issued = await Promise.all(
        idx.map(async (i) => {
          const s = issueSecret();
          const secretHash = i >= prodFrom ? await hashSecret(s.secret) : await hash(s.secret, CHEAP_ARGON2);
          return { i, ...s, secretHash };
        }),
      );
      for (const { i, credentialId, secret, secretHash } of issued) {
        const id = `${o.prefix}-${i}`;
        const patientId = `${o.prefix}-patient-${i}`;
        if (o.withPatients) await stores.registry.createPatient({ id: patientId, organizationId: null, createdAtMs: now });
        await stores.registry.createDevice(
          { id, kind: 'bp-cuff', manufacturer: null, model: null, serial: null, hubId: null, createdAtMs: now },
          { id: credentialId, deviceId: id, secretHash, createdAtMs: now },
          ...(o.withPatients ? [{ deviceId: id, patientId, fromMs: now - 86_400_000 }] : []),
        );
        devices.push({ id, secret });
      }
    }
  } finally {
    await stores.close();
  }
  return devices;
}
