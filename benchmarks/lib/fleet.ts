import path from 'node:path';
import { loadSecretKeys } from '../../connectors/files/secret-keys-file.js';
import { createSqliteStores } from '../../connectors/sqlite/index.js';
import { DeviceSecretHasher, issueSecret } from '../../gateway/auth/device-secret.js';
import { hashPassword } from '../../gateway/auth/password.js';
import type { BenchDevice } from './readings.js';

/**
 * Registers a fleet of devices straight into a data directory, before the gateway starts on it
 * (faster than the admin API for 50k devices, and no gateway is needed yet).
 *
 * Secrets are real (`issueSecret`) and stored in the production format: the keyed HMAC of
 * gateway/auth/device-secret.ts under the data directory's own secret key (`secret-keys`,
 * generated here exactly as the gateway would generate it on its first start, and then read by
 * the gateway). So the gateway verifies them on its real path (credential lookup → HMAC →
 * SHA-256 digest cache), and a first connect costs what it costs in production.
 *
 * `legacyArgon2` devices (taken from the end) get instead the argon2id hash every credential had
 * before the keyed format (production parameters, the ones staff passwords still use), to
 * measure the once-per-credential migration on first use.
 */

export interface FleetOptions {
  readonly dataDir: string;
  readonly count: number;
  /** Device id prefix, e.g. `idle` → idle-0, idle-1, … */
  readonly prefix: string;
  /** Give each device its own patient (assigned from a day ago), so its readings are accepted. */
  readonly withPatients: boolean;
  /** How many of the devices (taken from the end) get a pre-migration argon2id hash. */
  readonly legacyArgon2?: number;
}

export async function provisionFleet(o: FleetOptions): Promise<BenchDevice[]> {
  const hasher = new DeviceSecretHasher(loadSecretKeys({ dataDir: o.dataDir, secretKeys: undefined }).cipher);
  // The gateway is not running yet, so nothing else writes: NORMAL and an inline writer are safe and fast.
  const stores = createSqliteStores({ path: path.join(o.dataDir, 'rpm.sqlite'), synchronous: 'NORMAL', writer: 'inline' });
  const now = Date.now();
  const legacyFrom = o.count - (o.legacyArgon2 ?? 0);
  const devices: BenchDevice[] = [];
  try {
    // Hash in parallel chunks (argon2id runs on the libuv pool), write sequentially (one SQLite connection).
    for (let start = 0; start < o.count; start += 256) {
      const idx = Array.from({ length: Math.min(256, o.count - start) }, (_, k) => start + k);
      const issued = await Promise.all(
        idx.map(async (i) => {
          const s = issueSecret();
          const secretHash = i >= legacyFrom ? await hashPassword(s.secret) : hasher.hash(s.secret);
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
