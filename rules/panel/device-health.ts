/**
 * Whether a device is transmitting, as a panel shows it. Pure.
 *
 * A device's last contact is the newest of: its own connection or upload (`lastSeenAtMs`), the
 * measurement time of its newest reading, and the reading that reported its battery. A device
 * relayed by a hub never connects itself (the hub does), so its own last-seen stays empty while
 * its readings and battery keep arriving: it is "never seen" only when none of the three exists.
 */

/** No contact for this long: not transmitting. Daily measurement is the RPM norm; two missed days is a call. */
export const NOT_TRANSMITTING_AFTER_MS = 48 * 3_600_000;
/** Battery at or below this is low (the patient view's threshold). */
export const LOW_BATTERY_PERCENT = 20;

export interface DeviceFacts {
  readonly lastSeenAtMs: number | null;
  readonly newestReadingAtMs: number | null;
  readonly battery: { readonly percent: number; readonly atMs: number } | null;
  readonly hubId: string | null;
  readonly status: 'active' | 'revoked';
}

export type Transmission = 'transmitting' | 'not-transmitting' | 'never-seen' | 'revoked';

export interface DeviceHealth {
  readonly transmission: Transmission;
  readonly lastContactAtMs: number | null;
  readonly lowBattery: boolean;
  /** Hours since the last contact, whole. */
  readonly silentHours: number | null;
}

export function deviceHealth(d: DeviceFacts, nowMs: number, options: { notTransmittingAfterMs?: number; lowBatteryPercent?: number } = {}): DeviceHealth {
  const after = options.notTransmittingAfterMs ?? NOT_TRANSMITTING_AFTER_MS;
  const low = options.lowBatteryPercent ?? LOW_BATTERY_PERCENT;
  const candidates = [d.lastSeenAtMs, d.newestReadingAtMs, d.battery?.atMs ?? null].filter((x): x is number => x !== null);
  const lastContactAtMs = candidates.length === 0 ? null : Math.max(...candidates);
  const lowBattery = d.battery !== null && d.battery.percent <= low;
  if (d.status === 'revoked') return { transmission: 'revoked', lastContactAtMs, lowBattery, silentHours: null };
  if (lastContactAtMs === null) return { transmission: 'never-seen', lastContactAtMs, lowBattery, silentHours: null };
  const silent = Math.max(0, nowMs - lastContactAtMs);
  return { transmission: silent > after ? 'not-transmitting' : 'transmitting', lastContactAtMs, lowBattery, silentHours: Math.floor(silent / 3_600_000) };
}
