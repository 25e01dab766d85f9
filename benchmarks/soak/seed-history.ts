import path from 'node:path';
import { createSqliteStores } from '../../connectors/sqlite/index.js';
import type { ComponentName, ReadingKind } from '../../core/model/reading-kinds.js';
import type { Reading, ReadingComponent } from '../../core/model/reading.js';
import { idempotencyKey, readingId } from '../../pipeline/reading-id.js';
import type { BenchDevice } from '../lib/readings.js';

export interface SeedOptions {
  readonly dataDir: string;
  /** Devices (each with its own patient `<device>`'s patient id) from provisionFleet. */
  readonly devices: readonly { readonly device: BenchDevice; readonly patientId: string }[];
  /** Readings per patient, spread evenly over the last `days` days. */
  readonly perPatient: number;
  readonly days: number;
}

const COMPONENTS: Record<'blood-pressure' | 'spo2', (i: number) => ReadingComponent[]> = {
  'blood-pressure': (i) => [
    { name: 'systolic', code: '8480-6', value: 118 + (i % 17), unit: 'mm[Hg]' },
    { name: 'diastolic', code: '8462-4', value: 76 + (i % 9), unit: 'mm[Hg]' },
    { name: 'pulse', code: '8867-4', value: 64 + (i % 13), unit: '/min' },
  ],
  spo2: (i) => [
    { name: 'value', code: '59408-5', value: 95 + (i % 4), unit: '%' },
    { name: 'pulse', code: '8867-4', value: 66 + (i % 11), unit: '/min' },
  ],
};

/**
 * A history already in the store when the gateway starts, as after weeks of use (or the overload
 * the issue reproduced): `perPatient` readings per patient, alternating blood pressure and SpO2
 * (the SpO2 baseline rule looks back 14 days), all already evaluated by the rules engine (its
 * cursor is moved past them). The first new reading of each patient then makes the engine load
 * that patient's history: unbounded, this is what took a restarted gateway from 107 MB to 2.3 GB.
 * Written through the SQLite connector (inline writer) before the gateway starts.
 */
export async function seedHistory(o: SeedOptions): Promise<number> {
  const stores = createSqliteStores({ path: path.join(o.dataDir, 'rpm.sqlite'), synchronous: 'NORMAL', writer: 'inline' });
  const now = Date.now();
  const span = o.days * 86_400_000;
  let written = 0;
  let lastSeq = 0;
  try {
    for (const { device, patientId } of o.devices) {
      let batch: Reading[] = [];
      for (let i = 0; i < o.perPatient; i++) {
        const kind: ReadingKind = i % 2 === 0 ? 'blood-pressure' : 'spo2';
        const measuredAtMs = now - span + Math.floor(((i + 1) * (span - 3_600_000)) / o.perPatient);
        const clientId = `seed-${patientId}-${i}`;
        const key = idempotencyKey(kind, measuredAtMs);
        const components = COMPONENTS[kind](i);
        const values: Partial<Record<ComponentName, number>> = {};
        for (const c of components) values[c.name] = c.value;
        batch.push({
          id: readingId(device.id, key),
          clientId,
          idempotencyKey: key,
          deviceId: device.id,
          hubId: null,
          patientId,
          kind,
          code: kind === 'spo2' ? '59408-5' : '85354-9',
          components,
          reported: { unit: kind === 'spo2' ? '%' : 'mm[Hg]', values },
          measuredAt: new Date(measuredAtMs).toISOString(),
          measuredAtMs,
          utcOffsetMinutes: 0,
          receivedAtMs: measuredAtMs + 60_000,
          entryMethod: 'device',
          setting: 'home',
          mealContext: null,
          glucoseMethod: null,
          sequence: i,
          transport: 'http',
          flags: kind === 'spo2' ? ['device-kind-mismatch'] : [],
          recordedBy: null,
        });
        if (batch.length === 5000 || i === o.perPatient - 1) {
          const outcomes = await stores.readings.commit({ readings: batch, rejections: [] });
          for (const out of outcomes) if (out.status === 'accepted' && out.seq !== undefined) lastSeq = Math.max(lastSeq, out.seq);
          written += batch.length;
          batch = [];
        }
      }
    }
    // Already evaluated: the engine starts after them, as a gateway that was running all along.
    await stores.alerts.applyEvaluation({ cursor: lastSeq, conditions: [], created: [], updated: [], expectedVersions: new Map(), events: [] });
  } finally {
    await stores.close();
  }
  return written;
}
