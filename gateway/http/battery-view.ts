import type { BatteryLevel } from '../../core/model/registry.js';

/** A device's battery as the HTTP API shows it (staff and admin views alike). */
export function batteryView(b: BatteryLevel | null): { batteryPercent: number | null; batteryAt: string | null } {
  return b === null ? { batteryPercent: null, batteryAt: null } : { batteryPercent: b.percent, batteryAt: new Date(b.atMs).toISOString() };
}
