import type { Reading } from './reading.js';

/** An attribution-log entry naming readings a nurse confirmed as the patient's, per device. */
export interface ConfirmationEntry {
  readonly deviceId: string;
  readonly fromMs: number;
  /** Exclusive. */
  readonly toMs: number;
  readonly readingIds: readonly string[];
}

/**
 * The attribution-log entries for readings just confirmed as a patient's (`decideUser`): one per
 * measuring device, its window spanning them, naming exactly them. Both stores write these.
 */
export function confirmationEntries(_patientId: string, confirmed: readonly { readonly reading: Pick<Reading, 'id' | 'deviceId' | 'measuredAtMs'> }[]): ConfirmationEntry[] {
  const byDevice = new Map<string, { fromMs: number; toMs: number; readingIds: string[] }>();
  for (const { reading: r } of confirmed) {
    const e = byDevice.get(r.deviceId);
    if (e === undefined) byDevice.set(r.deviceId, { fromMs: r.measuredAtMs, toMs: r.measuredAtMs + 1, readingIds: [r.id] });
    else {
      e.fromMs = Math.min(e.fromMs, r.measuredAtMs);
      e.toMs = Math.max(e.toMs, r.measuredAtMs + 1);
      e.readingIds.push(r.id);
    }
  }
  return [...byDevice].map(([deviceId, e]) => ({ deviceId, ...e }));
}
